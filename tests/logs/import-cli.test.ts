// `confidant logs import` as a user runs it: a child process fed on stdin, judged by exit code and what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { EventsSpooledError, loadCollectorConfig, runLogImport } from '@confidant/collector/components';
import {
  connectKafka,
  createLogger,
  PracticeStore,
  topicsFor,
  type CommonConfig,
  type Db,
  type ControlDb,
} from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processor-harness.ts';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const line = (n: number, path: string, status = 200) =>
  `203.0.113.${n % 250} - - [10/Mar/2026:13:55:${String(n % 60).padStart(2, '0')} +0100] "GET ${path} HTTP/1.1" ${status} 512 "-" "${FIREFOX}"`;
/** 300 lines: 220 page views, 40 assets, 20 not-found pages, 20 malformed. */
const LOG = Array.from({ length: 300 }, (_, n) => {
  if (n % 15 === 14) return `garbage line ${n}`;
  if (n % 6 === 5) return line(n, `/img/${n}.png`);
  if (n % 10 === 3) return line(n, `/gone-${n}`, 404);
  return line(n, `/page-${n % 7}`);
}).join('\n');

let common: CommonConfig;
let saltDb: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let dir: string;

type Run = { code: number | null; stdout: string; stderr: string };

async function confidant(
  args: string[],
  stdin: Buffer | string,
  logLevel = 'info',
  whenStarted?: (child: ChildProcess, stderr: () => string) => void,
): Promise<Run> {
  // As `npm run confidant` runs it: one node process (a tsx parent would SIGKILL a child busy for 30 ms after Ctrl-C).
  const child = spawn(process.execPath, ['--import', 'tsx', 'admin/src/confidant.ts', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      CLICKHOUSE_DATABASE: common.clickhouse.database,
      POSTGRES_URL: common.controlPlane.url,
      KAFKA_TOPIC_PREFIX: common.kafka.topicPrefix,
      SPOOL_DIR: join(dir, 'spool', 'collector'),
      LOG_LEVEL: logLevel,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin);
  whenStarted?.(child, () => stderr);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

beforeAll(async () => {
  common = isolatedConfig('logcli');
  ({ salts: saltDb, control, cleanup } = await prepareNamespace(common));
  await new PracticeStore(control).save({
    id: 'cli-clinic',
    siteKey: 'site-cli',
    name: 'CLI Clinic',
    domains: ['cli.example'],
    timezone: 'Europe/Berlin',
  });
  dir = await mkdtemp(join(tmpdir(), 'confidant-logcli-'));
});

afterAll(async () => {
  await cleanup?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('confidant logs import', () => {
  it('imports a gzip log from standard input, prints only the summary on stdout, and counts nothing twice when run again', async () => {
    // At debug level the service log has something to say; none of it may land among the summary lines.
    const first = await confidant(
      ['logs', 'import', '-', '--practice', 'cli-clinic', '--format', 'combined'],
      gzipSync(LOG),
      'debug',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^import [0-9a-f]{16}: 300 lines read in [\d.]+ s \(\d+ lines\/s\)$/),
      '  page views produced: 220, not-found pages: 20',
      '  already imported earlier: 0',
      '  skipped: asset 40',
      expect.stringMatching(/^ {2}malformed: 20 \(layout 20; lines 15, 30, 45, /),
      '  lines committed: 300',
    ]);
    // Our producers bound their retries on purpose: kafkajs's warning about it is logged at debug (20), on stderr.
    const bounded = first.stderr.split('\n').filter((l) => l.includes('Limiting retries'));
    expect(bounded.map((l) => (JSON.parse(l) as { level: number }).level)).toEqual([20]);

    // The hits are from March 2026: that day's salt was drawn for this import only and never stored.
    const salts = await saltDb.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'collector_salt_%'`,
    );
    expect(salts.map((t) => t.name)).not.toContain('collector_salt_d20260310');

    const again = await confidant(
      ['logs', 'import', '-', '--practice', 'cli-clinic', '--format', 'combined'],
      gzipSync(LOG),
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('page views produced: 0, not-found pages: 0');
    expect(again.stdout).toContain('already imported earlier: 300');
  });

  it('refuses another log that starts alike, and imports it under a name given with --import-id', async () => {
    const start = line(7, '/intro-page-with-a-long-name');
    const logA = [start, line(8, '/a'), line(9, '/b')].join('\n');
    const logB = [start, line(8, '/other-page'), line(9, '/more-pages')].join('\n');
    expect((await confidant(['logs', 'import', '-', '--practice', 'cli-clinic'], logA)).code).toBe(0);
    const refused = await confidant(['logs', 'import', '-', '--practice', 'cli-clinic'], logB);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--import-id NAME');
    const named = await confidant(
      ['logs', 'import', '-', '--practice', 'cli-clinic', '--import-id', 'host-b.2026-03'],
      logB,
    );
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toContain('page views produced: 3, not-found pages: 0');
    const again = await confidant(
      ['logs', 'import', '-', '--practice', 'cli-clinic', '--import-id', 'host-b.2026-03'],
      logB,
    );
    expect(again.stdout).toContain('already imported earlier: 3');
    expect(
      (await confidant(['logs', 'import', '-', '--practice', 'cli-clinic', '--import-id', 'no spaces'], logB)).code,
    ).toBe(2);
  });

  it('exits 3 for an unknown practice and 2 for the caller’s other mistakes, with a clear message, never a stack trace', async () => {
    const unknown = await confidant(['logs', 'import', '-', '--practice', 'no-such-clinic'], line(1, '/'));
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('log import failed: no practice with id no-such-clinic');
    const format = await confidant(
      ['logs', 'import', '-', '--practice', 'cli-clinic', '--format', 'xml'],
      line(1, '/'),
    );
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/unknown --format xml/);
    const noPractice = await confidant(['logs', 'import', '-'], line(1, '/'));
    expect(noPractice.code).toBe(2);
    expect(noPractice.stderr).toContain("required option '--practice <id>' not specified");
    const giveUp = await confidant(['logs', 'import', '-', '--practice', 'cli-clinic', '--give-up-after', '0'], '');
    expect(giveUp.code).toBe(2);
    expect(giveUp.stderr).toContain('--give-up-after: whole seconds, at least 1');
    expect(`${unknown.stderr}${format.stderr}${noPractice.stderr}${giveUp.stderr}`).not.toMatch(/\n\s+at /);
  });

  it('stops on Ctrl-C with what it read committed (exit 130), and the same command resumes after it', async () => {
    const total = 150_000;
    const file = join(dir, 'big.log');
    await writeFile(file, Array.from({ length: total }, (_, n) => `${line(n, `/big-${n % 97}`)}\n`).join(''));
    const args = ['logs', 'import', file, '--practice', 'cli-clinic', '--format', 'combined'];
    const stopped = await confidant(args, '', 'debug', (child, stderr) => {
      // Interrupt once the first batch went through, long before the 150,000 lines are read.
      const timer = setInterval(() => {
        if (stderr().includes('"msg":"import progress"')) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 20);
      child.on('close', () => clearInterval(timer));
    });
    expect(stopped.code, stopped.stderr.slice(-500)).toBe(130);
    const committed = Number(/lines committed: (\d+)/.exec(stopped.stdout)?.[1]);
    const read = Number(/: (\d+) lines read/.exec(stopped.stdout)?.[1]);
    const first = Number(/page views produced: (\d+)/.exec(stopped.stdout)?.[1]);
    expect(committed, `${stopped.stdout}\n${stopped.stderr.slice(-1500)}`).toBeGreaterThan(0);
    expect(committed).toBeLessThan(total);
    expect(read).toBe(committed);
    expect(stopped.stdout).toContain(`interrupted: run the same command again to resume after line ${committed}`);

    const resumed = await confidant(args, '');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`already imported earlier: ${committed}`);
    const second = Number(/page views produced: (\d+)/.exec(resumed.stdout)?.[1]);
    expect(first + second).toBe(total);
  });

  it('fails visibly while Kafka is unreachable, keeps the events, and the next import delivers them', async () => {
    const quiet = new Writable({ write: (_c, _e, done) => done() });
    const base = {
      ...loadCollectorConfig({}),
      ...common,
      spool: { dir: join(dir, 'spool', 'outage'), maxBytes: 10_000_000, replayMs: 200 },
    };
    const down = {
      ...base,
      kafka: { ...common.kafka, brokers: [`127.0.0.1:${await freePort()}`] },
      producer: { ...base.producer, timeoutMs: 500 },
    };
    const file = join(dir, 'outage.log');
    await writeFile(file, `${LOG.replace(/\/page-/g, '/outage-page-')}\n`);
    await expect(
      runLogImport({
        file,
        practiceId: 'cli-clinic',
        format: 'combined',
        config: down,
        progress: false,
        output: quiet,
      }),
    ).rejects.toBeInstanceOf(EventsSpooledError);

    const admin = connectKafka(common.kafka, createLogger('test', 'silent')).admin();
    await admin.connect();
    const messages = async () =>
      (await admin.fetchTopicOffsets(topicsFor(common.kafka.topicPrefix).eventBatches.name)).reduce(
        (n, p) => n + Number(p.high),
        0,
      );
    try {
      const before = await messages();
      // Kafka is back: the same file is already committed, and starting the import sends what waited.
      const again = await runLogImport({
        file,
        practiceId: 'cli-clinic',
        format: 'combined',
        config: base,
        progress: false,
        output: quiet,
      });
      expect(again).toMatchObject({ alreadyImported: 300, pageviews: 0 });
      expect(await messages()).toBeGreaterThan(before);
    } finally {
      await admin.disconnect();
    }
  });

  it('draws a progress bar with bytes, lines, lines/s and ETA on a terminal', async () => {
    const file = join(dir, 'bar.log');
    await writeFile(file, `${LOG.replace(/\/page-/g, '/bar-page-')}\n`);
    let drawn = '';
    // cli-progress draws only on a TTY; this stands in for one.
    const terminal = Object.assign(
      new Writable({
        write(chunk, _e, done) {
          drawn += String(chunk);
          done();
        },
      }),
      {
        isTTY: true,
        columns: 160,
        cursorTo: () => true,
        clearLine: () => true,
        moveCursor: () => true,
        clearScreenDown: () => true,
      },
    ) as unknown as NodeJS.WriteStream;
    const config = {
      ...loadCollectorConfig({}),
      ...common,
      spool: { dir: join(dir, 'spool', 'bar'), maxBytes: 10_000_000, replayMs: 200 },
    };
    const summary = await runLogImport({
      file,
      practiceId: 'cli-clinic',
      format: 'combined',
      config,
      progressStream: terminal,
      output: new Writable({ write: (_c, _e, done) => done() }),
    });
    expect(summary.pageviews).toBe(220);
    expect(drawn).toMatch(/100% \| 0\.0 MiB\/0\.0 MiB \| 300 lines \| \d+ lines\/s \| ETA \d+s/);
  });
});
