import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { connectControlDb, loadCommonConfig, PracticeStore } from '@confidant/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/processor-harness.ts';
import { eventually } from '../support/stack.ts';
import { portOpen } from '../support/port-open.ts';

/**
 * `npm start` (infra/stack/start.sh) on a PRIVATE engine instance (own data dir and ports, so the
 * shared engines stay untouched) must stop the services and then the engines on every exit path:
 * Ctrl-C with the output `| tee` already gone, a closed terminal (SIGHUP) and SIGTERM. The demo is
 * off (STACK_DEMO=0): it writes to the shared .data/demo, and run-stack's switch leaves
 * start.sh, and so the traps under test, unchanged.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Each case gets an instance of its own (data dir and ports): a case must not meet what the last one left stopping.
let dir = '';
const dirs: string[] = [];
type Status = { services: Record<string, { state: string; pid: number | null }>; failing?: string[] };

/** Alive and not a zombie (the engines are not our children, so nobody here reaps them). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
/** Processes whose command line names the private engines' config files. */
const enginesOfDir = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && running(Number(p)))
    .filter((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return ['kafka', 'clickhouse', 'postgres'].some((engine) => cmdline.includes(`${dir}/${engine}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
const sharedEnginePids = () =>
  ['kafka', 'clickhouse', 'postgres'].flatMap((name) => {
    const file = `${ROOT}.data/run/${name}.pid`;
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : NaN;
    return Number.isInteger(pid) && running(pid) ? [pid] : [];
  });

let ports: Record<string, number>;
let env: NodeJS.ProcessEnv;
let sharedBefore: number[];
const stray: ChildProcess[] = [];

async function freshInstance(): Promise<void> {
  dir = mkdtempSync(`${tmpdir()}/confidant-exit-paths-`);
  dirs.push(dir);
  const names = [
    'KAFKA_PORT',
    'KAFKA_CONTROLLER_PORT',
    'CLICKHOUSE_HTTP_PORT',
    'CLICKHOUSE_TCP_PORT',
    'POSTGRES_PORT',
    'COLLECTOR_PORT',
    'REPORTER_PORT',
    'PROCESSOR_METRICS_PORT',
    'SAMPLE_SITE_PORT',
    'STACK_STATUS_PORT',
  ];
  ports = {};
  for (const name of names) ports[name] = await freePort();
  env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    CONFIDANT_DATA_DIR: dir,
    KAFKA_BROKERS: `127.0.0.1:${ports.KAFKA_PORT}`,
    CLICKHOUSE_URL: `http://127.0.0.1:${ports.CLICKHOUSE_HTTP_PORT}`,
    POSTGRES_URL: `postgres://confidant:confidant@127.0.0.1:${ports.POSTGRES_PORT}/confidant`,
    CLICKHOUSE_DATABASE: 'confidant',
    KAFKA_TOPIC_PREFIX: 'confidant',
    STACK_DEMO: '0',
  };
}

beforeAll(() => {
  sharedBefore = sharedEnginePids();
});
beforeEach(freshInstance);

afterAll(async () => {
  // Only if a case failed half-way: stop whatever of the private instance is left.
  for (const child of stray) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const d of dirs) {
    await new Promise<void>((resolve) =>
      spawn('bash', ['infra/down'], { cwd: ROOT, env: { ...env, CONFIDANT_DATA_DIR: d }, stdio: 'ignore' }).on(
        'exit',
        () => resolve(),
      ),
    );
    rmSync(d, { recursive: true, force: true });
  }
}, 120_000);

/** Starts start.sh in its own process group with its output into `tee` (killable) or a file; resolves once the stack status is 200. */
async function startStack(output: 'tee' | 'file') {
  const outFile = `${dir}/start-${Date.now()}.log`;
  const tee = output === 'tee' ? spawn('tee', [outFile], { stdio: ['pipe', 'ignore', 'ignore'] }) : null;
  const out = tee ? tee.stdin! : openSync(outFile, 'a');
  const script = spawn('bash', ['infra/stack/start.sh'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  stray.push(script, ...(tee ? [tee] : []));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    script.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const output_ = () => (existsSync(outFile) ? readFileSync(outFile, 'utf8') : '');
  const status = async () => {
    const res = await fetch(`http://127.0.0.1:${ports.STACK_STATUS_PORT}/readyz`);
    return { code: res.status, body: (await res.json()) as Status };
  };
  let ended = false;
  void exited.then(() => (ended = true));
  const ready = await eventually(
    async () => (ended ? { code: -1, body: { services: {} } } : status()),
    (s) => s.code === 200 || ended,
    180_000,
    'the stack status to answer 200',
  );
  if (ready.code !== 200) throw new Error(`start.sh ended before the stack was up:\n${output_()}`);
  const enginePids = enginesOfDir();
  expect(enginePids.length).toBeGreaterThanOrEqual(2); // Kafka and ClickHouse
  const servicePids = Object.values(ready.body.services).map((s) => s.pid!);
  return { script, tee, exited, output: output_, status, enginePids, servicePids };
}

/** Everything of the private instance is gone: engine and service processes, pid files, ports. */
async function expectAllStopped(stack: Awaited<ReturnType<typeof startStack>>) {
  expect(enginesOfDir()).toEqual([]);
  expect([...stack.enginePids, ...stack.servicePids].filter(running)).toEqual([]);
  expect(['kafka.pid', 'clickhouse.pid', 'postgres.pid'].filter((f) => existsSync(`${dir}/run/${f}`))).toEqual([]);
  const open = [];
  for (const [name, port] of Object.entries(ports)) if (await portOpen(port)) open.push(name);
  expect(open).toEqual([]);
  // The developer's engines on the default ports were never touched.
  expect(sharedBefore.filter((pid) => !running(pid))).toEqual([]);
}

describe.skipIf(process.env.TEST_ENGINES === 'testcontainers')(
  'npm start stops services and engines on every exit path',
  () => {
    it('Ctrl-C (SIGINT to the process group) after the `| tee` reading its output was killed', async () => {
      const stack = await startStack('tee');
      // The pipe's reader goes first, as when Ctrl-C reaches `tee` before the script: every later write gets EPIPE.
      stack.tee!.kill('SIGKILL');
      await new Promise((r) => stack.tee!.once('exit', r));
      stack.tee!.stdin!.destroy();
      process.kill(-stack.script.pid!, 'SIGINT');
      expect(await stack.exited).toEqual({ code: 130, signal: null });
      await expectAllStopped(stack);
    }, 300_000);

    it('Ctrl-C while infra/up is still waiting for Kafka', async () => {
      const script = spawn('bash', ['infra/stack/start.sh'], { cwd: ROOT, env, detached: true, stdio: 'ignore' });
      stray.push(script);
      const exited = new Promise<number | null>((resolve) => script.on('exit', (code) => resolve(code)));
      await eventually(
        async () => existsSync(`${dir}/run/kafka.pid`) || script.exitCode !== null,
        Boolean,
        120_000,
        'Kafka to be spawned',
      );
      process.kill(-script.pid!, 'SIGINT');
      expect(await exited).toBe(130);
      expect(enginesOfDir()).toEqual([]);
      expect(await portOpen(ports.CLICKHOUSE_HTTP_PORT!)).toBe(false);
    }, 300_000);

    it('a closed terminal (SIGHUP to the process group, output gone)', async () => {
      const stack = await startStack('tee');
      stack.tee!.kill('SIGKILL');
      await new Promise((r) => stack.tee!.once('exit', r));
      stack.tee!.stdin!.destroy();
      process.kill(-stack.script.pid!, 'SIGHUP');
      expect(await stack.exited).toEqual({ code: 129, signal: null });
      await expectAllStopped(stack);
    }, 300_000);

    it('SIGTERM to the script alone; before that, a killed processor is restarted on its own while the collector keeps accepting', async () => {
      const stack = await startStack('file');
      const { services } = (await stack.status()).body;

      // A practice for the beacon below (the collector's registry picks it up within seconds).
      const control = connectControlDb(loadCommonConfig('exit-paths-test', env).controlPlane);
      await new PracticeStore(control).save({
        id: 'stack-exit',
        siteKey: 'site-stack-exit',
        name: 'Stack Exit',
        domains: ['stack-exit.example'],
        timezone: 'UTC',
      });
      await control.close();

      process.kill(services.processor!.pid!, 'SIGKILL');
      const down = await eventually(
        () => stack.status(),
        (s) => s.code === 503,
        30_000,
        'the stack status to report the killed processor',
      );
      expect(down.body.failing).toEqual(['processor']);
      // With the processor down the collector is still ready and accepts (Kafka buffers the events).
      expect((await fetch(`http://127.0.0.1:${ports.COLLECTOR_PORT}/readyz`)).status).toBe(200);
      const beacon = await eventually(
        () =>
          fetch(`http://127.0.0.1:${ports.COLLECTOR_PORT}/e`, {
            method: 'POST',
            headers: {
              'content-type': 'text/plain',
              'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
            },
            body: JSON.stringify({ site: 'site-stack-exit', type: 'pageview', url: 'https://stack-exit.example/' }),
          }).then((r) => r.status),
        (code) => code === 202,
        30_000,
        'the collector to accept a beacon',
      );
      expect(beacon).toBe(202);
      expect(stack.output()).toMatch(
        /\[stack\] processor exited \(signal SIGKILL\), failure 1 in a row; next retry in 1 s\. Log: .*processor\.log/,
      );

      const back = await eventually(
        () => stack.status(),
        (s) => s.code === 200,
        120_000,
        'the processor to be restarted',
      );
      expect(back.body.services.processor!.pid).not.toBe(services.processor!.pid);
      for (const name of ['collector', 'reporter', 'sample-site'])
        expect(back.body.services[name]!.pid).toBe(services[name]!.pid);
      stack.servicePids.push(back.body.services.processor!.pid!);

      process.kill(stack.script.pid!, 'SIGTERM');
      expect(await stack.exited).toEqual({ code: 143, signal: null });
      expect(stack.output()).toMatch(/SIGTERM: stopping services[\s\S]*stopping engines[\s\S]*kafka stopped/);
      await expectAllStopped(stack);
    }, 300_000);
  },
);
