import type { CommonConfig, Db } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateStream, prng } from '../support/event-stream.ts';
import { ledgerCaughtUp, produceEvents } from '../support/processor-harness.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { eventually } from '../support/stack.ts';
import { faults } from './faults.config.ts';
import { chunksWithRetries, dayRange, expectedFor, withOneMore, withoutOne } from './support/known-stream.ts';
import { proxiedScenario, reportedTotals, rssBytes, startProcessor, type ProxiedScenario } from './support/pipeline.ts';
import { flatten, recordScenario, tally } from './support/summary.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

/**
 * Processor killed: SIGKILL at chosen moments while a stream (with producer-retry duplicates)
 * flows in: right after a rollup insert was applied but before the processor saw its answer
 * (so before its offset commit), right before an insert reaches ClickHouse, and at random
 * times. The processor talks to ClickHouse through a proxy that spots the insert requests.
 */
const TIME_ZONES = { 'kill-ny': 'America/New_York', 'kill-berlin': 'Europe/Berlin', 'kill-tokyo': 'Asia/Tokyo' };
const START = Date.UTC(2024, 1, 1);
const SPAN = 3 * 86_400_000;
let current: (ServiceProcess & { port: number }) | null = null;
let scenario: ProxiedScenario;
let config: CommonConfig;
let db: Db;
let producer: Producer;
let admin: Admin;
let proxy: TcpProxy;
let reporter: FastifyInstance;

beforeAll(async () => {
  scenario = await proxiedScenario('flt-prockill', TIME_ZONES);
  ({ config, db, producer, admin, proxy, reporter } = scenario);
}, 120_000);

afterAll(async () => {
  current?.child.kill('SIGKILL');
  await scenario?.close();
}, 120_000);

type Moment = 'after-insert' | 'before-insert' | 'random';
const MOMENTS: Moment[] = ['after-insert', 'before-insert', 'random'];

it(`keeps totals exact across ${faults.processorKills} SIGKILLs in a ${faults.processorEvents}-event run`, async () => {
  const seed = Date.now() % 2 ** 31;
  const random = prng(seed);
  const events = generateStream(random, Object.keys(TIME_ZONES), faults.processorEvents, START, SPAN);
  const { chunks, duplicates } = chunksWithRetries(
    events,
    Math.max(500, Math.floor(faults.processorEvents / 60)),
    random,
  );
  // Full mode keeps the production session timeout: with a large backlog a batch can take longer than the short one.
  const env = {
    CLICKHOUSE_URL: proxy.url,
    PROCESSOR_GROUP_ID: `faults-kill-${seed}`,
    ...(faults.mode === 'full' ? { KAFKA_SESSION_TIMEOUT_MS: '30000' } : {}),
  };

  const production = (async () => {
    for (const chunk of chunks) {
      await produceEvents(producer, config.kafka.topicPrefix, chunk);
      await new Promise((r) => setTimeout(r, 150));
    }
  })();

  const kills: Array<{ moment: Moment; at: 'hook' | 'timer'; afterMs: number }> = [];
  let maxRss = 0;
  for (let k = 0; k < faults.processorKills; k++) {
    const moment = MOMENTS[k % MOMENTS.length]!;
    current = await startProcessor(config, env);
    const child = current.child;
    const killed = new Promise<'hook' | 'timer'>((resolve) => {
      const kill = (at: 'hook' | 'timer') => {
        proxy.hooks = {};
        child.kill('SIGKILL');
        resolve(at);
        return true;
      };
      const timer = setTimeout(
        () => kill('timer'),
        moment === 'random' ? 500 + random() * 4000 : faults.mode === 'full' ? 60_000 : 20_000,
      );
      const viaHook = () => {
        clearTimeout(timer);
        return kill('hook');
      };
      proxy.hooks = {
        watch: 'rollup_ingest',
        ...(moment === 'after-insert'
          ? { onWatchedResponse: viaHook }
          : moment === 'before-insert'
            ? { onWatchedRequest: viaHook }
            : {}),
      };
    });
    const started = Date.now();
    const sampler = setInterval(
      () => (maxRss = Math.max(maxRss, child.exitCode === null ? safeRss(child.pid!) : 0)),
      250,
    );
    kills.push({ moment, at: await killed, afterMs: Date.now() - started });
    clearInterval(sampler);
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  }
  await production;

  current = await startProcessor(config, env);
  const last = current;
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID),
    Boolean,
    faults.mode === 'full' ? 900_000 : 180_000,
    'ledger caught up after the last restart',
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nlast processor output:\n${last.output().slice(-8000)}`);
  });
  // The ledger view may be applied a moment before the rollup views of the same insert.
  await new Promise((r) => setTimeout(r, 1500));

  const { from, to } = dayRange(START, SPAN);
  const counted = flatten(await reportedTotals(reporter, Object.keys(TIME_ZONES), from, to));
  const t = tally(expectedFor(events, TIME_ZONES), counted);
  console.info(
    `processor kills: seed ${seed}, ${events.length} events + ${duplicates} retried duplicates, kills ${JSON.stringify(kills)}, max RSS ${Math.round(maxRss / 2 ** 20)} MB`,
  );
  expect(kills.filter((k) => k.at === 'hook').length).toBeGreaterThan(0);
  expect(t).toMatchObject({ lost: 0, duplicated: 0 });
  // Negative control: against the stream with one event removed, or one added, the same check fails.
  expect(tally(expectedFor(withoutOne(events), TIME_ZONES), counted)).toMatchObject({ lost: 0, duplicated: 1 });
  expect(tally(expectedFor(withOneMore(events), TIME_ZONES), counted)).toMatchObject({ lost: 1, duplicated: 0 });

  await current.stop();
  current = null;
  // Engagement events add to engaged_ms, not to a count: the table shows counted page views + events.
  const countable = (totals: Record<string, number>) =>
    Object.entries(totals)
      .filter(([k]) => !k.endsWith('engaged_ms'))
      .reduce((n, [, v]) => n + v, 0);
  const hooked = kills.filter((k) => k.at === 'hook');
  recordScenario({
    scenario: 'processor killed',
    sent: events.length + duplicates,
    accepted: countable(expectedFor(events, TIME_ZONES)),
    counted: countable(counted),
    lost: t.lost,
    duplicated: t.duplicated,
    notes: `${kills.length} × SIGKILL (${hooked.filter((k) => k.moment === 'after-insert').length} after an insert before its commit, ${hooked.filter((k) => k.moment === 'before-insert').length} before an insert, rest random); ${duplicates} retried duplicates; ${events.length} envelopes incl. engagement`,
  });
}, 3_600_000);

function safeRss(pid: number): number {
  try {
    return rssBytes(pid);
  } catch {
    return 0;
  }
}
