#!/bin/bash
# kubeaz: etcd snapshot of {{CLUSTER_ID}} to s3://{{BUCKET}}/etcd/<UTC YYYYMMDDTHHMMSSZ>.db, then pruning.
# Run by kubeaz-etcd-backup.timer every {{ETCD_BACKUP_INTERVAL_MINUTES}} minutes.
#   etcd-backup.sh                      take a snapshot, upload it, prune
#   etcd-backup.sh --plan NOW_EPOCH D   read keys on stdin, print "keep KEY" / "delete KEY" lines
#
# Retention (after kops' etcd-manager), with D = retention days ({{ETCD_BACKUP_RETENTION_DAYS}}):
#   - the newest snapshot is always kept, however old;
#   - every snapshot younger than 1 hour is kept;
#   - younger than min(7 days, D days): the first snapshot of each UTC hour is kept;
#   - younger than D days: the first snapshot of each UTC day is kept;
#   - everything else is deleted. Keys that are not etcd/YYYYMMDDTHHMMSSZ.db are left alone.
# The same rule is src/etcd/retention.ts (planRetention); test/fixtures/retention-cases.json holds both to it.
set -euo pipefail

plan_retention() {
  local now="$1" days="$2"
  awk -v now="$now" -v days="$days" '
    function dfc(y, m, d,   era, yoe, doy, doe) {
      y -= (m <= 2)
      era = int((y >= 0 ? y : y - 399) / 400)
      yoe = y - era * 400
      doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
      doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
      return era * 146097 + doe - 719468
    }
    function mdays(y, m) {
      if (m == 2) return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28
      return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31
    }
    /^etcd\/[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z\.db$/ {
      if ($0 in seen) next
      y = substr($0, 6, 4) + 0; mo = substr($0, 10, 2) + 0; d = substr($0, 12, 2) + 0
      h = substr($0, 15, 2) + 0; mi = substr($0, 17, 2) + 0; s = substr($0, 19, 2) + 0
      if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || h > 23 || mi > 59 || s > 59) next
      seen[$0] = 1
      n++; key[n] = $0
      t[n] = dfc(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    }
    END {
      if (n == 0) exit
      newest = 1
      for (i = 2; i <= n; i++) if (t[i] > t[newest]) newest = i
      for (i = 1; i <= n; i++) {
        hb = int(t[i] / 3600); db = int(t[i] / 86400)
        if (!(hb in hf) || t[i] < hf[hb]) hf[hb] = t[i]
        if (!(db in df) || t[i] < df[db]) df[db] = t[i]
      }
      horizon = days * 86400
      hourly = (7 * 86400 < horizon) ? 7 * 86400 : horizon
      for (i = 1; i <= n; i++) {
        age = now - t[i]
        keep = (i == newest) || age < 3600 ||
          (age < hourly && t[i] == hf[int(t[i] / 3600)]) ||
          (age < horizon && t[i] == df[int(t[i] / 86400)])
        print (keep ? "keep" : "delete") " " key[i]
      }
    }' | LC_ALL=C sort -k2,2
}

if [ "${1:-}" = "--plan" ]; then
  plan_retention "$2" "$3"
  exit 0
fi

KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"
set -a
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/cluster.env"
set +a

# Several masters: one backup per interval, by the etcd leader; the others skip it.
if [ "${CONTROL_PLANE_COUNT:-1}" -gt 1 ]; then
  # shellcheck source=/dev/null
  . "$KUBEAZ_DIR/etcd-membership.sh"
  if ! etcd_is_leader; then
    log "this master's etcd member is not the leader: the leader takes this interval's backup; skipping"
    exit 0
  fi
  log "this master's etcd member is the leader: taking this interval's backup"
fi

now="${KUBEAZ_NOW:-$(date -u +%s)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
snap="$work/snapshot.db"

etcdctl --endpoints "${ETCD_ENDPOINT:-https://127.0.0.1:2379}" \
  --cacert "$PKI_DIR/etcd/ca.crt" --cert "$PKI_DIR/etcd/healthcheck-client.crt" --key "$PKI_DIR/etcd/healthcheck-client.key" \
  snapshot save "$snap" >/dev/null
etcdutl snapshot status "$snap" >/dev/null || die "the snapshot just taken is unreadable; not uploading it"
sum="$(sha256sum "$snap" | cut -d' ' -f1)"
# --if-none-match '*': S3 refuses to overwrite an existing snapshot. When another backup (kubeaz
# backup-etcd, a second run) took this second's key, wait for the next second and write there: the
# key keeps the one shape retention parses.
for attempt in 1 2 3 4 5; do
  key="etcd/$(date -u -d "@$now" +%Y%m%dT%H%M%SZ).db"
  if err="$(aws s3api put-object --bucket "$BUCKET" --key "$key" --body "$snap" --if-none-match '*' \
    --metadata "sha256=$sum" --content-type application/octet-stream 2>&1 >/dev/null)"; then
    break
  fi
  case "$err" in
    *PreconditionFailed*) ;;
    *) die "uploading s3://$BUCKET/$key failed: $err" ;;
  esac
  [ "$attempt" -lt 5 ] || die "s3://$BUCKET/$key exists, as did the keys of the 4 seconds before it; not overwriting any"
  now=$((now + 1))
  log "s3://$BUCKET/$key exists (another backup of the same second): writing etcd/$(date -u -d "@$now" +%Y%m%dT%H%M%SZ).db instead"
  # the next second on the clock (a clock given in KUBEAZ_NOW is not waited for)
  if [ -z "${KUBEAZ_NOW:-}" ]; then
    while [ "$(date -u +%s)" -lt "$now" ]; do sleep 0.2; done
  fi
done
log "uploaded s3://$BUCKET/$key (sha256 $sum)"

keys="$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix etcd/ --query 'Contents[].Key' --output text)"
plan="$(printf '%s\n' "$keys" | tr '\t' '\n' | plan_retention "$now" "$ETCD_BACKUP_RETENTION_DAYS")"
while read -r verdict old; do
  [ "$verdict" = delete ] || continue
  [ "$old" != "$key" ] || continue
  aws s3api delete-object --bucket "$BUCKET" --key "$old" >/dev/null
  log "pruned s3://$BUCKET/$old"
done <<<"$plan"
