import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processor-harness.ts';
import { eventually } from '../support/stack.ts';
import { portOpen } from '../support/port-open.ts';

/**
 * `npm test` (infra/stack/test.sh) stops the engines it started, and only those, on Ctrl-C with its
 * `| tee` gone, SIGHUP and SIGTERM. The script runs from a scratch root whose infra/ is symlinks to
 * the real scripts (so its engines, state and test-output/ are private) and with an `npx` stub that
 * blocks, so the signal arrives during the first test step, once the engines are up.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(`${tmpdir()}/confidant-test-sh-`);
const reached = `${root}/step-reached`;
let env: NodeJS.ProcessEnv;
let ports: Record<string, number>;

const engine = (name: 'kafka' | 'clickhouse' | 'postgres', action: 'start' | 'stop') =>
  execFileSync('bash', [`infra/${name}/${action}.sh`], { cwd: root, env, stdio: 'ignore', timeout: 180_000 });
/** A live process of the scratch root's engine (its command line names the engine's config under .data/). */
const engineProcess = (name: string) =>
  readdirSync('/proc').some((p) => {
    try {
      return (
        /^\d+$/.test(p) &&
        !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8')) &&
        readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${root}/.data/${name}/`)
      );
    } catch {
      return false;
    }
  });
/** Per engine: its process exists or its port answers. */
const up = async () => ({
  kafka: engineProcess('kafka') || (await portOpen(ports.KAFKA_PORT!)),
  clickhouse: engineProcess('clickhouse') || (await portOpen(ports.CLICKHOUSE_HTTP_PORT!)),
  postgres: engineProcess('postgres') || (await portOpen(ports.POSTGRES_PORT!)),
});

beforeAll(async () => {
  execFileSync('cp', ['-rs', `${ROOT}infra`, `${root}/infra`]);
  writeFileSync(`${root}/package-lock.json`, readFileSync(`${ROOT}package-lock.json`));
  mkdirSync(`${root}/node_modules`);
  // Matches the lockfile, so ensure_node_deps does not run npm ci in the scratch root.
  writeFileSync(
    `${root}/node_modules/.confidant-lock-hash`,
    `${createHash('sha256')
      .update(readFileSync(`${ROOT}package-lock.json`))
      .digest('hex')}\n`,
  );
  mkdirSync(`${root}/.data`);
  symlinkSync(`${ROOT}.data/cache`, `${root}/.data/cache`); // the Kafka jars
  mkdirSync(`${root}/bin`);
  writeFileSync(`${root}/bin/npx`, `#!/bin/sh\ntouch '${reached}'\nexec sleep 600\n`);
  chmodSync(`${root}/bin/npx`, 0o755);
  ports = {};
  for (const name of [
    'KAFKA_PORT',
    'KAFKA_CONTROLLER_PORT',
    'CLICKHOUSE_HTTP_PORT',
    'CLICKHOUSE_TCP_PORT',
    'POSTGRES_PORT',
  ])
    ports[name] = await freePort();
  const {
    KAFKA_BROKERS: _k,
    CLICKHOUSE_URL: _c,
    POSTGRES_URL: _p,
    TEST_ENGINES: _t,
    CONFIDANT_DATA_DIR: _d,
    ...rest
  } = process.env;
  env = {
    ...rest,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    PATH: `${root}/bin:${process.env.PATH}`,
  };
}, 60_000);

afterAll(() => {
  for (const name of ['kafka', 'clickhouse', 'postgres'] as const) engine(name, 'stop');
  rmSync(root, { recursive: true, force: true });
}, 120_000);

/**
 * Runs test.sh in its own process group, output through a `tee` that is killed first when `teeKilled`;
 * signals once the first step runs, or with `duringUp` as soon as Kafka's process exists (`infra/up` still waiting for it).
 */
async function interrupt(signal: NodeJS.Signals, teeKilled: boolean, duringUp = false) {
  rmSync(reached, { force: true });
  const kafkaPidFile = `${root}/.data/run/kafka.pid`;
  const tee = spawn('tee', [`${root}/out-${signal}.log`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const script = spawn('bash', ['infra/stack/test.sh'], {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', tee.stdin!, tee.stdin!],
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    script.on('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  const signalNow = () => (duringUp ? existsSync(kafkaPidFile) : existsSync(reached));
  await eventually(
    async () => signalNow() || script.exitCode !== null,
    Boolean,
    180_000,
    duringUp ? 'Kafka to be spawned' : 'test.sh to reach its first step',
  );
  const stepReached = existsSync(reached);
  const during = await up();
  if (teeKilled) {
    tee.kill('SIGKILL');
    await new Promise((r) => tee.once('exit', r));
  }
  tee.stdin!.destroy();
  process.kill(-script.pid!, signal);
  const result = await exited;
  if (!teeKilled) tee.kill();
  return { during, stepReached, result, after: await up() };
}

describe.skipIf(process.env.TEST_ENGINES === 'testcontainers')(
  'npm test stops the engines it started on every exit path',
  () => {
    it('Ctrl-C with the `| tee` gone stops the engine it started and leaves the one that was already running', async () => {
      engine('clickhouse', 'start');
      try {
        const { during, result, after } = await interrupt('SIGINT', true);
        expect(during).toEqual({ kafka: true, clickhouse: true, postgres: true });
        expect(after).toEqual({ kafka: false, clickhouse: true, postgres: false });
        expect(result).toEqual({ code: 130, signal: null });
      } finally {
        engine('clickhouse', 'stop');
      }
    }, 300_000);

    it('a closed terminal (SIGHUP to the process group, output gone)', async () => {
      const { during, result, after } = await interrupt('SIGHUP', true);
      expect(during).toEqual({ kafka: true, clickhouse: true, postgres: true });
      expect(after).toEqual({ kafka: false, clickhouse: false, postgres: false });
      expect(result).toEqual({ code: 129, signal: null });
    }, 300_000);

    it('Ctrl-C while infra/up is still waiting for Kafka', async () => {
      const { stepReached, result, after } = await interrupt('SIGINT', false, true);
      expect(stepReached).toBe(false);
      expect(after).toEqual({ kafka: false, clickhouse: false, postgres: false });
      expect(result).toEqual({ code: 130, signal: null });
    }, 300_000);

    it('SIGTERM to the process group', async () => {
      const { during, result, after } = await interrupt('SIGTERM', false);
      expect(during).toEqual({ kafka: true, clickhouse: true, postgres: true });
      expect(after).toEqual({ kafka: false, clickhouse: false, postgres: false });
      expect(result).toEqual({ code: 143, signal: null });
    }, 300_000);
  },
);
