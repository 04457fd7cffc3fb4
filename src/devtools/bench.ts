/**
 * `npm run bench [-- --runs N] [--latency 0,50] [--json FILE] [--quick] [--mode moto,aws] [--spec example,big]
 * [--nat-pending 90] [--nat-deleting 60] [--asg-deleting 60]`: prints numbers, asserts nothing (these
 * machines are shared and noisy). For the example spec and a 6-zone / 5-group spec, at 0 ms and
 * 50 ms of injected latency per call, it runs create → no-op create → status → destroy through the
 * real CLI against moto_server behind a counting proxy on loopback, and reports per stage the
 * calls (total, mutating, top actions), the wall time (median of the runs) and the peak RSS.
 *
 * Mode `aws` (AWS-like) runs the same stages at 0 ms latency with the proxy playing AWS's clock
 * (proxy.ts): NAT gateways `pending` for --nat-pending s and `deleting` for --nat-deleting s,
 * auto scaling groups taking --asg-deleting s to go with their instances; the CLI keeps its own
 * default poll interval, as a user's would. Each stage also shows the line the CLI ends with
 * naming what it waited on longest (its critical path).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { motoEnv, startMoto } from './moto.js';
import { AWS_TYPICAL, type AwsTiming } from './aws-clock.js';
import { startProxy } from './proxy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(root, 'bin', 'kubeaz');

export const BIG_SPEC = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: big, environment: prod }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f]
  kubernetesVersion: "1.35.0"
  # one NAT: six per-zone NAT addresses plus the edge pool would pass the default quota of 5
  # elastic IPs, and pre-flight refuses that (moto keeps the default). us-east-1e offers only the
  # older instance families, as on AWS.
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  dns: { publicDomain: example.com }
  controlPlane: { instanceType: m4.large }
  nodeGroups:
    - { name: general, instanceType: m4.large, minSize: 2, maxSize: 6 }
    - { name: memory, instanceType: r4.large, minSize: 1, maxSize: 4 }
    - { name: compute, instanceType: c4.xlarge, minSize: 1, maxSize: 4 }
    - { name: batch, instanceType: c4.large, minSize: 1, maxSize: 4 }
    - { name: edge, role: loadbalancer, instanceType: c4.large, minSize: 2, maxSize: 2, elasticIps: 2, publicRecord: lb }
`;

interface StageResult {
  stage: string;
  calls: number;
  mutating: number;
  wire: number;
  top: Array<[string, number]>;
  seconds: number;
  peakRssMb: number;
  exit: number;
  /** the CLI's own "waited N s on KEY" line */
  waited?: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; seconds: number; rssKb: number; stderr: string }> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    // /usr/bin/time reports the child's peak resident set size.
    const child = spawn('/usr/bin/time', ['-f', 'KUBEAZ_RSS_KB=%M', process.execPath, BIN, ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rss = Number(/KUBEAZ_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
      resolve({ code: code ?? 1, seconds, rssKb: rss, stderr });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

async function cycle(specText: string, latencyMs: number, awsLike?: AwsTiming): Promise<StageResult[]> {
  const moto = await startMoto();
  const proxy = await startProxy({ target: moto.url, latencyMs, ...(awsLike ? { awsLike } : {}) });
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-bench-'));
  const file = path.join(dir, 'cluster.yaml');
  await writeFile(file, specText);
  const callsFile = path.join(dir, 'calls.json');
  const env: NodeJS.ProcessEnv = { ...process.env, ...motoEnv(proxy.url), KUBEAZ_CALLS_FILE: callsFile };
  // moto as is: short polls (nothing to wait for). AWS-like: the CLI's own default, as a user runs it.
  if (!awsLike) env.KUBEAZ_POLL_SECONDS = process.env.KUBEAZ_POLL_SECONDS ?? '1';
  delete env.AWS_PROFILE;
  const out: StageResult[] = [];
  try {
    // moto's first call loads its data (~seconds): pay it before measuring.
    await fetch(`${moto.url}/moto-api/`);
    await runCli(['validate', '-f', file], env);
    for (const [stage, args] of [
      ['create', ['create', '-f', file, '--yes']],
      ['no-op create', ['create', '-f', file, '--yes']],
      ['status', ['status', '-f', file]],
      ['destroy', ['destroy', '-f', file, '--yes']],
    ] as const) {
      proxy.reset();
      const r = await runCli([...args], env);
      const calls = JSON.parse(await readFile(callsFile, 'utf8')) as { total: number; mutating: number; byAction: Record<string, number> };
      out.push({
        stage,
        calls: calls.total,
        mutating: calls.mutating,
        wire: proxy.total(),
        top: Object.entries(calls.byAction)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4),
        seconds: r.seconds,
        peakRssMb: Math.round(r.rssKb / 1024),
        exit: r.code,
        ...(/waited [^\n]*/.exec(r.stderr) ? { waited: /waited [^\n]*/.exec(r.stderr)![0].replace(/\s+$/, '') } : {}),
      });
      if (r.code !== 0 && !(stage === 'status' && r.code === 3)) throw new Error(`${stage} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    }
  } finally {
    await proxy.close();
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

async function startup(runs: number): Promise<{ help: number; validate: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-bench-'));
  const file = path.join(dir, 'cluster.yaml');
  await copyFile(path.join(root, 'cluster.example.yaml'), file);
  const help: number[] = [];
  const validate: number[] = [];
  for (let i = 0; i < runs; i++) {
    help.push((await runCli(['--help'], process.env)).seconds);
    validate.push((await runCli(['validate', '-f', file], process.env)).seconds);
  }
  await rm(dir, { recursive: true, force: true });
  return { help: median(help) * 1000, validate: median(validate) * 1000 };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const runs = Number(argv[argv.indexOf('--runs') + 1] ?? 3) || 3;
  const jsonFile = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const quick = argv.includes('--quick');
  const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const allSpecs: Array<[string, string, string]> = [
    ['example', 'example (3 zones, 2 groups)', await readFile(path.join(root, 'cluster.example.yaml'), 'utf8')],
    ['big', 'big (6 zones, 5 groups)', BIG_SPEC],
  ];
  const wanted = (opt('--spec') ?? 'example,big').split(',');
  const specs: Array<[string, string]> = allSpecs.filter(([id]) => wanted.includes(id)).map(([, name, text]) => [name, text]);
  const modes = (opt('--mode') ?? 'moto,aws').split(',');
  const awsLike: AwsTiming = {
    ...AWS_TYPICAL,
    natPendingSeconds: Number(opt('--nat-pending') ?? AWS_TYPICAL.natPendingSeconds),
    natDeletingSeconds: Number(opt('--nat-deleting') ?? AWS_TYPICAL.natDeletingSeconds),
    asgDeletingSeconds: Number(opt('--asg-deleting') ?? AWS_TYPICAL.asgDeletingSeconds),
  };
  const latencyArg = opt('--latency');
  const latencies = latencyArg ? latencyArg.split(',').map(Number) : quick ? [0] : [0, 50];
  const n = quick ? 1 : runs;
  const results: Array<{ spec: string; latencyMs: number; mode: string; stages: StageResult[] }> = [];
  const cells: Array<{ mode: string; latency: number; timing?: AwsTiming }> = [
    ...(modes.includes('moto') ? latencies.map((latency) => ({ mode: 'moto', latency })) : []),
    ...(modes.includes('aws')
      ? [
          {
            mode: `AWS-like ${awsLike.natPendingSeconds}/${awsLike.natDeletingSeconds}/${awsLike.asgDeletingSeconds} s`,
            latency: 0,
            timing: awsLike,
          },
        ]
      : []),
  ];
  for (const [name, text] of specs) {
    for (const cell of cells) {
      process.stderr.write(`bench: ${name}, ${cell.mode}, ${cell.latency} ms latency, ${n} run(s) …\n`);
      const all: StageResult[][] = [];
      for (let i = 0; i < n; i++) all.push(await cycle(text, cell.latency, cell.timing));
      const stages = all[0]!.map((s, i) => ({
        ...s,
        seconds: median(all.map((r) => r[i]!.seconds)),
        peakRssMb: Math.max(...all.map((r) => r[i]!.peakRssMb)),
      }));
      results.push({ spec: name, latencyMs: cell.latency, mode: cell.mode, stages });
    }
  }
  const start = await startup(quick ? 3 : 5);
  const { deriveGraph } = await import('../model/derive.js');
  const { parseSpec } = await import('../spec/load.js');
  const { criticalPathLength } = await import('../engine/graph.js');
  const { loadTemplates } = await import('../operations/spec.js');
  const templates = await loadTemplates();
  const critical = specs.map(([name, text]) => {
    const g = deriveGraph(parseSpec(text).spec, {
      accountId: '123456789012',
      images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0123456789abcdef1' },
      templates,
    });
    return { spec: name, resources: g.nodes.length, criticalPath: criticalPathLength(g.nodes) };
  });

  const lines: string[] = [];
  lines.push('| spec | mode | latency | stage | calls | mutating | on the wire | wall s | peak RSS MB | top actions |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    for (const s of r.stages)
      lines.push(
        `| ${r.spec} | ${r.mode} | ${r.latencyMs} ms | ${s.stage} | ${s.calls} | ${s.mutating} | ${s.wire} | ${s.seconds.toFixed(2)} | ${s.peakRssMb} | ${s.top.map(([k, v]) => `${k.split(':')[1]}×${v}`).join(', ')} |`,
      );
  lines.push('');
  // create and destroy side by side: moto as is and AWS-like, with what bounded each
  const side = (spec: string, stage: string) => {
    const moto = results.find((r) => r.spec === spec && r.mode === 'moto' && r.latencyMs === 0)?.stages.find((s) => s.stage === stage);
    const aws = results.find((r) => r.spec === spec && r.mode.startsWith('AWS-like'))?.stages.find((s) => s.stage === stage);
    return `| ${spec} | ${stage} | ${moto ? moto.seconds.toFixed(1) : '–'} | ${moto?.waited ?? '–'} | ${aws ? aws.seconds.toFixed(1) : '–'} | ${aws?.waited ?? '–'} |`;
  };
  lines.push('| spec | stage | moto as is, s | critical path (moto) | AWS-like, s | critical path (AWS-like) |');
  lines.push('|---|---|---|---|---|---|');
  for (const [name] of specs) for (const stage of ['create', 'destroy']) lines.push(side(name, stage));
  lines.push('');
  for (const c of critical) lines.push(`${c.spec}: ${c.resources} resources, critical path ${c.resources ? c.criticalPath : 0} nodes`);
  lines.push(`start-up (median): kubeaz --help ${start.help.toFixed(0)} ms, kubeaz validate ${start.validate.toFixed(0)} ms`);
  lines.push(
    `machine: ${process.platform} ${process.arch}, node ${process.version}, ${(await import('node:os')).cpus().length} cores; runs per cell: ${n}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  if (jsonFile) await writeFile(jsonFile, `${JSON.stringify({ results, critical, startup: start }, null, 2)}\n`);
}

await main();
