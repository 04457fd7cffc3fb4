/**
 * A parsed YAML or JSON document (kubeadm configs, manifests, kubeconfigs) that a test walks by
 * path; the assertions themselves check its shape. The one `any` the tests need for that.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = Record<string, any>;
