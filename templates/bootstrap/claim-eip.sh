#!/bin/bash
# kubeaz: a loadbalancer node claims one of its group's pre-allocated elastic IPs (tagged
# kubeaz:cluster={{CLUSTER_ID}}, kubeaz:eip-pool=$NODE_GROUP), so public DNS never has to change.
# --no-allow-reassociation: an address another instance holds is never taken; on a lost race the
# next free one is tried.
set -euo pipefail
KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"

filters=(--filters "Name=tag:kubeaz:cluster,Values={{CLUSTER_ID}}" "Name=tag:kubeaz:eip-pool,Values=$NODE_GROUP")

for round in $(seq 1 "${KUBEAZ_EIP_ROUNDS:-5}"); do
  mine="$(aws ec2 describe-addresses "${filters[@]}" --query "Addresses[?InstanceId=='$INSTANCE_ID'].PublicIp | [0]" --output text)"
  if [ -n "$mine" ] && [ "$mine" != None ]; then
    log "elastic IP $mine is already ours"
    exit 0
  fi
  free="$(aws ec2 describe-addresses "${filters[@]}" --query 'Addresses[?AssociationId==null].AllocationId' --output text)"
  if [ -z "$free" ] || [ "$free" = None ]; then
    die "no free elastic IP in pool $NODE_GROUP of {{CLUSTER_ID}}: the group has more instances than elasticIps"
  fi
  for alloc in $free; do
    if aws ec2 associate-address --allocation-id "$alloc" --instance-id "$INSTANCE_ID" --no-allow-reassociation >/dev/null; then
      log "claimed elastic IP $alloc"
      exit 0
    fi
    log "$alloc was taken by another instance; trying the next"
  done
  log "every free address was taken meanwhile (round $round); listing again"
  sleep "$RETRY_SLEEP"
done
die "could not claim an elastic IP of pool $NODE_GROUP"
