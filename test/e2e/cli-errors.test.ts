/**
 * Errors a user meets before any cluster exists (issue 9 #12), through the real CLI: an endpoint
 * that refuses or does not resolve, a profile that does not exist, the SDK's credential notice.
 * No emulator: every endpoint here is on 127.0.0.1 or a name that cannot resolve (.invalid).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { DEFAULT_RETRY } from '../../src/aws/retry.js';

let dir: string;
let file: string;
let closedPort: number;
const base = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_PROFILE: undefined };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-cli-errors-'));
  file = path.join(dir, 'cluster.yaml');
  await writeFile(file, await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8'));
  // a port that nothing listens on: bind one, note it, close it
  closedPort = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
});

describe('unreachable endpoints', () => {
  it('connection refused: gives up within seconds, names AWS_ENDPOINT_URL, never "Error: "', async () => {
    const endpoint = `http://127.0.0.1:${closedPort}`;
    const t0 = Date.now();
    const r = await kubeaz(['status', '-f', file], { ...base, AWS_ENDPOINT_URL: endpoint });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(1);
    // "within seconds" as a count, not a clock (a loaded CI machine takes seconds to start node):
    // the first call is given up after the unreachable budget of 3 attempts (DEFAULT_RETRY), whose
    // pauses are at most 500 ms each (unit: retry.test.ts), not after the 10 of a reachable endpoint
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: cannot reach ${endpoint.replace(/[.:/]/g, '\\$&')} \\(AWS_ENDPOINT_URL\\): the connection was refused \\(.*; sts:GetCallerIdentity, after ${DEFAULT_RETRY.unreachableAttempts} attempts\\)$`,
        'm',
      ),
    );
    expect(r.stderr).not.toMatch(/Error: /);
    expect(existsSync(path.join(dir, '.kubeaz'))).toBe(false);
    process.stdout.write(`[cli] connection refused: exit ${r.code} after ${seconds.toFixed(1)} s\n`);
  });

  it('a host name that does not resolve: gives up within seconds and names it', async () => {
    const r = await kubeaz(['status', '-f', file], { ...base, AWS_ENDPOINT_URL: 'http://kubeaz-test.invalid:4566' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /^error: cannot reach http:\/\/kubeaz-test\.invalid:4566 \(AWS_ENDPOINT_URL\): the host name does not resolve \(.*; sts:GetCallerIdentity, after 3 attempts\)$/m,
    );
  });
});

describe('profiles and credentials', () => {
  it('--profile nosuch says the profile does not exist (usage error, exit 2), and makes no call', async () => {
    const r = await kubeaz(['status', '-f', file, '--profile', 'nosuch'], {
      ...base,
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none2'),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}`,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^error: --profile nosuch: the AWS profile 'nosuch' does not exist \(looked in .*\); see 'kubeaz status --help'$/,
    );
  });

  it("AWS_PROFILE and static keys both set: the SDK's multi-line notice does not reach the user", async () => {
    await writeFile(path.join(dir, 'credentials'), '[p]\naws_access_key_id = a\naws_secret_access_key = b\n');
    await writeFile(path.join(dir, 'config'), '[profile p]\nregion = us-east-1\n');
    const r = await kubeaz(['status', '-f', file], {
      ...base,
      AWS_PROFILE: 'p',
      AWS_CONFIG_FILE: path.join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/Multiple credential sources|WARNING/);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^error: cannot reach/);
  });
});
