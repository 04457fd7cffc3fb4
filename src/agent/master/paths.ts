/** Where a master's files live on the instance (each joined under the context's root). */
export const PKI_DIR = '/etc/kubernetes/pki';
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
export const KUBEADM_INIT_CONFIG = '/etc/kubernetes/kubeadm.yaml';
export const KUBEADM_JOIN_CONFIG = '/etc/kubernetes/kubeadm-join.yaml';
export const PATCHES_DIR = '/etc/kubernetes/patches';
export const ADDONS_DIR = '/opt/kubeaz/addons';
export const SYSTEMD_DIR = '/etc/systemd/system';
export const BIN_DIR = '/usr/local/bin';
export const ETCD_TOOLS_DIR = '/usr/local/lib/kubeaz/etcd';
/** the etcd healthcheck client certificate (kubeadm's name; the agent makes it before any health check) */
export const ETCD_CA_CERT = '/etc/kubernetes/pki/etcd/ca.crt';
export const ETCD_CLIENT_CERT = '/etc/kubernetes/pki/etcd/healthcheck-client.crt';
export const ETCD_CLIENT_KEY = '/etc/kubernetes/pki/etcd/healthcheck-client.key';
