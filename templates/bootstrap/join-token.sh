#!/bin/bash
# kubeaz: a bootstrap token with a 48h life for nodes of {{CLUSTER_ID}}, written with the CA cert hash to
# s3://{{BUCKET}}/join/ (the hash first, the token last: nodes wait for the token). Renewed every 12h
# by kubeaz-join-token.timer, so a valid token is always there.
set -euo pipefail
KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"
set -a
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/cluster.env"
set +a

cmd="$(retry 30 kubeadm token create --kubeconfig "$ADMIN_KUBECONFIG" --ttl 48h --description "kubeaz node join" --print-join-command)"
token="$(printf '%s\n' "$cmd" | sed -n 's/.*--token \([a-z0-9]\{6\}\.[a-z0-9]\{16\}\).*/\1/p')"
hash="$(printf '%s\n' "$cmd" | sed -n 's/.*--discovery-token-ca-cert-hash \(sha256:[0-9a-f]\{64\}\).*/\1/p')"
if [ -z "$token" ] || [ -z "$hash" ]; then die "unexpected output of kubeadm token create"; fi
printf '%s\n' "$hash" | s3_put_stdin join/ca-cert-hash
printf '%s\n' "$token" | s3_put_stdin join/token
log "join token renewed (valid 48h)"
