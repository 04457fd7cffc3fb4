#!/bin/bash
# kubeaz common bootstrap functions for {{CLUSTER_ID}} (Amazon Linux 2023, x86_64 and arm64).
# Sourced by the masters' userdata, master.sh and the timers' scripts. Every host path hangs off
# KUBEAZ_ROOT (empty on a real instance) and the metadata service off IMDS_ENDPOINT, so the scripts
# can run under test with stand-in commands.

KUBEAZ_ROOT="${KUBEAZ_ROOT:-}"
IMDS_ENDPOINT="${IMDS_ENDPOINT:-http://169.254.169.254}"
KUBEAZ_DIR="${KUBEAZ_DIR:-$KUBEAZ_ROOT/opt/kubeaz}"
K8S_DIR="$KUBEAZ_ROOT/etc/kubernetes"
PKI_DIR="$K8S_DIR/pki"
ETCD_DATA_DIR="$KUBEAZ_ROOT/var/lib/etcd"
SYSTEMD_DIR="$KUBEAZ_ROOT/etc/systemd/system"
BIN_DIR="$KUBEAZ_ROOT/usr/local/bin"
ADMIN_KUBECONFIG="$K8S_DIR/admin.conf"
RETRY_SLEEP="${KUBEAZ_RETRY_SLEEP:-10}"
export KUBEAZ_ROOT IMDS_ENDPOINT KUBEAZ_DIR K8S_DIR PKI_DIR ETCD_DATA_DIR SYSTEMD_DIR BIN_DIR ADMIN_KUBECONFIG RETRY_SLEEP
export AWS_DEFAULT_REGION="${REGION:-{{REGION}}}"
export PATH="$BIN_DIR:$PATH"

log() { echo "kubeaz[$(date -u +%H:%M:%S)]: $*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# retry ATTEMPTS CMD...: run CMD until it succeeds, sleeping RETRY_SLEEP between tries.
retry() {
  local attempts="$1" n=1
  shift
  until "$@"; do
    [ "$n" -lt "$attempts" ] || { log "gave up after $attempts attempts: $*"; return 1; }
    n=$((n + 1))
    sleep "$RETRY_SLEEP"
  done
}

# IMDSv2 (the hop limit stays 1: only host processes and hostNetwork pods reach it).
imds_token() {
  if [ -z "${IMDS_TOKEN:-}" ]; then
    IMDS_TOKEN="$(curl -fsS --retry 10 --retry-connrefused -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS_ENDPOINT/latest/api/token")"
    export IMDS_TOKEN
  fi
  printf '%s' "$IMDS_TOKEN"
}
imds_get() {
  local token
  token="$(imds_token)"
  curl -fsS --retry 10 --retry-connrefused -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/$1"
}

# s3_get KEY DEST: one object of the cluster's bucket to a local file.
s3_get() {
  aws s3 cp --only-show-errors "s3://$BUCKET/$1" "$2"
}
# s3_put_stdin KEY: the object KEY gets what stdin holds.
s3_put_stdin() {
  aws s3 cp --only-show-errors - "s3://$BUCKET/$1"
}

# Kubernetes needs: no swap, overlay and br_netfilter modules, bridged traffic through iptables, forwarding.
k8s_host_prep() {
  mkdir -p "$KUBEAZ_ROOT/etc/modules-load.d" "$KUBEAZ_ROOT/etc/sysctl.d"
  printf 'overlay\nbr_netfilter\n' >"$KUBEAZ_ROOT/etc/modules-load.d/kubernetes.conf"
  modprobe overlay
  modprobe br_netfilter
  cat >"$KUBEAZ_ROOT/etc/sysctl.d/90-kubernetes.conf" <<'SYSCTL'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
fs.inotify.max_user_instances = 8192
fs.inotify.max_user_watches = 524288
SYSCTL
  sysctl --system >/dev/null
  swapoff -a
}

# containerd from AL2023, kubelet/kubeadm/kubectl pinned to {{KUBERNETES_VERSION}} from pkgs.k8s.io.
install_kubernetes() {
  mkdir -p "$KUBEAZ_ROOT/etc/yum.repos.d" "$KUBEAZ_ROOT/etc/containerd" "$KUBEAZ_ROOT/etc/sysconfig"
  cat >"$KUBEAZ_ROOT/etc/yum.repos.d/kubernetes.repo" <<'REPO'
[kubernetes]
name=Kubernetes v{{KUBERNETES_MINOR}}
baseurl=https://pkgs.k8s.io/core:/stable:/v{{KUBERNETES_MINOR}}/rpm/
enabled=1
gpgcheck=1
gpgkey=https://pkgs.k8s.io/core:/stable:/v{{KUBERNETES_MINOR}}/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
REPO
  # Everything kubeadm's preflight and the kubelet run, named: the AL2023 base image has no iptables
  # and the kubelet rpm only recommends it (a weak dependency AL2023 does not install), so
  # iptables-nft is asked for explicitly, as the EKS AL2023 image does.
  retry 5 dnf install -y -q --setopt=install_weak_deps=False \
    containerd iptables-nft iproute iproute-tc conntrack-tools socat ethtool util-linux
  retry 5 dnf install -y -q --setopt=install_weak_deps=False --disableexcludes=kubernetes \
    "kubelet-{{KUBERNETES_VERSION}}" "kubeadm-{{KUBERNETES_VERSION}}" "kubectl-{{KUBERNETES_VERSION}}" cri-tools kubernetes-cni
  containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' >"$KUBEAZ_ROOT/etc/containerd/config.toml"
  systemctl enable --now containerd
  systemctl enable kubelet
}

# The node's name as the AWS cloud-controller-manager expects it: the private DNS name.
node_name() {
  imds_get local-hostname | cut -d' ' -f1
}

# Kubelet flags, through the rpm drop-in's /etc/sysconfig/kubelet (the same on every kubeadm version).
# The kubelet may not set node-role.kubernetes.io/* labels itself (NodeRestriction): those are left out.
write_kubelet_args() {
  local labels="" l
  local -a given=()
  IFS=',' read -r -a given <<<"${NODE_LABELS:-}"
  for l in "${given[@]}"; do
    case "${l%%=*}" in
      node-role.kubernetes.io/*) log "label ${l%%=*} is not settable by the kubelet; skipped" ;;
      *) labels="${labels:+$labels,}$l" ;;
    esac
  done
  labels="${labels:+$labels,}topology.kubernetes.io/zone=$AVAIL_ZONE,kubeaz.io/node-group=$NODE_GROUP,kubeaz.io/role=$ROLE"
  local args="--cloud-provider=external --node-ip=$PRIVATE_IP --node-labels=$labels"
  [ -z "${NODE_TAINTS:-}" ] || args="$args --register-with-taints=$NODE_TAINTS"
  mkdir -p "$KUBEAZ_ROOT/etc/sysconfig"
  printf 'KUBELET_EXTRA_ARGS=%s\n' "$args" >"$KUBEAZ_ROOT/etc/sysconfig/kubelet"
}

# install_units FILE...: copy systemd units from KUBEAZ_DIR into place.
install_units() {
  mkdir -p "$SYSTEMD_DIR"
  local u
  for u in "$@"; do install -m 0644 "$KUBEAZ_DIR/$u" "$SYSTEMD_DIR/$u"; done
  systemctl daemon-reload
}
