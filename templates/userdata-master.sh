#!/bin/bash
# kubeaz user-data of a MASTER of {{CLUSTER_ID}}: who am I and where is the bucket. Everything else
# (scripts, cluster.env) comes from s3://{{BUCKET}}/bootstrap/. No secret is held here. Nodes and
# loadbalancers run the kubeaz agent (userdata.sh); the masters move to it with its master flow.
set -euo pipefail
export KUBEAZ_ROOT="${KUBEAZ_ROOT:-}"
export IMDS_ENDPOINT="${IMDS_ENDPOINT:-http://169.254.169.254}"
export KUBEAZ_DIR="${KUBEAZ_DIR:-$KUBEAZ_ROOT/opt/kubeaz}"
mkdir -p "$KUBEAZ_DIR" "$KUBEAZ_ROOT/var/log"
exec > >(tee -a "$KUBEAZ_ROOT/var/log/kubeaz-bootstrap.log") 2>&1

export ROLE='{{ROLE}}' NODE_GROUP='{{NODE_GROUP}}' CLUSTER_ID='{{CLUSTER_ID}}' REGION='{{REGION}}'
export BUCKET='{{BUCKET}}' KUBERNETES_VERSION='{{KUBERNETES_VERSION}}' MASTER_DNS='{{MASTER_DNS}}'
{{HOOK_USERDATA}}export NODE_LABELS={{NODE_LABELS}}
export NODE_TAINTS={{NODE_TAINTS}}
export AWS_DEFAULT_REGION="$REGION"

# IMDSv2: a session token first (PUT), then reads carrying it.
IMDS_TOKEN="$(curl -fsS --retry 10 --retry-connrefused -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS_ENDPOINT/latest/api/token")"
export IMDS_TOKEN
md() { curl -fsS --retry 10 --retry-connrefused -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS_ENDPOINT/latest/meta-data/$1"; }
PRIVATE_IP="$(md local-ipv4)"
INSTANCE_ID="$(md instance-id)"
AVAIL_ZONE="$(md placement/availability-zone)"
export PRIVATE_IP INSTANCE_ID AVAIL_ZONE

dir=master script=master.sh
for attempt in $(seq 1 30); do
  if aws s3 cp --only-show-errors --recursive "s3://$BUCKET/bootstrap/common/" "$KUBEAZ_DIR/" &&
    aws s3 cp --only-show-errors --recursive "s3://$BUCKET/bootstrap/$dir/" "$KUBEAZ_DIR/"; then break; fi
  [ "$attempt" -lt 30 ] || { echo "kubeaz: cannot read s3://$BUCKET/bootstrap/" >&2; exit 1; }
  sleep "${KUBEAZ_RETRY_SLEEP:-10}"
done
chmod 0755 "$KUBEAZ_DIR"/*.sh
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"
set -a
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/cluster.env"
set +a
"$KUBEAZ_DIR/$script"
