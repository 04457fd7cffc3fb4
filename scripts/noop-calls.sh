#!/usr/bin/env bash
# AWS calls of a no-op create (issue 22's budget), against moto on loopback only:
#   small — two zones, one master, one node group (test/e2e/call-counts.test.ts's small spec)
#   big   — six zones, three masters behind NLBs, IRSA, five node groups
# Each: create --yes, then a second create --yes whose calls are counted (KUBEAZ_CALLS_FILE), then
# destroy. Prints one line per spec: total, mutating, and the reads by action.
#   npm run build && bash scripts/noop-calls.sh [TREE]    (TREE: a built checkout; default this one)
set -euo pipefail
tree=$(cd "${1:-$(dirname "$0")/..}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/kubeaz-noop.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
python3 "$root/src/devtools/moto_server.py" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true; rm -rf "$dir"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 600); do curl -sf "$url/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
export KUBEAZ_POLL_SECONDS=0.2 KUBEAZ_PROPAGATION_SECONDS=2 KUBEAZ_DEPENDENCY_SECONDS=60 NO_COLOR=1
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

mkdir -p "$dir/small" "$dir/big"
cat >"$dir/small/cluster.yaml" <<'SPEC'
apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: small, environment: t }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  dns: { publicDomain: small.example.com }
  controlPlane: { instanceType: m4.large }
  nodeGroups:
    - { name: workers, instanceType: m4.large, minSize: 1, maxSize: 2 }
SPEC
cat >"$dir/big/cluster.yaml" <<'SPEC'
apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: big, environment: t }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  dns: { publicDomain: big.example.com }
  controlPlane: { instanceType: m4.large, count: 3, loadBalancer: network }
  nodeGroups:
    - { name: workers, instanceType: m4.large, minSize: 1, maxSize: 2 }
    - { name: memory, instanceType: r4.large, minSize: 1, maxSize: 2 }
    - { name: compute, instanceType: c4.large, minSize: 1, maxSize: 2 }
    - { name: batch, instanceType: c4.xlarge, minSize: 1, maxSize: 2 }
    - { name: edge, role: loadbalancer, instanceType: c4.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: lb }
  iam:
    serviceAccountIssuerDiscovery: { enabled: true }
SPEC
for name in small big; do
  f="$dir/$name/cluster.yaml"
  (cd "$dir/$name" && node "$tree/bin/kubeaz" create -f "$f" --yes >"$dir/$name.create.log" 2>&1) || { cat "$dir/$name.create.log"; exit 1; }
  (cd "$dir/$name" && KUBEAZ_CALLS_FILE="$dir/$name.calls.json" node "$tree/bin/kubeaz" create -f "$f" --yes >"$dir/$name.noop.log" 2>&1) || { cat "$dir/$name.noop.log"; exit 1; }
  node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const by = Object.entries(c.byAction).sort(([a], [b]) => a.localeCompare(b)).map(([a, n]) => n > 1 ? `${a}×${n}` : a);
    console.log(`${process.argv[2]}: no-op create ${c.total} calls, ${c.mutating} mutating — ${by.join(" ")}`);
  ' "$dir/$name.calls.json" "$name"
  (cd "$dir/$name" && node "$tree/bin/kubeaz" destroy -f "$f" --yes >"$dir/$name.destroy.log" 2>&1) || { cat "$dir/$name.destroy.log"; exit 1; }
done
