/**
 * The one moto fixture of the end-to-end tests: `useMoto()` at the top of a test file (or of its
 * one describe block) starts one moto_server on a free loopback port before the first test and
 * stops it after the last.
 * Every describe block of the file shares it; a block that needs an empty AWS of its own calls
 * `moto.reset()` in its beforeAll (the blocks of a file run one after another).
 *
 *   const moto = useMoto();                        // the CLI gets moto.env
 *   const moto = useMoto({ processEnv: { … } });   // the test's own SDK clients talk to moto too
 */
import { afterAll, beforeAll } from 'vitest';
import { motoEnv, startMoto, type Moto } from '../../src/devtools/moto.js';

export interface MotoFixture {
  /** http://127.0.0.1:<port> (read it in a hook or a test: the server starts in beforeAll) */
  readonly url: string;
  readonly port: number;
  /** AWS_ENDPOINT_URL and dummy credentials: the environment to run the CLI with */
  readonly env: Record<string, string>;
  /** back to an empty moto */
  reset(): Promise<void>;
}

export interface MotoOptions {
  /**
   * Also point this process's SDK clients at moto (AWS_ENDPOINT_URL and credentials in
   * process.env, AWS_PROFILE removed), with these extra variables (KUBEAZ_POLL_SECONDS, …).
   */
  processEnv?: true | Record<string, string>;
}

let used = false;

export function useMoto(opts: MotoOptions = {}): MotoFixture {
  // vitest loads a test file's modules afresh per file: a second call is a second server in one file
  if (used) throw new Error('useMoto(): one moto per test file — call it once, at the top of the file, and reset() between blocks');
  used = true;
  let moto: Moto | undefined;
  const started = (): Moto => {
    if (!moto) throw new Error('useMoto(): moto is not started yet (read url/env inside a hook or a test)');
    return moto;
  };
  beforeAll(async () => {
    moto = await startMoto();
    if (opts.processEnv) {
      Object.assign(process.env, motoEnv(moto.url), opts.processEnv === true ? {} : opts.processEnv);
      delete process.env.AWS_PROFILE;
    }
  });
  afterAll(async () => {
    await moto?.stop();
  });
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get env() {
      return motoEnv(started().url);
    },
    reset: () => started().reset(),
  };
}
