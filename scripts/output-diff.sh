#!/usr/bin/env bash
# Before/after output of the CLI on the example spec, against moto on loopback only.
#
#   scripts/output-diff.sh BEFORE_TREE AFTER_TREE [OUT_DIR] [SPEC]    (SPEC: default the example spec)
#
# Each tree is a built checkout (npm run build; its bin/kubeaz runs dist/). One moto_server (the
# AFTER tree's launcher) is started on a free 127.0.0.1 port and reset before each tree's run.
# Each tree runs, in a spec directory of its own: plan, create --yes, status, destroy --yes on
# cluster.example.yaml. Every command's stdout, stderr and exit code are kept raw in OUT_DIR and
# then normalised: timings (1.2s, 3m4s, "took"), AWS ids and moto's random names, the generation
# and idempotency tokens, ELBv2 ARN suffixes, the agent bundle's SHA-256 (reported on its own line), dates and the spec directory — what differs from run to run — and what
# follows from timings: the total of AWS calls (a wait polls as often as it lasts; the
# mutating count stays), which resource was waited on longest, and how the waits were grouped
# (one progress line per spell of a coalesced wait: "1/1, 2/2" or "1/2, 3/3" ready). Progress
# lines on stderr come in completion order (resources are made concurrently), so stderr is also
# compared sorted, each distinct line once. Prints the diffs (none = the same output) and exits 1
# when any command's output differs.
set -euo pipefail
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
out=${3:-$(mktemp -d /tmp/kubeaz-output-diff.XXXXXX)}
spec_file=$(cd "$(dirname "${4:-$2/cluster.example.yaml}")" && pwd)/$(basename "${4:-cluster.example.yaml}")
mkdir -p "$out"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
url="http://127.0.0.1:$port"
python3 "$after/src/devtools/moto_server.py" -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "$url/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$url/moto-api/" >/dev/null

export AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
export KUBEAZ_POLL_SECONDS=0.2 KUBEAZ_PROPAGATION_SECONDS=2 KUBEAZ_DEPENDENCY_SECONDS=60
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true NO_COLOR=1

commands=(plan create status destroy)
run_tree() { # name tree
  local name=$1 tree=$2 dir="$out/$1/spec"
  mkdir -p "$dir"
  cp "$spec_file" "$dir/cluster.yaml"
  curl -sf -X POST "$url/moto-api/reset" >/dev/null
  for c in "${commands[@]}"; do
    local args=("$c" -f "$dir/cluster.yaml")
    case $c in create | destroy) args+=(--yes) ;; esac
    set +e
    (cd "$dir" && node "$tree/bin/kubeaz" "${args[@]}" >"$out/$name/$c.out" 2>"$out/$name/$c.err" </dev/null)
    echo $? >"$out/$name/$c.code"
    set -e
  done
}

normalise() { # file spec-dir
  sed -E \
    -e "s#$2#<SPECDIR>#g" \
    -e 's/\b(vpc|subnet|igw|eipalloc|eipassoc|nat|rtb|rtbassoc|acl|aclassoc|sg|sgr|lt|vpce|i|ami|eni|vol|r)-[0-9a-f]{8,17}\b/\1-<ID>/g' \
    -e 's#/hostedzone/[A-Z0-9]+#/hostedzone/<ZONE>#g; s/\b[A-Z0-9]{14,32}\b/<ZONE>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?/<DATE>/g' \
    -e 's#((loadbalancer/(app|net)|targetgroup)/[^/ ]+)/[0-9a-f]{16}\b#\1/<ID16>#g' \
    -e 's/kubeaz-agent-[0-9a-f]{64}/kubeaz-agent-<SHA256>/g' \
    -e 's/\b[0-9a-f]{12}\b/<HEX12>/g; s/\b[0-9a-f]{32}\b/<HEX32>/g' \
    -e 's/\b[0-9]+(\.[0-9]+)? ?(ms|s)\b/<T>/g; s/\b[0-9]+m[0-9]+(\.[0-9]+)?s\b/<T>/g; s/\b[0-9]+h[0-9]+m\b/<T>/g' \
    -e 's/\b(DNSName|dnsName)?[a-z0-9-]+-[0-9]+\.us-[a-z]+-[0-9]\.elb\.amazonaws\.com/<ELB-DNS>/g' \
    -e 's/"seconds": ?[0-9.]+/"seconds": <T>/g; s/\[ *<T>\]/[<T>]/g' \
    -e 's/ [0-9]+ AWS calls \(/ <N> AWS calls (/g; s/waited <T> on [^ ]+/waited <T> on <KEY>/g' \
    -e 's/(… waiting for [^:]+: )[0-9]+\/[0-9]+ ready/\1<n>\/<m> ready/' \
    "$1"
}

run_tree before "$before"
run_tree after "$after"

status=0
for c in "${commands[@]}"; do
  for stream in code out err; do
    normalise "$out/before/$c.$stream" "$out/before/spec" >"$out/before/$c.$stream.norm"
    normalise "$out/after/$c.$stream" "$out/after/spec" >"$out/after/$c.$stream.norm"
  done
  sort -u "$out/before/$c.err.norm" >"$out/before/$c.err.sorted"
  sort -u "$out/after/$c.err.norm" >"$out/after/$c.err.sorted"
done
for c in "${commands[@]}"; do
  for f in code.norm out.norm err.sorted; do
    if ! diff -u --label "before/$c.$f" --label "after/$c.$f" "$out/before/$c.$f" "$out/after/$c.$f"; then status=1; fi
  done
  printf '%-8s exit %s → %s; stdout %s lines, stderr %s lines\n' "$c" "$(cat "$out/before/$c.code")" "$(cat "$out/after/$c.code")" "$(wc -l <"$out/after/$c.out")" "$(wc -l <"$out/after/$c.err")"
done
# The agent bundle is named by its SHA-256 (normalised above): any change to the agent's code, a
# reformat included, names another file; said here, not counted as a difference of output.
bundle() { grep -o -m1 'kubeaz-agent-[0-9a-f]\{64\}' "$out/$1/plan.out" || echo none; }
if [ "$(bundle before)" != "$(bundle after)" ]; then echo "agent bundle: $(bundle before) → $(bundle after) (the agent's code differs)"; fi
echo "raw and normalised outputs: $out"
exit $status
