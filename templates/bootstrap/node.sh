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

# One join attempt with the token as it is NOW in join/ (the master renews it; one read at boot may
# have expired since). A join that failed part-way leaves kubelet.conf, certificates and manifests
# behind that fail every later preflight: `kubeadm reset -f` clears them before the next attempt.
join_once() {
  local token hash
  if [ -n "${JOINED_BEFORE:-}" ]; then
    log "join failed; kubeadm reset -f before the next attempt"
    kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock || log "kubeadm reset failed; trying the join anyway"
  fi
  JOINED_BEFORE=1
  read_join || { log "cannot read s3://$BUCKET/join/"; return 1; }
  token="$(tr -d '[:space:]' <"$work/token")"
  hash="$(tr -d '[:space:]' <"$work/ca-cert-hash")"
  kubeadm join "{{MASTER_DNS}}:443" --token "$token" --discovery-token-ca-cert-hash "$hash" \
    --node-name "$NODE_NAME" --cri-socket unix:///run/containerd/containerd.sock
}

main() {
  log "node bootstrap of {{CLUSTER_ID}} on $INSTANCE_ID ($ROLE in $NODE_GROUP, $AVAIL_ZONE, $PRIVATE_IP)"
  if [ "$ROLE" = loadbalancer ]; then
    # only a group with an elastic-IP pool (EIP_POOLS, from the spec) claims one; without a pool
    # the instance keeps the public address its subnet gave it
    case " ${EIP_POOLS:-} " in
      *" $NODE_GROUP "*) "$KUBEAZ_DIR/claim-eip.sh" ;;
      *) log "group $NODE_GROUP has no elastic-IP pool; keeping the instance's own public address" ;;
    esac
  fi
  NODE_NAME="$(node_name)"
  k8s_host_prep
  install_kubernetes
  write_kubelet_args

  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # The master writes join/ once it is up: wait for it (a first cluster boots all groups at once).
  retry "${KUBEAZ_JOIN_ATTEMPTS:-360}" read_join || die "no join token in s3://$BUCKET/join/"
  retry 30 join_once || die "could not join {{MASTER_DNS}}:443"
  log "node $NODE_NAME joined {{CLUSTER_ID}}"
}

main "$@"
