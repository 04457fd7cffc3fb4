#!/bin/bash
# kubeaz node of {{CLUSTER_ID}} (group $NODE_GROUP, role $ROLE): join the cluster through
# {{MASTER_DNS}}:443 with the token the master keeps fresh in s3://{{BUCKET}}/join/.
set -euo pipefail
KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"
set -a
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/cluster.env"
set +a

read_join() {
  s3_get join/token "$work/token" 2>/dev/null && s3_get join/ca-cert-hash "$work/ca-cert-hash" 2>/dev/null
}

main() {
  log "node bootstrap of {{CLUSTER_ID}} on $INSTANCE_ID ($ROLE in $NODE_GROUP, $AVAIL_ZONE, $PRIVATE_IP)"
  if [ "$ROLE" = loadbalancer ]; then
    "$KUBEAZ_DIR/claim-eip.sh"
  fi
  NODE_NAME="$(node_name)"
  k8s_host_prep
  install_kubernetes
  write_kubelet_args

  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # The master writes join/ once it is up: wait for it (a first cluster boots all groups at once).
  retry "${KUBEAZ_JOIN_ATTEMPTS:-360}" read_join || die "no join token in s3://$BUCKET/join/"
  local token hash
  token="$(tr -d '[:space:]' <"$work/token")"
  hash="$(tr -d '[:space:]' <"$work/ca-cert-hash")"
  retry 30 kubeadm join "{{MASTER_DNS}}:443" --token "$token" --discovery-token-ca-cert-hash "$hash" \
    --node-name "$NODE_NAME" --cri-socket unix:///run/containerd/containerd.sock
  log "node $NODE_NAME joined {{CLUSTER_ID}}"
}

main "$@"
