#!/usr/bin/env node
// Stand-in for the commands the bootstrap scripts run (aws, curl, kubeadm, etcdctl, ...). Every call
// appends {cmd, args} as one JSON line to $STUB_LOG, then answers from the fixture state:
//   $STUB_S3    directory: <bucket>/<key> objects, <bucket>/<key>.__meta.json their metadata
//   $STUB_EC2   JSON file: { addresses: [...], race: [allocationIds another instance grabs first] }
//   $STUB_IMDS  JSON file: meta-data path -> answer
//   $STUB_DNS   JSON file: { zoneId, alias } for route53
//   $STUB_FAIL  JSON file: [{ match: regex on "cmd args…", times: N, stderr?, putS3?: { key, body } }]:
//               the first N calls matching fail (exit 1); putS3 then writes to $STUB_BUCKET
//               (e.g. the master renewing the join token meanwhile)
//   $STUB_NODES JSON file: { nodeName: { label: value } } for kubectl get/label nodes ('@providerID': spec.providerID)
//   $STUB_ETCD_MEMBERS    more lines of `etcdctl member list` after this instance's own member
//   $STUB_HTTP  directory: <host>/<path> files served to curl for non-IMDS URLs
//   $STUB_ETCD_IMAGE_TAG  the etcd image tag kubeadm config images list names (default 3.6.6-0)
//   $STUB_ETCD_VERSION    what the stand-in etcdctl/etcdutl report as their version (default 3.6.6)
//   $STUB_ETCD_LEADER     'true'|'false': the IS LEADER column of `etcdctl endpoint status` (default true)
//   $STUB_API_HOST        when set, `kubeadm init` and `kubeadm join` make https://<host>/readyz answer
//                         (a file under $STUB_HTTP): the API is up from then on
// $STUB_EC2 may also hold { instances: { <id>: <state name> } } for `ec2 describe-instances`.
// `s3api put-object --if-none-match '*'` is atomic (O_EXCL), so concurrent masters race for real.
// Unknown sub-commands of aws fail loudly (exit 2) so a script drifting from what is tested shows.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const [cmd, ...args] = process.argv.slice(2);
const env = process.env;
if (env.STUB_LOG) fs.appendFileSync(env.STUB_LOG, JSON.stringify({ cmd, args }) + '\n');

const out = (s) => process.stdout.write(s);
const fail = (code, msg) => {
  process.stderr.write(`${cmd} (stub): ${msg}\n`);
  process.exit(code);
};
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const has = (name) => args.includes(name);
const readJson = (f, dflt) => (f && fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : dflt);
const readStdin = () => fs.readFileSync(0);

export const JOIN_TOKEN = 'abcdef.0123456789abcdef';
export const CA_HASH = 'sha256:' + 'a1'.repeat(32);

/** An injected failure for this call, per $STUB_FAIL (counts down in the file). */
function injectedFailure() {
  if (!env.STUB_FAIL || !fs.existsSync(env.STUB_FAIL)) return;
  const rules = JSON.parse(fs.readFileSync(env.STUB_FAIL, 'utf8'));
  const line = [cmd, ...args].join(' ');
  const rule = rules.find((r) => r.times > 0 && new RegExp(r.match).test(line));
  if (!rule) return;
  rule.times -= 1;
  fs.writeFileSync(env.STUB_FAIL, JSON.stringify(rules));
  if (rule.putS3) putObject(env.STUB_BUCKET, rule.putS3.key, rule.putS3.body);
  fail(1, rule.stderr ?? `injected failure of: ${line}`);
}

function s3path(bucket, key) {
  return path.join(env.STUB_S3, bucket, key);
}
function s3uri(u) {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(u);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}
function listKeys(bucket, prefix) {
  const root = path.join(env.STUB_S3, bucket);
  const keys = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.__meta.json')) keys.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  walk(root);
  return keys.filter((k) => k.startsWith(prefix)).sort();
}
function putObject(bucket, key, body, meta) {
  const p = s3path(bucket, key);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, body);
  fs.writeFileSync(`${p}.__meta.json`, JSON.stringify(meta ?? {}));
}

function aws() {
  const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--') && !['--recursive', '--only-show-errors', '--no-allow-reassociation'].includes(args[i - 1])));
  const [service, op] = positional;
  if (service === 's3' && op === 'cp') {
    const [src, dst] = positional.slice(2);
    const from = s3uri(src);
    const to = s3uri(dst);
    if (from && has('--recursive')) {
      const keys = listKeys(from.bucket, from.key);
      for (const k of keys) {
        const rel = k.slice(from.key.length);
        fs.mkdirSync(path.dirname(path.join(dst, rel)), { recursive: true });
        fs.copyFileSync(s3path(from.bucket, k), path.join(dst, rel));
      }
      return;
    }
    if (from) {
      const p = s3path(from.bucket, from.key);
      if (!fs.existsSync(p)) fail(1, `fatal error: An error occurred (404) when calling the HeadObject operation: Key "${from.key}" does not exist`);
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(p, dst);
      return;
    }
    if (to) {
      putObject(to.bucket, to.key, src === '-' ? readStdin() : fs.readFileSync(src));
      return;
    }
    fail(2, `unsupported s3 cp ${src} ${dst}`);
  }
  if (service === 's3api') {
    const bucket = opt('--bucket');
    const key = opt('--key');
    if (op === 'list-objects-v2') {
      if (opt('--query') !== 'Contents[].Key' || opt('--output') !== 'text') fail(2, 'unsupported list-objects-v2 query');
      const keys = listKeys(bucket, opt('--prefix') ?? '');
      out(keys.length ? keys.join('\t') + '\n' : 'None\n');
      return;
    }
    if (op === 'get-object') {
      const p = s3path(bucket, key);
      if (!fs.existsSync(p)) fail(254, 'An error occurred (NoSuchKey) when calling the GetObject operation');
      const outfile = positional[2];
      fs.copyFileSync(p, outfile);
      const meta = readJson(`${p}.__meta.json`, {});
      if (opt('--query') !== 'Metadata.sha256') fail(2, 'unsupported get-object query');
      out(`${meta.sha256 ?? 'None'}\n`);
      return;
    }
    if (op === 'put-object') {
      const p = s3path(bucket, key);
      const meta = {};
      for (const kv of (opt('--metadata') ?? '').split(',').filter(Boolean)) {
        const [k, ...v] = kv.split('=');
        meta[k] = v.join('=');
      }
      if (opt('--if-none-match') === '*') {
        // as S3: the object appears whole or not at all (written aside, then linked: EEXIST if taken)
        fs.mkdirSync(path.dirname(p), { recursive: true });
        const tmp = `${p}.__tmp.${process.pid}`;
        fs.writeFileSync(tmp, fs.readFileSync(opt('--body')));
        let taken = false;
        try {
          fs.linkSync(tmp, p);
        } catch {
          taken = true;
        }
        fs.rmSync(tmp, { force: true });
        if (taken) fail(254, 'An error occurred (PreconditionFailed) when calling the PutObject operation: At least one of the pre-conditions you specified did not hold');
        fs.writeFileSync(`${p}.__meta.json`, JSON.stringify(meta));
        out(JSON.stringify({ ETag: '"stub"' }) + '\n');
        return;
      }
      putObject(bucket, key, fs.readFileSync(opt('--body')), meta);
      out(JSON.stringify({ ETag: '"stub"' }) + '\n');
      return;
    }
    if (op === 'delete-object') {
      const p = s3path(bucket, key);
      fs.rmSync(p, { force: true });
      fs.rmSync(`${p}.__meta.json`, { force: true });
      return;
    }
  }
  if (service === 'ec2') {
    const state = readJson(env.STUB_EC2, { addresses: [], race: [] });
    const save = () => fs.writeFileSync(env.STUB_EC2, JSON.stringify(state));
    if (op === 'describe-addresses') {
      const fi = args.indexOf('--filters');
      const filters = [];
      for (let i = fi + 1; fi >= 0 && i < args.length && !args[i].startsWith('--'); i++) {
        const m = /^Name=tag:([^,]+),Values=(.*)$/.exec(args[i]);
        if (!m) fail(2, `unsupported filter ${args[i]}`);
        filters.push([m[1], m[2].split(',')]);
      }
      const matching = state.addresses.filter((a) => filters.every(([k, vs]) => vs.includes(a.Tags?.[k])));
      const q = opt('--query');
      const mine = /^Addresses\[\?InstanceId=='([^']+)'\]\.PublicIp \| \[0\]$/.exec(q ?? '');
      if (mine) {
        const a = matching.find((x) => x.InstanceId === mine[1]);
        out(`${a ? a.PublicIp : 'None'}\n`);
        return;
      }
      if (q === 'Addresses[?AssociationId==null].AllocationId') {
        out(matching.filter((a) => !a.AssociationId).map((a) => a.AllocationId).join('\t') + '\n');
        return;
      }
      fail(2, `unsupported describe-addresses query ${q}`);
    }
    if (op === 'describe-instances') {
      const f = /^Name=instance-id,Values=(.*)$/.exec(opt('--filters') ?? '');
      if (!f || opt('--query') !== 'Reservations[].Instances[].[InstanceId,State.Name]' || opt('--output') !== 'text') fail(2, 'unsupported describe-instances');
      const known = state.instances ?? {};
      for (const id of f[1].split(',')) if (known[id]) out(`${id}\t${known[id]}\n`);
      return;
    }
    if (op === 'associate-address') {
      const a = state.addresses.find((x) => x.AllocationId === opt('--allocation-id'));
      if (!a) fail(254, 'An error occurred (InvalidAllocationID.NotFound)');
      if ((state.race ?? []).includes(a.AllocationId) && !a.AssociationId) {
        Object.assign(a, { AssociationId: `eipassoc-race-${a.AllocationId}`, InstanceId: 'i-racewinner' });
        save();
      }
      if (a.AssociationId && has('--no-allow-reassociation')) fail(254, 'An error occurred (Resource.AlreadyAssociated) when calling the AssociateAddress operation');
      Object.assign(a, { AssociationId: `eipassoc-${a.AllocationId}`, InstanceId: opt('--instance-id') });
      save();
      out(JSON.stringify({ AssociationId: a.AssociationId }) + '\n');
      return;
    }
  }
  if (service === 'route53') {
    const dns = readJson(env.STUB_DNS, {});
    if (op === 'list-hosted-zones-by-name') return out(`${dns.zoneId ?? 'None'}\n`);
    if (op === 'list-resource-record-sets') return out(`${dns.alias ?? 'None'}\n`);
    if (op === 'change-resource-record-sets') return out('{}\n');
  }
  fail(2, `unsupported aws call: ${args.join(' ')}`);
}

function curl() {
  const url = args.find((a) => /^https?:\/\//.test(a));
  const imds = env.IMDS_ENDPOINT;
  if (url && imds && !url.startsWith(imds) && env.STUB_HTTP) {
    const u = new URL(url);
    const f = path.join(env.STUB_HTTP, u.host, decodeURIComponent(u.pathname));
    if (!fs.existsSync(f)) fail(22, `404 ${url}`);
    const o = opt('-o');
    if (o) fs.copyFileSync(f, o);
    else out(fs.readFileSync(f));
    return;
  }
  if (!url || !imds || !url.startsWith(imds)) fail(6, `no network in tests: ${url}`);
  const p = url.slice(imds.length);
  if (p === '/latest/api/token') {
    if (opt('-X') !== 'PUT') fail(22, 'token needs PUT');
    return out('stub-imds-token');
  }
  if (!args.includes('X-aws-ec2-metadata-token: stub-imds-token')) fail(22, '401 Unauthorized (IMDSv2 token missing)');
  const answers = readJson(env.STUB_IMDS, {});
  const k = p.replace(/^\/latest\/meta-data\//, '');
  if (answers[k] === undefined) fail(22, `404 ${p}`);
  out(String(answers[k]));
}

const kubeletConf = () => path.join(env.KUBEAZ_ROOT ?? '/nonexistent', 'etc/kubernetes/kubelet.conf');

/** kubectl get nodes -l SELECTOR -o name / kubectl label node/NAME k=v --overwrite, on $STUB_NODES. */
function kubectl() {
  const nodes = readJson(env.STUB_NODES, {});
  const rest = args.filter((a, i) => !(a === '--kubeconfig' || args[i - 1] === '--kubeconfig'));
  if (rest[0] === 'get' && rest[1] === 'nodes') {
    const sel = (opt('-l') ?? '').split(',').filter(Boolean);
    const match = (labels) =>
      sel.every((term) => {
        if (term.startsWith('!')) return !(term.slice(1) in labels);
        const [k, v] = term.split('=');
        return v === undefined ? k in labels : labels[k] === v;
      });
    if (opt('-o') !== 'name') fail(2, 'unsupported get nodes output');
    for (const [name, labels] of Object.entries(nodes)) if (match(labels)) out(`node/${name}\n`);
    return;
  }
  if (rest[0] === 'get' && rest[1] === 'node' && opt('-o') === "jsonpath={.metadata.labels.kubeaz\\.io/node-group} {.spec.providerID}") {
    const n = nodes[rest[2]];
    if (!n) fail(1, `Error from server (NotFound): nodes "${rest[2]}" not found`);
    out(`${n['kubeaz.io/node-group'] ?? ''} ${n['@providerID'] ?? ''}`);
    return;
  }
  if (rest[0] === 'label') {
    const name = rest[1].replace(/^node\//, '');
    if (!nodes[name]) fail(1, `Error from server (NotFound): nodes "${name}" not found`);
    const [k, v] = rest[2].split('=');
    if (k in nodes[name] && !has('--overwrite')) fail(1, `'${k}' already has a value`);
    nodes[name][k] = v ?? '';
    fs.writeFileSync(env.STUB_NODES, JSON.stringify(nodes));
    out(`node/${name} labeled\n`);
  }
}

/** The API answers from now on (kubeadm init or join ran), when the test asked for it. */
function apiUp() {
  if (!env.STUB_API_HOST || !env.STUB_HTTP) return;
  const f = path.join(env.STUB_HTTP, env.STUB_API_HOST, 'readyz');
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, 'ok');
}

/** The membership sub-commands: this instance's member (from $STUB_IMDS), leadership, no remote health. */
function etcdctl() {
  const sub = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--') && !args[i - 1].includes('=')));
  const imds = readJson(env.STUB_IMDS, {});
  const ip = imds['local-ipv4'] ?? '10.0.0.1';
  const id = crypto.createHash('sha256').update(ip).digest('hex').slice(0, 16);
  if (sub[0] === 'member' && sub[1] === 'list') out(`${id}, started, ${imds['local-hostname'] ?? 'stub'}, https://${ip}:2380, https://${ip}:2379, false\n${env.STUB_ETCD_MEMBERS ?? ''}`);
  if (sub[0] === 'endpoint' && sub[1] === 'status') out(`https://127.0.0.1:2379, ${id}, 3.6.6, 20 kB, ${env.STUB_ETCD_LEADER ?? 'true'}, false, 2, 4, 4, \n`);
  if (sub[0] === 'endpoint' && sub[1] === 'health') fail(1, `${opt('--endpoints')} is unhealthy: failed to commit proposal: context deadline exceeded`);
}

switch (cmd) {
  case 'aws':
    injectedFailure();
    aws();
    break;
  case 'curl':
    curl();
    break;
  case 'kubeadm':
    if ((args[0] === 'init' && args[1] !== 'phase') || args[0] === 'join') apiUp();
    if (args[0] === 'join') {
      // a join that failed part-way leaves kubelet.conf behind: the next preflight refuses it
      if (fs.existsSync(kubeletConf())) fail(1, '[preflight] Some fatal errors occurred:\n\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists');
      fs.mkdirSync(path.dirname(kubeletConf()), { recursive: true });
      fs.writeFileSync(kubeletConf(), 'stub kubelet.conf\n');
    }
    if (args[0] === 'reset') fs.rmSync(kubeletConf(), { force: true });
    injectedFailure();
    if (args[0] === 'token' && args[1] === 'create' && has('--print-join-command'))
      out(`kubeadm join master.example:443 --token ${JOIN_TOKEN} --discovery-token-ca-cert-hash ${CA_HASH} \n`);
    if (args[0] === 'config' && args[1] === 'images' && args[2] === 'list') {
      const v = opt('--kubernetes-version') ?? 'v1.35.0';
      for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) out(`registry.k8s.io/${c}:${v}\n`);
      out(`registry.k8s.io/coredns/coredns:v1.13.1\nregistry.k8s.io/pause:3.10.1\nregistry.k8s.io/etcd:${env.STUB_ETCD_IMAGE_TAG ?? '3.6.6-0'}\n`);
    }
    break;
  case 'etcdctl':
    etcdctl();
    if (args[0] === 'version') out(`etcdctl version: ${env.STUB_ETCD_VERSION ?? '3.6.6'}\nAPI version: 3.6\n`);
    if (args.includes('save')) fs.writeFileSync(args[args.indexOf('save') + 1], `etcd-snapshot ${crypto.randomUUID()}\n`);
    break;
  case 'etcdutl': {
    if (args[0] === 'version') out(`etcdutl version: ${env.STUB_ETCD_VERSION ?? '3.6.6'}\nAPI version: 3.6\n`);
    if (args[0] === 'snapshot' && args[1] === 'status') {
      if (!fs.readFileSync(args[2], 'utf8').startsWith('etcd-snapshot')) fail(1, 'invalid snapshot');
    }
    if (args[0] === 'snapshot' && args[1] === 'restore') {
      const dir = opt('--data-dir');
      fs.mkdirSync(path.join(dir, 'member'), { recursive: true });
      fs.copyFileSync(args[2], path.join(dir, 'member', 'restored-from-snapshot'));
    }
    break;
  }
  case 'containerd':
    if (args[0] === 'config' && args[1] === 'default') out('[plugins]\n  SystemdCgroup = false\n');
    break;
  case 'kubectl':
    injectedFailure();
    kubectl();
    break;
  default:
    // dnf, systemctl, helm, modprobe, sysctl, swapoff: succeed silently (unless $STUB_FAIL says otherwise).
    injectedFailure();
    break;
}
