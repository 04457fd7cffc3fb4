#!/bin/bash
# kubeaz user data of group {{NODE_GROUP}} ({{ROLE}}) of {{CLUSTER_ID}}: Node.js from the AMI's own
# AL2023 repository, the kubeaz agent from the cluster bucket checked by its SHA-256, then the agent
# does the rest (src/agent/). No secret is held here. The AWS CLI AL2023 ships fetches the one object
# with the instance role (`aws s3 cp`, no version-dependent flag); Node.js alone cannot sign for S3.
# The group's settings (role, labels, taints, elastic-IP pool) are the agent's --settings below; the
# cluster's are in agent/config.json. What must make a new launch template version when it changes
# (`kubeaz rollout` then replaces the instances) is named here: Kubernetes {{KUBERNETES_VERSION}}{{ISSUER}}{{ENCRYPTION}}{{DRAIN}}{{ADDONS}}
set -euo pipefail
root="${KUBEAZ_ROOT:-}"
dir="$root/opt/kubeaz"
mkdir -p "$dir" "$root/var/log"
exec > >(tee -a "$root/var/log/kubeaz-bootstrap.log") 2>&1
export AWS_DEFAULT_REGION='{{REGION}}'

retry() {
  local n
  for n in $(seq 1 "${KUBEAZ_ATTEMPTS:-30}"); do
    "$@" && return 0
    echo "kubeaz: attempt $n failed: $*" >&2
    sleep "${KUBEAZ_RETRY_SLEEP:-10}"
  done
  return 1
}

retry dnf install -y -q '{{NODEJS_PACKAGE}}'
retry aws s3 cp --only-show-errors 's3://{{BUCKET}}/{{AGENT_KEY}}' "$dir/kubeaz-agent.mjs"
echo '{{AGENT_SHA256}}  '"$dir/kubeaz-agent.mjs" | sha256sum -c --quiet - ||
  { echo "kubeaz: s3://{{BUCKET}}/{{AGENT_KEY}} is not the agent this launch template names" >&2; exit 1; }
exec '{{NODEJS_BINARY}}' "$dir/kubeaz-agent.mjs" boot --bucket '{{BUCKET}}' --group '{{NODE_GROUP}}' \
  --settings {{GROUP_SETTINGS}} ${root:+--root "$root"}
