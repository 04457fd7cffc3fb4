#!/bin/bash
# kubeaz: label every node of {{CLUSTER_ID}} with node-role.kubernetes.io/<role>, so `kubectl get nodes`
# shows roles. The NodeRestriction admission plugin forbids a kubelet to set node-role.* on itself,
# so each kubelet registers with kubeaz.io/role=<role> (its group's role: node or loadbalancer) and
# the master adds the node-role label it stands for. Run by kubeaz-node-roles.service (--loop: every
# KUBEAZ_NODE_ROLES_INTERVAL seconds, default 30); without --loop, one pass.
set -euo pipefail
KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"

label_pass() {
  local role nodes n
  for role in node loadbalancer; do
    # only nodes that lack the label: a pass over a labelled cluster changes nothing
    nodes="$(kubectl --kubeconfig "$ADMIN_KUBECONFIG" get nodes -l "kubeaz.io/role=$role,!node-role.kubernetes.io/$role" -o name)" || return 1
    for n in $nodes; do
      kubectl --kubeconfig "$ADMIN_KUBECONFIG" label "$n" "node-role.kubernetes.io/$role=" --overwrite >/dev/null || return 1
      log "labelled $n node-role.kubernetes.io/$role"
    done
  done
}

if [ "${1:-}" = --loop ]; then
  while true; do
    label_pass || log "labelling nodes failed; trying again"
    sleep "${KUBEAZ_NODE_ROLES_INTERVAL:-30}"
  done
fi
label_pass
