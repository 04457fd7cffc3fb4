#!/bin/bash
# kubeaz: restore the newest VALID etcd snapshot of {{CLUSTER_ID}} from s3://{{BUCKET}}/etcd/ into the
# etcd data dir, before etcd first starts. A snapshot is valid when its SHA-256 equals the `sha256`
# metadata written at upload and etcdutl can read it; a corrupt one is skipped for the next newest.
# No snapshot at all: first boot, nothing to do. Snapshots but none valid: stop (never start empty
# over a cluster's history).
set -euo pipefail
KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"

if [ -d "$ETCD_DATA_DIR/member" ]; then
  log "etcd data already present in $ETCD_DATA_DIR; not restoring"
  exit 0
fi

keys="$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix etcd/ --query 'Contents[].Key' --output text)"
snapshots="$(printf '%s\n' "$keys" | tr '\t' '\n' | grep -E '^etcd/[0-9]{8}T[0-9]{6}Z\.db$' | sort -r || true)"
if [ -z "$snapshots" ]; then
  log "no etcd snapshot in s3://$BUCKET/etcd/: a new cluster"
  exit 0
fi

name="${NODE_NAME:-$(node_name)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
while read -r key; do
  [ -n "$key" ] || continue
  file="$work/snapshot.db"
  rm -f "$file"
  if ! want="$(aws s3api get-object --bucket "$BUCKET" --key "$key" --query 'Metadata.sha256' --output text "$file")"; then
    log "cannot download $key; trying the next"
    continue
  fi
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ -z "$want" ] || [ "$want" = None ] || [ "$want" != "$got" ]; then
    log "skipping $key: sha256 $got does not match its metadata '$want'"
    continue
  fi
  if ! etcdutl snapshot status "$file" >/dev/null; then
    log "skipping $key: etcdutl cannot read it"
    continue
  fi
  log "restoring $key into $ETCD_DATA_DIR"
  mkdir -p "$(dirname "$ETCD_DATA_DIR")"
  # --bump-revision/--mark-compacted (kubernetes #118501, etcd #16028): the restored revision jumps
  # far past anything a watcher saw and older revisions read as compacted, so every kubelet and
  # controller with a watch cache relists instead of silently missing the events since the snapshot.
  etcdutl snapshot restore "$file" --data-dir "$ETCD_DATA_DIR" --name "$name" \
    --initial-cluster "$name=https://$PRIVATE_IP:2380" --initial-advertise-peer-urls "https://$PRIVATE_IP:2380" \
    --bump-revision 1000000000 --mark-compacted
  chmod 0700 "$ETCD_DATA_DIR"
  # which snapshot it was, for the caller's records (restore.json with several masters)
  [ -z "${KUBEAZ_RESTORED_FILE:-}" ] || printf '%s\n' "$key" >"$KUBEAZ_RESTORED_FILE"
  exit 0
done <<<"$snapshots"

die "s3://$BUCKET/etcd/ holds snapshots but none is valid; refusing to start an empty cluster over them"
