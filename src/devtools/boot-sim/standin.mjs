#!/usr/bin/env node
// boot-sim's recording stand-ins for the programs the kubeaz agent runs on an instance (kubeadm,
// kubelet, dnf, systemctl, helm, kubectl, containerd, modprobe, sysctl, swapoff, etcdutl, curl).
// `bin/<name>` runs `node standin.mjs <name> ARGS…`. Every call is appended as one JSON line
// {t, cmd, args, code} to $SIM_CALLS. Only kubeadm and etcdutl do real work:
//   kubeadm init           starts a REAL etcd member (etcd 3.4 on the machine) as a new cluster on
//                          the instance's 127.0.0.N (TLS from the etcd CA the agent put under its root)
//                          and serves https://N:6443/readyz while it runs (cluster CA), detached.
//                          A non-empty etcd data dir (a restore) is refused unless the config ignores
//                          the DirAvailable--var-lib-etcd preflight, as kubeadm does.
//   kubeadm join           control plane: member add through etcd (as kubeadm does), then start;
//                          a node: accepted when its token was made by `kubeadm token create`.
//   kubeadm reset          stops this instance's member and empties its data dir and pki/.
//   kubeadm token create   needs a running API; the token is kept in $SIM_SHARED/tokens.
//   etcdutl snapshot …     over etcd 3.4's `ETCDCTL_API=3 etcdctl snapshot`; restore fails unless
//                          --bump-revision 1000000000 --mark-compacted were asked for.
// $SIM_INIT_FAILS=1: `kubeadm init` fails on every try on the first instance that ever ran it.
// No network but this instance's loopback address.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
const require = createRequire(path.join(REPO, 'package.json'));
const env = process.env;
const ROOT = env.KUBEAZ_ROOT || env.SIM_ROOT;
const IP = env.SIM_IP;
const SHARED = env.SIM_SHARED;
const [cmd, ...args] = process.argv.slice(2);

const p = (...s) => path.join(ROOT, ...s);
const PKI = p('etc/kubernetes/pki');
const DATA = p('var/lib/etcd');
const PIDFILE = p('run/kubeaz-sim-controlplane.pid');
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function record(code) {
  if (env.SIM_CALLS) fs.appendFileSync(env.SIM_CALLS, JSON.stringify({ t: new Date().toISOString(), cmd, args, code }) + '\n');
}
function done(code, out = '', err = '') {
  record(code);
  if (out) process.stdout.write(out);
  if (err) process.stderr.write(err);
  process.exit(code);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function etcdctl(endpoint, ...a) {
  return spawnSync(
    'etcdctl',
    [
      '--endpoints',
      endpoint,
      '--cacert',
      path.join(PKI, 'etcd/ca.crt'),
      '--cert',
      path.join(PKI, 'etcd/healthcheck-client.crt'),
      '--key',
      path.join(PKI, 'etcd/healthcheck-client.key'),
      '--dial-timeout',
      '2s',
      '--command-timeout',
      '5s',
      ...a,
    ],
    {
      encoding: 'utf8',
      env: { ...env, ETCDCTL_API: '3' },
    },
  );
}

/** A certificate signed by CA (openssl): IP SANs, server and client auth. */
function sign(caCrt, caKey, name, ips, out) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const ext = `${out}.ext`;
  fs.writeFileSync(ext, `subjectAltName=${ips.map((i) => `IP:${i}`).join(',')},DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n`);
  const r = spawnSync(
    'bash',
    [
      '-euc',
      `
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "${out}.key" 2>/dev/null
    openssl req -new -key "${out}.key" -out "${out}.csr" -subj "/CN=${name}"
    openssl x509 -req -in "${out}.csr" -CA "${caCrt}" -CAkey "${caKey}" -CAcreateserial -CAserial "${out}.srl" -out "${out}.crt" -days 2 -extfile "${ext}" 2>/dev/null`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`signing ${name}: ${r.stderr}`);
}

function readDocs(file) {
  const { parseAllDocuments } = require('yaml');
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS());
}

function liveApiServers() {
  const dir = path.join(SHARED, 'apiservers');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

function controlPlanePid() {
  const pid = Number(fs.existsSync(PIDFILE) ? fs.readFileSync(PIDFILE, 'utf8') : NaN);
  if (!pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function stopControlPlane() {
  const pid = controlPlanePid();
  fs.rmSync(path.join(SHARED, 'apiservers', IP), { force: true });
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && controlPlanePid(); i++) await sleep(100);
  fs.rmSync(PIDFILE, { force: true });
}

/** Starts the detached control plane (etcd + /readyz) and waits until etcd answers. */
async function startControlPlane(name, initialCluster, state) {
  sign(path.join(PKI, 'etcd/ca.crt'), path.join(PKI, 'etcd/ca.key'), name, [IP], p('etc/kubernetes/sim/etcd-server'));
  sign(path.join(PKI, 'ca.crt'), path.join(PKI, 'ca.key'), 'kube-apiserver', [IP, '127.0.0.1'], p('etc/kubernetes/sim/apiserver'));
  fs.mkdirSync(path.dirname(PIDFILE), { recursive: true });
  fs.mkdirSync(p('var/log'), { recursive: true });
  const log = fs.openSync(p('var/log/kubeaz-sim-controlplane.log'), 'a');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '__controlplane', name, initialCluster, state], {
    detached: true,
    stdio: ['ignore', log, log],
    env,
  });
  fs.writeFileSync(PIDFILE, String(child.pid));
  child.unref();
  for (let i = 0; i < 150; i++) {
    if (etcdctl(`https://${IP}:2379`, 'endpoint', 'health').status === 0) {
      fs.mkdirSync(path.join(SHARED, 'apiservers'), { recursive: true });
      fs.writeFileSync(
        path.join(SHARED, 'apiservers', IP),
        JSON.stringify({ ip: IP, name, clientURL: `https://${IP}:2379`, api: `https://${IP}:6443` }),
      );
      fs.writeFileSync(p('etc/kubernetes/admin.conf'), `# boot-sim: admin kubeconfig of ${name}\n`);
      return;
    }
    if (!controlPlanePid()) break;
    await sleep(200);
  }
  const tail = fs.readFileSync(p('var/log/kubeaz-sim-controlplane.log'), 'utf8').slice(-1500);
  await stopControlPlane();
  throw new Error(`etcd member ${name} did not become healthy:\n${tail}`);
}

/** The detached control plane: etcd as a child, /readyz on IP:6443 while it runs. */
async function controlPlane([name, initialCluster, state]) {
  const s = p('etc/kubernetes/sim/etcd-server');
  const etcd = spawn(
    'etcd',
    [
      '--name',
      name,
      '--data-dir',
      DATA,
      '--listen-client-urls',
      `https://${IP}:2379`,
      '--advertise-client-urls',
      `https://${IP}:2379`,
      '--listen-peer-urls',
      `https://${IP}:2380`,
      '--initial-advertise-peer-urls',
      `https://${IP}:2380`,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      state,
      '--initial-cluster-token',
      'kubeaz-boot-sim',
      '--cert-file',
      `${s}.crt`,
      '--key-file',
      `${s}.key`,
      '--client-cert-auth',
      '--trusted-ca-file',
      path.join(PKI, 'etcd/ca.crt'),
      '--peer-cert-file',
      `${s}.crt`,
      '--peer-key-file',
      `${s}.key`,
      '--peer-client-cert-auth',
      '--peer-trusted-ca-file',
      path.join(PKI, 'etcd/ca.crt'),
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
      '--snapshot-count',
      '10000',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const a = p('etc/kubernetes/sim/apiserver');
  const server = https.createServer({ cert: fs.readFileSync(`${a}.crt`), key: fs.readFileSync(`${a}.key`) }, (req, res) => {
    res.writeHead(req.url?.startsWith('/readyz') && etcd.exitCode === null ? 200 : 404).end('ok');
  });
  server.listen(6443, IP);
  const stop = () => {
    etcd.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  etcd.on('exit', (code) => {
    process.stderr.write(`etcd exited ${code}\n`);
    process.exit(1);
  });
}

function tokenKnown(token) {
  const f = path.join(SHARED, 'tokens');
  return fs.existsSync(f) && fs.readFileSync(f, 'utf8').split('\n').includes(token);
}

async function kubeadm() {
  const sub = args[0];
  if (sub === 'init') {
    const file = opt('--config');
    const docs = readDocs(file);
    const init = docs.find((d) => d.kind === 'InitConfiguration');
    const name = init.nodeRegistration.name;
    if (env.SIM_INIT_FAILS === '1') {
      const marker = path.join(SHARED, 'first-init');
      try {
        fs.writeFileSync(marker, IP, { flag: 'wx' });
      } catch {
        /* another instance ran init first */
      }
      if (fs.readFileSync(marker, 'utf8') === IP) {
        done(
          1,
          '',
          `[init] Using Kubernetes version: v1.35\n[wait-control-plane] Waiting for the kubelet to boot up the control plane\nerror execution phase wait-control-plane: couldn't initialize a Kubernetes cluster (boot-sim: init fails on ${IP})\n`,
        );
      }
    }
    const restored = fs.existsSync(path.join(DATA, 'member'));
    if (restored && !(init.nodeRegistration.ignorePreflightErrors ?? []).includes('DirAvailable--var-lib-etcd')) {
      done(1, '', `[preflight] Some fatal errors occurred:\n\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n`);
    }
    await stopControlPlane();
    await startControlPlane(name, `${name}=https://${IP}:2380`, 'new');
    done(
      0,
      `Your Kubernetes control-plane has initialized successfully! (boot-sim: etcd ${restored ? 'on restored data' : 'new cluster'} at https://${IP}:2379)\n`,
    );
  }
  if (sub === 'join') {
    const docs = readDocs(opt('--config'));
    const j = docs.find((d) => d.kind === 'JoinConfiguration');
    const token = j.discovery?.bootstrapToken?.token;
    const live = liveApiServers();
    if (live.length === 0)
      done(1, '', `error execution phase preflight: couldn't validate the identity of the API Server: no API server answers (boot-sim)\n`);
    if (!tokenKnown(token)) done(1, '', `error execution phase preflight: the bootstrap token is not known to the API server (boot-sim)\n`);
    if (!j.controlPlane) {
      fs.mkdirSync(p('etc/kubernetes'), { recursive: true });
      fs.writeFileSync(p('etc/kubernetes/kubelet.conf'), `# boot-sim: ${j.nodeRegistration.name}\n`);
      done(0, `This node has joined the cluster (boot-sim)\n`);
    }
    const name = j.nodeRegistration.name;
    let added;
    for (const s of live) {
      const r = etcdctl(s.clientURL, '-w', 'json', 'member', 'add', name, `--peer-urls=https://${IP}:2380`);
      if (r.status === 0) {
        added = JSON.parse(r.stdout);
        break;
      }
      process.stderr.write(`member add through ${s.clientURL}: ${r.stderr}`);
    }
    if (!added)
      done(
        1,
        '',
        `error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcdserver: member add failed (boot-sim)\n`,
      );
    const newId = added.member.ID;
    const cluster = added.members.map((m) => `${m.ID === newId ? name : m.name}=${m.peerURLs[0]}`).join(',');
    await stopControlPlane();
    fs.rmSync(DATA, { recursive: true, force: true });
    await startControlPlane(name, cluster, 'existing');
    done(0, `This node has joined the cluster and a new control plane instance was created (boot-sim)\n`);
  }
  if (sub === 'reset') {
    await stopControlPlane();
    fs.rmSync(DATA, { recursive: true, force: true });
    fs.rmSync(PKI, { recursive: true, force: true });
    fs.rmSync(p('etc/kubernetes/admin.conf'), { force: true });
    done(0, '[reset] boot-sim: stopped and cleaned\n');
  }
  if (sub === 'token' && args[1] === 'create') {
    if (liveApiServers().length === 0) done(1, '', 'failed to create or update bootstrap token: no API server answers (boot-sim)\n');
    fs.appendFileSync(path.join(SHARED, 'tokens'), `${args[2]}\n`);
    done(0, `${args[2]}\n`);
  }
  if (sub === 'config' && args[1] === 'images')
    done(0, JSON.stringify({ kind: 'Images', images: ['registry.k8s.io/etcd:3.4.30-0'] }) + '\n');
  done(0);
}

function etcdutl() {
  if (args[0] !== 'snapshot') done(2, '', `etcdutl (boot-sim): unsupported ${args.join(' ')}\n`);
  if (args[1] === 'status') {
    const r = spawnSync('etcdctl', ['snapshot', 'status', args[2], '-w', 'json'], { encoding: 'utf8', env: { ...env, ETCDCTL_API: '3' } });
    done(r.status ?? 1, r.stdout, r.stderr);
  }
  if (args[1] === 'restore') {
    const rev = opt('--bump-revision');
    if (rev !== '1000000000' || !args.includes('--mark-compacted'))
      done(1, '', 'etcdutl (boot-sim): a restore without --bump-revision 1000000000 --mark-compacted leaves watchers behind\n');
    const rest = [];
    for (let i = 2; i < args.length; i++) {
      if (args[i] === '--bump-revision') i++;
      else if (args[i] !== '--mark-compacted') rest.push(args[i]);
    }
    const r = spawnSync('etcdctl', ['snapshot', 'restore', ...rest], { encoding: 'utf8', env: { ...env, ETCDCTL_API: '3' } });
    done(r.status ?? 1, r.stdout, r.stderr);
  }
  done(2, '', `etcdutl (boot-sim): unsupported ${args.join(' ')}\n`);
}

try {
  if (cmd === '__controlplane') await controlPlane(args);
  else if (cmd === 'kubeadm') await kubeadm();
  else if (cmd === 'etcdutl') etcdutl();
  else if (cmd === 'containerd' && args[0] === 'config')
    done(0, 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n');
  else if (cmd === 'helm' && args[0] === 'version') done(0, 'v3.17.0+gboot-sim\n');
  else if (cmd === 'kubectl' && args.includes('-o') && opt('-o') === 'json') done(0, '{"items":[]}\n');
  else if (cmd === 'curl') done(7, '', 'curl (boot-sim): no network beyond loopback\n');
  else done(0);
} catch (e) {
  done(1, '', `${cmd} (boot-sim): ${e?.stack ?? e}\n`);
}
