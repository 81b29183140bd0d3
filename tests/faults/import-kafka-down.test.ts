import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PracticeStore, type CommonConfig, type Db, type ControlDb } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceEnv } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig, testEnv } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import {
  reportedTotals,
  reporterFor,
  rssBytes,
  superviseProcessor,
  type SupervisedProcessor,
} from './support/pipeline.ts';
import { PrivateKafka } from './support/private-kafka.ts';
import { generateAccessLog } from './support/access-log.ts';
import { flatten, recordScenario, tally } from './support/summary.ts';

/**
 * Log import under a broker outage (issue #12, backpressure): `confidant logs import` runs as a child
 * process against a private broker that is really stopped mid-import and started again, with a spool
 * small enough to fill. The import waits (reading stops, memory stays bounded) instead of failing, and
 * ends with every page view counted once: day-by-day page views read through the reporter equal a truth
 * computed from the generator. With the broker kept down, `--give-up-after` ends the import with exit 1
 * and how to resume; the same command, once the broker is back, completes it exactly.
 */
const kafka = new PrivateKafka();
const OUTAGE_PRACTICE = 'outage-clinic';
const GIVE_UP_PRACTICE = 'give-up-clinic';
const DAY_MS = 86_400_000;
const RSS_LIMIT = 300 * 1024 * 1024;
/** Long enough to outlast the outage, so that only a defect (not the wait) can end the import. */
const GIVE_UP_MS = Math.max(120_000, 2 * faults.kafkaOutageMs);
let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let reporter: FastifyInstance;
let processor: SupervisedProcessor | null = null;
let dir: string;
const running = new Set<ChildProcess>();

type ImportRun = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  peakRss: number;
  ms: number;
};

/**
 * Runs `confidant logs import` (the CLI's entry point) as a child process, sampling its resident set
 * every 100 ms; `onLinesRead` sees each count of lines its debug log reports.
 */
function runImport(
  file: string,
  practice: string,
  args: string[],
  env: Record<string, string>,
  onLinesRead?: (lines: number, child: ChildProcess) => void,
): Promise<ImportRun> {
  const startedAt = Date.now();
  const logsImport = ['--import', 'tsx', 'admin/src/confidant.ts', 'logs', 'import'];
  const child = spawn(process.execPath, [...logsImport, file, '--practice', practice, '--no-progress', ...args], {
    cwd: faults.root,
    env: {
      PATH: process.env.PATH,
      ...namespaceEnv(config),
      SPOOL_DIR: join(dir, 'spool', 'collector'),
      SPOOL_MAX_BYTES: String(faults.importOutageSpoolBytes),
      LOG_IMPORT_GIVE_UP_MS: String(GIVE_UP_MS),
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let peakRss = 0;
  const sample = () => {
    try {
      if (child.pid) peakRss = Math.max(peakRss, rssBytes(child.pid));
    } catch {
      // Gone between the check and the read.
    }
  };
  const sampler = setInterval(sample, 100);
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    const text = c.toString();
    stderr += text;
    if (onLinesRead) for (const m of text.matchAll(/"linesRead":(\d+)/g)) onLinesRead(Number(m[1]), child);
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      running.delete(child);
      resolve({ code, signal, stdout, stderr, peakRss, ms: Date.now() - startedAt });
    }),
  );
}

const window = () => ({
  from: new Date(Date.now() - 8 * DAY_MS).toISOString().slice(0, 10),
  to: new Date(Date.now() + DAY_MS).toISOString().slice(0, 10),
});
const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);

/** The practice's day-by-day page views once they reach the truth's total (or the time is up), after a settle for late duplicates. */
async function countedFor(practice: string, truth: Record<string, number>): Promise<Record<string, number>> {
  const { from, to } = window();
  await eventually(
    async () => flatten(await reportedTotals(reporter, [practice], from, to)),
    (c) => total(c) >= total(truth),
    180_000,
    `every page view of ${practice} counted`,
  ).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 3000));
  return flatten(await reportedTotals(reporter, [practice], from, to));
}

const waits = (stderr: string, what: RegExp) =>
  stderr.split('\n').filter((l) => /waiting for/.test(l) && what.test(l)).length;
const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;

describe('Log import under a Kafka outage', () => {
  beforeAll(async () => {
    await kafka.start();
    const base = isolatedConfig('flt-imkafka');
    config = { ...base, kafka: { ...base.kafka, brokers: kafka.brokers } };
    ({ db, control, cleanup } = await prepareNamespace(config));
    const store = new PracticeStore(control);
    for (const id of [OUTAGE_PRACTICE, GIVE_UP_PRACTICE])
      await store.save({ id, siteKey: `site-${id}`, name: id, domains: [`${id}.example`], timezone: 'UTC' });
    reporter = await reporterFor(config, db, control);
    dir = await mkdtemp(join(tmpdir(), 'flt-imkafka-'));
    // Supervised: a processor whose consumer kafkajs gave up on during the outage exits by design and is restarted.
    processor = await superviseProcessor(config);
  }, 240_000);

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await processor?.stop();
    await reporter?.close();
    // The namespace's topics live on the private broker: up for the cleanup, stopped after it.
    await kafka.start().catch(() => undefined);
    await cleanup?.();
    await kafka.stop();
    if (dir && !testEnv.keepData) await rm(dir, { recursive: true, force: true });
  }, 240_000);

  it('waits through a broker outage with a full spool and counts every line once', async () => {
    const seed = Date.now() % 2 ** 31;
    const lines = faults.importOutageLines;
    const { text, truth } = generateAccessLog(OUTAGE_PRACTICE, lines, seed);
    const file = join(dir, 'outage.log');
    await writeFile(file, text);

    // The outage starts once a fifth of the log is read. The importer is frozen (SIGSTOP) while the broker
    // shuts down, so that however fast this machine imports, the broker is gone with most of the log unread.
    let outage: Promise<{ downMs: number; frozenAt: number }> | null = null;
    let restartAt = Infinity;
    let allReadAt = Infinity;
    // A produce timeout shorter than the outage: the producer turns to the spool instead of riding out a short
    // outage on kafkajs's own retries (with the default 30 s, a 12 s outage never reached the spool).
    const env = { LOG_PRODUCE_TIMEOUT_MS: '2000' };
    const importing = runImport(file, OUTAGE_PRACTICE, [], env, (read, child) => {
      if (read >= lines) allReadAt = Math.min(allReadAt, Date.now());
      if (outage || read < lines / 5) return;
      outage = (async () => {
        child.kill('SIGSTOP');
        const stoppedAt = Date.now();
        try {
          await kafka.stop();
        } finally {
          child.kill('SIGCONT');
        }
        await new Promise((r) => setTimeout(r, Math.max(0, faults.kafkaOutageMs - (Date.now() - stoppedAt))));
        restartAt = Date.now();
        await kafka.start();
        return { downMs: Date.now() - stoppedAt, frozenAt: read };
      })();
    });
    const run = await importing;
    const log = `${run.stdout}\n${run.stderr.slice(-8000)}`;
    expect(outage, 'the import ended before the outage began').not.toBeNull();
    const { downMs, frozenAt } = await outage!;

    // Before the fix: "spool is full", exit 1. Now it waited, the reader paused, and finished.
    expect(run.code, log).toBe(0);
    expect(run.stdout).toContain(`lines committed: ${lines}`);
    const spoolWaits = waits(run.stderr, /spool is full/);
    expect(spoolWaits, 'the spool never filled: the outage did not exercise backpressure').toBeGreaterThan(0);
    // Backpressure: with the events in flight at their bound and the spool full, reading waited for the broker.
    expect(allReadAt, 'the whole log was read while the broker was down').toBeGreaterThan(restartAt);
    expect(run.peakRss).toBeGreaterThan(0);
    expect(run.peakRss).toBeLessThan(RSS_LIMIT);

    const final = await countedFor(OUTAGE_PRACTICE, truth);
    const t = tally(truth, final);
    recordScenario({
      scenario: 'import kafka down',
      sent: lines,
      accepted: t.expected,
      counted: t.counted,
      lost: t.lost,
      duplicated: t.duplicated,
      notes: `private broker stopped ${Math.round(downMs / 1000)} s from line ${frozenAt}; spool ${mb(faults.importOutageSpoolBytes)} filled (${spoolWaits} waits logged); import ${Math.round(run.ms / 1000)} s, exit ${run.code}, peak RSS ${mb(run.peakRss)}; seed ${seed}`,
    });
    expect(Object.keys(final).length).toBeGreaterThan(0);
    expect({ lost: t.lost, duplicated: t.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 600_000);

  it('gives up after --give-up-after with the broker down, says how to resume, and the same command completes it exactly', async () => {
    const seed = (Date.now() + 1) % 2 ** 31;
    const lines = faults.importOutageLines;
    const { text, truth } = generateAccessLog(GIVE_UP_PRACTICE, lines, seed);
    const file = join(dir, 'give-up.log');
    await writeFile(file, text);
    const args = ['--give-up-after', '5'];

    await kafka.stop();
    let first: ImportRun;
    try {
      first = await runImport(file, GIVE_UP_PRACTICE, args, {});
    } finally {
      await kafka.start();
    }
    expect(first.code, `${first.stdout}\n${first.stderr.slice(-8000)}`).toBe(1);
    // 5 s of waiting plus the producer's first connect attempt (LOG_PRODUCE_TIMEOUT_MS) and start-up.
    expect(first.ms).toBeLessThan(90_000);
    expect(first.stderr).toContain('run the same command again');
    expect(waits(first.stderr, /spool is full/), 'the spool never filled').toBeGreaterThan(0);
    const committedFirst = Number(/lines committed: (\d+)/.exec(first.stdout)?.[1] ?? NaN);
    expect(committedFirst).toBeLessThan(lines);

    const second = await runImport(file, GIVE_UP_PRACTICE, args, {});
    expect(second.code, `${second.stdout}\n${second.stderr.slice(-8000)}`).toBe(0);
    expect(second.stdout).toContain(`already imported earlier: ${committedFirst}`);
    expect(second.stdout).toContain(`lines committed: ${lines}`);

    const final = await countedFor(GIVE_UP_PRACTICE, truth);
    const t = tally(truth, final);
    recordScenario({
      scenario: 'import kafka down, give up',
      sent: lines,
      accepted: t.expected,
      counted: t.counted,
      lost: t.lost,
      duplicated: t.duplicated,
      notes: `broker down: --give-up-after 5 exited ${first.code} in ${Math.round(first.ms / 1000)} s with ${committedFirst} lines committed; same command with the broker back: exit ${second.code}; seed ${seed}`,
    });
    expect({ lost: t.lost, duplicated: t.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 600_000);

  it('the comparison catches one line lost and one counted twice (negative control)', () => {
    const truth = { 'p 2026-01-01 pageviews': 10, 'p 2026-01-02 pageviews': 5 };
    expect(tally(truth, { 'p 2026-01-01 pageviews': 9, 'p 2026-01-02 pageviews': 6 })).toMatchObject({
      lost: 1,
      duplicated: 1,
    });
  });
});
