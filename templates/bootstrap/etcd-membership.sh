#!/bin/bash
# kubeaz: the highly available control plane of {{CLUSTER_ID}} at boot (CONTROL_PLANE_COUNT > 1, from
# cluster.env; 1 or absent: every function here leaves master.sh doing exactly what one master does).
# Functions only: sourced by master.sh and etcd-backup.sh after common.sh and cluster.env.
#
# Records under s3://{{BUCKET}}/etcd/control-plane/ (flat JSON, one string field per line):
#   init.json                  who ran `kubeadm init` (conditional write If-None-Match: one winner)
#   members/<group>.json       the etcd member of the group's current instance
#                              {group, memberId, name, peerURL, clientURL, instanceId, time}
#   restore.json               the latest restore after quorum was lost for good
#                              {snapshot, snapshotTime, restoredAt, by, group, lost}
#   restore-claims/<creator>.json  the race for restoring the cluster that instance <creator> started
#                              (init.json's instance, or restore.json's `by`): one winner per lost cluster
# The rule for "lost for good" and every step: README.md, "What the masters do at boot".

CP_PREFIX="etcd/control-plane"
HA_WAIT_ATTEMPTS="${KUBEAZ_HA_WAIT_ATTEMPTS:-360}"
ETCD_PEER_URL="${ETCD_PEER_URL:-https://${PRIVATE_IP:-127.0.0.1}:2380}"
ETCD_CLIENT_URL="${ETCD_CLIENT_URL:-https://${PRIVATE_IP:-127.0.0.1}:2379}"
ETCD_LOCAL="${ETCD_ENDPOINT:-https://127.0.0.1:2379}"
# What ha_decide chose (master.sh reads it): init, join or restore.
export HA_ACTION=init

ha_enabled() { [ "${CONTROL_PLANE_COUNT:-1}" -gt 1 ]; }

# etcdctl with the etcd CA and the healthcheck client certificate kubeadm makes (or ha_client_cert).
etcd_ctl() {
  ETCDCTL_API=3 etcdctl --cacert "$PKI_DIR/etcd/ca.crt" --cert "$PKI_DIR/etcd/healthcheck-client.crt" \
    --key "$PKI_DIR/etcd/healthcheck-client.key" --dial-timeout "${ETCD_DIAL_TIMEOUT:-3s}" \
    --command-timeout "${ETCD_COMMAND_TIMEOUT:-5s}" "$@"
}

# json_record KEY VALUE...: a flat JSON object of strings, one field per line (json_field reads it).
json_record() {
  local sep=''
  printf '{'
  while [ "$#" -ge 2 ]; do
    printf '%s\n  "%s": "%s"' "$sep" "$1" "$(printf '%s' "$2" | sed 's/[\\"]/\\&/g')"
    sep=','
    shift 2
  done
  printf '\n}\n'
}
# json_field FILE KEY: one string field of a record json_record wrote ("" when absent).
json_field() {
  [ -f "$1" ] || return 0
  sed -n "s/^  \"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" "$1" | head -n1 | sed 's/\\\(.\)/\1/g'
}

cp_write() {
  aws s3 cp --only-show-errors --content-type application/json "$2" "s3://$BUCKET/$CP_PREFIX/$1" >/dev/null
}
# cp_claim KEY FILE: conditional write. 0: this master wrote KEY; 1: it already existed (someone else
# won, S3 answered 412 PreconditionFailed); 2: any other failure (try again).
cp_claim() {
  local err
  if err="$(aws s3api put-object --bucket "$BUCKET" --key "$CP_PREFIX/$1" --body "$2" --if-none-match '*' \
    --content-type application/json 2>&1 >/dev/null)"; then
    return 0
  fi
  case "$err" in *PreconditionFailed* | *"(412)"*) return 1 ;; esac
  log "conditional write of s3://$BUCKET/$CP_PREFIX/$1 failed: $err"
  return 2
}
# ha_fetch_records DIR: the records as they are now, in DIR (emptied first).
ha_fetch_records() {
  rm -rf "$1" && mkdir -p "$1" &&
    aws s3 cp --only-show-errors --recursive "s3://$BUCKET/$CP_PREFIX/" "$1/" >/dev/null
}

# The API through the internal load balancer, checked against the cluster CA.
api_up() {
  curl -fsS --max-time 5 --cacert "$PKI_DIR/ca.crt" "https://{{MASTER_DNS}}:443/readyz" >/dev/null 2>&1
}

# "ID RECORDED-EPOCH" of the instances the records name (init.json, restore.json, members/*.json),
# this one left out; a record without a time counts as old (0).
ha_recorded_instances() {
  local f id t
  for f in "$1"/init.json "$1"/restore.json "$1"/members/*.json; do
    [ -f "$f" ] || continue
    t="$(json_field "$f" time)"
    [ -n "$t" ] || t="$(json_field "$f" restoredAt)"
    t="$(date -u -d "${t:-@0}" +%s 2>/dev/null || echo 0)"
    for id in "$(json_field "$f" instanceId)" "$(json_field "$f" by)"; do
      [ -z "$id" ] || [ "$id" = "$INSTANCE_ID" ] || printf '%s %s\n' "$id" "$t"
    done
  done | LC_ALL=C sort -k1,1 -k2,2nr | LC_ALL=C sort -u -k1,1 || true
}
# The etcd client URLs the member records name (DIR [GROUP-to-leave-out]).
ha_recorded_client_urls() {
  local f
  for f in "$1"/members/*.json; do
    [ -f "$f" ] || continue
    [ "$(json_field "$f" group)" != "${2:-}" ] || continue
    json_field "$f" clientURL
  done | grep -v -x '' || true
}
# "ID STATE" of each instance EC2 still knows, among the ones given (a filter, not --instance-ids:
# an instance gone long enough is unknown, which --instance-ids would answer with an error).
instance_states() {
  local ids
  ids="$(IFS=,; printf '%s' "$*")"
  aws ec2 describe-instances --filters "Name=instance-id,Values=$ids" \
    --query 'Reservations[].Instances[].[InstanceId,State.Name]' --output text
}
# endpoint_healthy URL: the etcd member at URL answers and commits (etcdctl endpoint health).
endpoint_healthy() {
  [ -n "$1" ] && etcd_ctl --endpoints "$1" endpoint health >/dev/null 2>&1
}

# ha_lost_for_good DIR: quorum is lost for good when EVERY instance the records name is terminated,
# shutting down or unknown to EC2 (terminated long ago; unless recorded less than
# KUBEAZ_HA_UNKNOWN_GRACE seconds ago, 600: EC2 may not list a new instance yet), AND no recorded etcd
# member answers. A pending, running, stopping or stopped instance may still hold a member (a minority
# of survivors, a zone coming back): never restore over it.
ha_lost_for_good() {
  local ids recorded states alive u now
  recorded="$(ha_recorded_instances "$1")"
  mapfile -t ids < <(printf '%s\n' "$recorded" | awk 'NF { print $1 }')
  if [ "${#ids[@]}" -eq 0 ]; then
    log "the records name no other instance; not treating the cluster as lost"
    return 1
  fi
  if ! states="$(instance_states "${ids[@]}")"; then
    log "cannot describe the recorded instances; not treating the cluster as lost"
    return 1
  fi
  now="$(date -u +%s)"
  alive="$(printf '%s\n' "$states" | awk -v now="$now" -v grace="${KUBEAZ_HA_UNKNOWN_GRACE:-600}" -v rec="$recorded" '
    BEGIN { n = split(rec, l, "\n"); for (i = 1; i <= n; i++) if (split(l[i], f, " ") == 2) at[f[1]] = f[2] }
    NF >= 2 { seen[$1] = 1; if ($2 != "terminated" && $2 != "shutting-down") { printf "%s%s (%s)", sep, $1, $2; sep = ", " } }
    END { for (id in at) if (!(id in seen) && now - at[id] < grace) { printf "%s%s (recorded %ds ago, not listed by EC2 yet)", sep, id, now - at[id]; sep = ", " } }')"
  if [ -n "$alive" ]; then
    log "not restoring: recorded master instance(s) still exist: $alive"
    return 1
  fi
  for u in $(ha_recorded_client_urls "$1"); do
    if endpoint_healthy "$u"; then
      log "not restoring: the etcd member at $u answers"
      return 1
    fi
  done
  log "quorum is lost for good: every recorded master instance (${ids[*]}) is gone and no recorded etcd member answers"
  return 0
}

# ha_claim_restore CREATOR DIR: take the restore of the cluster CREATOR started. Claims form a chain:
# a claim whose winner is gone (terminated, shutting down, or unlisted though claimed longer than
# KUBEAZ_HA_UNKNOWN_GRACE ago) died before restoring, so the turn passes to the key named after that
# winner. 0: this master restores (HA_CLAIM_KEY); 1: another live master does, or the claim failed.
ha_claim_restore() {
  local key="$1" dir="$2" by st t hop rc
  for hop in $(seq 1 10); do
    if aws s3 cp --only-show-errors "s3://$BUCKET/$CP_PREFIX/restore-claims/$key.json" "$dir/.held.json" 2>/dev/null; then
      by="$(json_field "$dir/.held.json" by)"
      if [ -z "$by" ]; then
        log "restore-claims/$key.json names no master; waiting"
        return 1
      fi
      if [ "$by" = "$INSTANCE_ID" ]; then
        HA_CLAIM_KEY="$key"
        return 0
      fi
      st="$(instance_states "$by" | awk -v id="$by" '$1 == id { print $2 }')" || st=unknown
      t="$(date -u -d "$(json_field "$dir/.held.json" time)" +%s 2>/dev/null || echo 0)"
      case "$st" in
        terminated | shutting-down) ;;
        "") [ $(($(date -u +%s) - t)) -ge "${KUBEAZ_HA_UNKNOWN_GRACE:-600}" ] || { log "another master ($by) claimed the restore of $key's cluster; waiting for its API"; return 1; } ;;
        *) log "another master ($by, $st) restores the cluster $key started; waiting for its API"; return 1 ;;
      esac
      log "the restore claim on $key's cluster is held by $by, which is gone ($hop): the turn passes to restore-claims/$by.json"
      key="$by"
      continue
    fi
    json_record by "$INSTANCE_ID" group "$NODE_GROUP" time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/.claim.json"
    rc=0
    cp_claim "restore-claims/$key.json" "$dir/.claim.json" || rc=$?
    if [ "$rc" -eq 0 ]; then
      HA_CLAIM_KEY="$key"
      return 0
    fi
    [ "$rc" -eq 1 ] || return 1
  done
  return 1
}

# ha_decide: sets HA_ACTION to init (kubeadm init, after restoring the newest valid snapshot if any),
# join (kubeadm join --control-plane) or restore (init from the newest valid snapshot, recorded).
ha_decide() {
  HA_ACTION=init
  ha_enabled || return 0
  local n dir creator rc
  dir="$(mktemp -d)"
  for n in $(seq 1 "$HA_WAIT_ATTEMPTS"); do
    if api_up; then
      log "the API at {{MASTER_DNS}}:443 answers: joining the control plane"
      HA_ACTION='join'
      rm -rf "$dir"
      return 0
    fi
    if ! ha_fetch_records "$dir"; then
      log "cannot read s3://$BUCKET/$CP_PREFIX/ ($n/$HA_WAIT_ATTEMPTS)"
    elif [ ! -f "$dir/init.json" ]; then
      if s3_get join/token "$dir/.join-token" 2>/dev/null; then
        # a cluster made by one master before CONTROL_PLANE_COUNT grew (1 -> 3): never a second init
        log "no init record but a join token exists: the cluster's first master made it; waiting for the API ($n/$HA_WAIT_ATTEMPTS)"
      else
        json_record group "$NODE_GROUP" instanceId "$INSTANCE_ID" name "$NODE_NAME" peerURL "$ETCD_PEER_URL" \
          time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/.init.json"
        rc=0
        cp_claim init.json "$dir/.init.json" || rc=$?
        if [ "$rc" -eq 0 ]; then
          log "won s3://$BUCKET/$CP_PREFIX/init.json: this master ($NODE_GROUP) runs kubeadm init"
          rm -rf "$dir"
          return 0
        fi
        [ "$rc" -ne 1 ] || log "another master won init.json; waiting for its API ($n/$HA_WAIT_ATTEMPTS)"
      fi
    elif ha_lost_for_good "$dir"; then
      creator="$(json_field "$dir/restore.json" by)"
      [ -n "$creator" ] || creator="$(json_field "$dir/init.json" instanceId)"
      if ha_claim_restore "$creator" "$dir"; then
        log "won s3://$BUCKET/$CP_PREFIX/restore-claims/$HA_CLAIM_KEY.json: this master restores the cluster as one member; the others join it"
        HA_ACTION=restore
        HA_LOST_CREATOR="$creator"
        rm -rf "$dir"
        return 0
      fi
      log "not this master's restore; waiting for the API ($n/$HA_WAIT_ATTEMPTS)"
    else
      log "waiting for the API at {{MASTER_DNS}}:443 ($n/$HA_WAIT_ATTEMPTS; initialised by $(json_field "$dir/init.json" group) $(json_field "$dir/init.json" instanceId))"
    fi
    sleep "$RETRY_SLEEP"
  done
  rm -rf "$dir"
  die "no API at {{MASTER_DNS}}:443 after $HA_WAIT_ATTEMPTS attempts, and no init or restore to take over"
}

# The etcd healthcheck client certificate, signed by the etcd CA from pki/, before kubeadm join makes
# it (kubeadm keeps a valid existing one): the replacement step talks to the other members with it.
ha_client_cert() {
  [ -f "$PKI_DIR/etcd/healthcheck-client.crt" ] ||
    kubeadm init phase certs etcd-healthcheck-client --config "$K8S_DIR/kubeadm.yaml"
}

# ha_replace_previous_member: members/<group>.json names another instance (the group's previous one):
# remove its member while quorum holds, so the join below takes its place and the cluster never carries
# two dead members for one group. The member count stays N (one removed, one added), so the removal
# waits until the OTHER members hold a quorum of N on their own; it is retried, then refused.
ha_replace_previous_member() {
  ha_enabled || return 0
  local rec old_instance old_id urls list total healthy quorum n u id cu
  rec="$(mktemp)"
  if ! aws s3 cp --only-show-errors "s3://$BUCKET/$CP_PREFIX/members/$NODE_GROUP.json" "$rec" 2>/dev/null; then
    log "no member record for group $NODE_GROUP: nothing to replace"
    rm -f "$rec"
    return 0
  fi
  old_instance="$(json_field "$rec" instanceId)"
  old_id="$(json_field "$rec" memberId)"
  rm -f "$rec"
  if [ "$old_instance" = "$INSTANCE_ID" ] || [ -z "$old_id" ]; then
    return 0
  fi
  ha_client_cert
  urls="$(ha_records_client_urls_except_mine)"
  for n in $(seq 1 "$HA_WAIT_ATTEMPTS"); do
    if ! list="$(etcd_ctl --endpoints "$urls" member list 2>&1)"; then
      log "replacing $NODE_GROUP's member $old_id (instance $old_instance): no etcd member answers at $urls ($n/$HA_WAIT_ATTEMPTS): $list"
    elif ! printf '%s\n' "$list" | grep -q "^$old_id, "; then
      log "$NODE_GROUP's previous member $old_id (instance $old_instance) is no longer in the cluster"
      return 0
    else
      total="$(printf '%s\n' "$list" | grep -c ', ')"
      quorum=$((total / 2 + 1))
      healthy=0
      # "ID, status, name, peer URLs, client URLs, is learner": an unstarted member has no client URL
      while read -r id cu; do
        [ "$id" != "$old_id" ] || continue
        if endpoint_healthy "$cu"; then healthy=$((healthy + 1)); fi
      done < <(printf '%s\n' "$list" | awk -F', ' 'NF >= 5 { split($5, c, ","); print $1, c[1] }')
      if [ "$healthy" -ge "$quorum" ]; then
        log "removing $NODE_GROUP's previous member $old_id (instance $old_instance): $healthy of the other $((total - 1)) members are healthy, quorum of $total is $quorum"
        # (called in a `||` list: errexit is off here, so every failure is checked by hand)
        if etcd_ctl --endpoints "$urls" member remove "$old_id"; then return 0; fi
        log "member remove $old_id failed; trying again ($n/$HA_WAIT_ATTEMPTS)"
      else
        log "refusing to remove member $old_id yet: only $healthy of the other $((total - 1)) members are healthy and $quorum are needed for quorum once it is replaced; waiting ($n/$HA_WAIT_ATTEMPTS)"
      fi
    fi
    sleep "$RETRY_SLEEP"
  done
  log "ERROR: $NODE_GROUP's previous member $old_id was not removed: no quorum without it"
  return 1
}
ha_records_client_urls_except_mine() {
  local dir
  dir="$(mktemp -d)"
  ha_fetch_records "$dir" || true
  ha_recorded_client_urls "$dir" "$NODE_GROUP" | paste -sd, -
  rm -rf "$dir"
}

# ha_join_once WORKDIR: one control-plane join with the token as it is NOW in join/ (kept fresh by the
# masters' kubeaz-join-token.timer). The CAs and service-account keys are already in place (fetch_pki),
# so no --certificate-key is needed. A failed attempt is reset; reset empties the PKI dir: fetched again.
ha_join_once() {
  local token hash api
  if [ -n "${HA_JOINED_BEFORE:-}" ]; then
    log "control-plane join failed; kubeadm reset -f before the next attempt"
    kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock || log "kubeadm reset failed; trying the join anyway"
    fetch_pki
  fi
  HA_JOINED_BEFORE=1
  if ! { s3_get join/token "$1/token" && s3_get join/ca-cert-hash "$1/ca-cert-hash"; }; then
    log "cannot read s3://$BUCKET/join/"
    return 1
  fi
  token="$(tr -d '[:space:]' <"$1/token")"
  hash="$(tr -d '[:space:]' <"$1/ca-cert-hash")"
  api="$(kubeadm_api_version)"
  (
    umask 077
    cat >"$K8S_DIR/kubeadm-join.yaml" <<CONFIG
apiVersion: $api
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {{MASTER_DNS}}:443
    token: $token
    caCertHashes:
      - $hash
nodeRegistration:
  name: $NODE_NAME
  criSocket: unix:///run/containerd/containerd.sock
  taints:
    - key: node-role.kubernetes.io/control-plane
      effect: NoSchedule
controlPlane:
  localAPIEndpoint:
    advertiseAddress: $PRIVATE_IP
    bindPort: 6443
{{HOOK_KUBEADM_PATCHES}}CONFIG
  )
  kubeadm join --config "$K8S_DIR/kubeadm-join.yaml"
}

# ha_wait_members_started: members are added one at a time. While another master's member is added
# but not started, a second add would leave the cluster without quorum (etcd refuses it): wait until
# every member has started (bounded; then kubeadm's own member-add retries and ours take over).
ha_wait_members_started() {
  ha_enabled || return 0
  local urls list n attempts="${KUBEAZ_HA_GATE_ATTEMPTS:-60}"
  urls="$(ha_records_client_urls_except_mine)"
  [ -n "$urls" ] || return 0
  ha_client_cert || log "no etcd client certificate yet: cannot see whether another member is being added"
  for n in $(seq 1 "$attempts"); do
    if list="$(etcd_ctl --endpoints "$urls" member list 2>/dev/null)" && ! printf '%s\n' "$list" | grep -q '^[0-9a-f]*, unstarted, '; then
      return 0
    fi
    log "an etcd member is added but not started yet (another master joining), or none answers at $urls: waiting to add this one after it ($n/$attempts)"
    sleep "$RETRY_SLEEP"
  done
  log "members still not all started after $attempts attempts; joining anyway"
}

# ha_join: replace the group's previous member if there is one, then join the control plane.
ha_join() {
  local work
  ha_replace_previous_member || die "$NODE_GROUP's previous etcd member could not be removed without losing quorum; not joining"
  ha_wait_members_started
  work="$(mktemp -d)"
  retry "${KUBEAZ_JOIN_ATTEMPTS:-360}" s3_get join/token "$work/token" || die "no join token in s3://$BUCKET/join/"
  retry "${KUBEAZ_HA_JOIN_ATTEMPTS:-30}" ha_join_once "$work" || die "could not join the control plane through {{MASTER_DNS}}:443"
  rm -rf "$work"
  log "joined the control plane of {{CLUSTER_ID}} as $NODE_NAME ($NODE_GROUP)"
}

# ha_record_member: members/<group>.json names this instance's etcd member once it has started.
ha_record_member() {
  ha_enabled || return 0
  local n line rec
  for n in $(seq 1 "${KUBEAZ_MEMBER_ATTEMPTS:-60}"); do
    line="$(etcd_ctl --endpoints "$ETCD_LOCAL" member list 2>/dev/null | awk -F', ' -v p="$ETCD_PEER_URL" '$2 == "started" && $4 == p' || true)"
    [ -z "$line" ] || break
    log "waiting for this master's etcd member ($ETCD_PEER_URL) to start ($n/${KUBEAZ_MEMBER_ATTEMPTS:-60})"
    sleep "$RETRY_SLEEP"
  done
  if [ -z "$line" ]; then
    log "ERROR: no started etcd member with peer URL $ETCD_PEER_URL; members/$NODE_GROUP.json not written"
    return 1
  fi
  rec="$(mktemp)"
  json_record group "$NODE_GROUP" memberId "$(printf '%s\n' "$line" | awk -F', ' '{ print $1 }')" \
    name "$(printf '%s\n' "$line" | awk -F', ' '{ print $3 }')" peerURL "$ETCD_PEER_URL" clientURL "$ETCD_CLIENT_URL" \
    instanceId "$INSTANCE_ID" time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$rec"
  if ! cp_write "members/$NODE_GROUP.json" "$rec"; then
    rm -f "$rec"
    return 1
  fi
  rm -f "$rec"
  log "recorded s3://$BUCKET/$CP_PREFIX/members/$NODE_GROUP.json"
}

# ha_adopt_first_master: a cluster grown from one master (1 -> 3: join/ exists, no init.json) has a
# member its first master made before masters kept records. A joiner records it from its Node (the
# kubeaz.io/node-group label its kubelet set, the instance in spec.providerID), and init.json names
# that master, so a later replacement removes its member and the quorum-lost rule can see it. Both
# are conditional writes: a record a master wrote itself is never overwritten.
ha_adopt_first_master() {
  ha_enabled || return 0
  local dir list id st name peer cu node group inst
  dir="$(mktemp -d)"
  if ! ha_fetch_records "$dir" || [ -f "$dir/init.json" ]; then
    rm -rf "$dir"
    return 0
  fi
  list="$(etcd_ctl --endpoints "$ETCD_LOCAL" member list 2>/dev/null)" || list=""
  while IFS=' ' read -r id st name peer cu; do
    if [ "$st" != started ] || [ "$peer" = "$ETCD_PEER_URL" ]; then continue; fi
    ! grep -qs "\"memberId\": \"$id\"" "$dir"/members/*.json || continue
    node="$(kubectl --kubeconfig "$ADMIN_KUBECONFIG" get node "$name" -o jsonpath='{.metadata.labels.kubeaz\.io/node-group} {.spec.providerID}' 2>/dev/null)" || continue
    group="${node%% *}"
    inst="${node##*/}"
    if [ "$group" != master ] || [ -z "$inst" ]; then continue; fi
    json_record group master memberId "$id" name "$name" peerURL "$peer" clientURL "$cu" instanceId "$inst" \
      time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/.member.json"
    json_record group master instanceId "$inst" name "$name" peerURL "$peer" adopted true \
      time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/.init.json"
    if cp_claim members/master.json "$dir/.member.json"; then log "recorded member $id of the first master (instance $inst), made before masters kept records"; fi
    if cp_claim init.json "$dir/.init.json"; then log "recorded init.json for the first master (instance $inst): the cluster grew from one master"; fi
  done < <(printf '%s\n' "$list" | awk -F', ' 'NF >= 5 { split($4, p, ","); split($5, c, ","); print $1, $2, $3, p[1], c[1] }')
  rm -rf "$dir"
}

# ha_record_restore SNAPSHOT_KEY: restore.json says which snapshot the restored cluster started from.
ha_record_restore() {
  local rec stamp when=""
  rec="$(mktemp)"
  stamp="$(basename "${1:-none}" .db)"
  case "$stamp" in
    [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z)
      when="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:9:2}:${stamp:11:2}:${stamp:13:2}Z" ;;
  esac
  json_record snapshot "${1:-none}" snapshotTime "$when" restoredAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    by "$INSTANCE_ID" group "$NODE_GROUP" lost "${HA_LOST_CREATOR:-}" >"$rec"
  if ! retry 5 cp_write restore.json "$rec"; then
    rm -f "$rec"
    return 1
  fi
  rm -f "$rec"
  log "recorded s3://$BUCKET/$CP_PREFIX/restore.json (snapshot ${1:-none})"
}

# etcd_is_leader: this master's etcd member leads (endpoint status: the 5th column, IS LEADER).
etcd_is_leader() {
  local st
  st="$(etcd_ctl --endpoints "$ETCD_LOCAL" endpoint status)" || return 1
  [ "$(printf '%s\n' "$st" | awk -F', ' 'NR == 1 { print $5 }')" = true ]
}
