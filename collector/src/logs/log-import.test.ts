import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { EVENT_BATCH_MAX_EVENTS, lineEventId, practiceSchema, type EventEnvelope } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import type { SaltKind, SaltSource } from '../deid/salt-store.ts';
import { RareValueGate } from '../deid/rare-value-gate.ts';
import { MemorySaltStore } from '../deid/salt-store.ts';
import { SpoolFullError } from '../kafka/disk-spool.ts';
import { InvalidRecordError } from '../kafka/event-producer.ts';
import { fileImportId, type ImportLedger, type ImportProgress } from './import-ledger.ts';
import { MAX_LINE_CHARS } from './line-reader.ts';
import {
  ChunkGapError,
  ImportFailedError,
  ImportMismatchError,
  importLogStream,
  lineShape,
  type EventBatchSink,
  type ImportOptions,
} from './log-import.ts';
import { createLineParser } from './log-parser.ts';

const UA = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
// k = 1: these tests are about the other steps; the rare-value gate has its own (deid/rare-value-gate.test.ts, and below for logs).
const OPEN_GATE = new RareValueGate(1, 1000);
const practice = practiceSchema.parse({
  id: 'clinic',
  siteKey: 'site-clinic',
  name: 'Clinic',
  domains: ['clinic.example'],
  timezone: 'Europe/Berlin',
});
const line = (ip: string, time: string, path: string, status = 200, ua = UA, ref = '-') =>
  `${ip} - - [${time}] "GET ${path} HTTP/1.1" ${status} 10 "${ref}" "${ua}"`;

class MemoryLedger implements ImportLedger {
  readonly rows = new Map<string, ImportProgress>();
  commits: number[] = [];
  hashes: string[] = [];
  secrets = 0;
  async open(p: string, id: string) {
    const row = this.rows.get(`${p}/${id}`);
    if (row) return row;
    const opened = { lines: 0, prefixHash: '', bucketSecret: `secret-${++this.secrets}` };
    this.rows.set(`${p}/${id}`, opened);
    return opened;
  }
  async commit(p: string, id: string, progress: Omit<ImportProgress, 'bucketSecret'>) {
    this.commits.push(progress.lines);
    this.hashes.push(progress.prefixHash);
    const row = this.rows.get(`${p}/${id}`)!;
    if (progress.lines > row.lines) this.rows.set(`${p}/${id}`, { ...row, ...progress });
  }
}

/** Records batches; a batch that would take it past `failAfter` accepted events fails like an unavailable producer. */
class RecordingSink implements EventBatchSink {
  batches: Array<{ key: string; events: EventEnvelope[] }> = [];
  constructor(private readonly failAfter = Number.POSITIVE_INFINITY) {}
  /** Every event received, in line order (ids are derived from line numbers; batches group them by key). */
  get events(): EventEnvelope[] {
    return this.batches.flatMap((b) => b.events).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  async submit(key: string, events: readonly EventEnvelope[]) {
    if (this.batches.reduce((n, b) => n + b.events.length, 0) + events.length > this.failAfter)
      throw new Error('producer unavailable');
    this.batches.push({ key, events: [...events] });
  }
}

class SpySalts implements SaltSource {
  readonly asked: number[] = [];
  private readonly inner = new MemorySaltStore();
  saltFor(kind: SaltKind, ts: number) {
    this.asked.push(ts);
    return this.inner.saltFor(kind, ts);
  }
}

const input = (text: string | Buffer) => Readable.from([Buffer.from(text)]);
const SHIPPER = 'f'.repeat(64);
// The fixtures' fixed 2024 dates stay inside the window however much later the tests run.
const WIDE = { maxAgeMs: 100 * 365 * 86_400_000 };
const options = (over: Partial<ImportOptions> = {}): ImportOptions => ({
  practice,
  importId: SHIPPER,
  format: { kind: 'combined' },
  window: WIDE,
  ...over,
});
const deps = (
  sink: EventBatchSink,
  ledger: ImportLedger = new MemoryLedger(),
  salts: SaltSource = new MemorySaltStore(),
) => ({ sink, ledger, salts, country: () => 'DE', rareValues: OPEN_GATE });

describe('importLogStream', () => {
  const log = [
    line(
      '192.0.2.1',
      '10/Oct/2024:23:59:00 +0000',
      '/services?utm_source=news&email=a@b.example',
      200,
      UA,
      'https://www.google.com/search?q=doctor',
    ),
    line('192.0.2.1', '10/Oct/2024:23:59:05 +0000', '/css/site.css'),
    line('192.0.2.1', '11/Oct/2024:00:00:30 +0000', '/team'),
    '',
    'not a log line',
    line('192.0.2.2', '11/Oct/2024:02:00:00 +0200', '/missing', 404),
    line(
      '192.0.2.3',
      '11/Oct/2024:08:00:00 +0000',
      '/',
      200,
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    ),
    line('192.0.2.4', '11/Oct/2024:08:00:00 +0000', '/login/start'),
    line('192.0.2.4', '11/Oct/2024:08:00:01 +0000', '/portal/messages/123456789'),
  ].join('\n');

  it('produces de-identified envelopes stamped with the hit time and summarises every line', async () => {
    const sink = new RecordingSink();
    const salts = new SpySalts();
    const summary = await importLogStream(input(log), options(), deps(sink, new MemoryLedger(), salts));
    expect(summary).toMatchObject({
      linesRead: 9,
      alreadyImported: 0,
      pageviews: 3,
      notFound: 1,
      skipped: { asset: 1, blank: 1, bot: 1, 'page-class-drop': 1 },
      malformed: { count: 1, byReason: { layout: 1 }, lines: [5] },
      linesCommitted: 9,
    });
    const [services, team, missing, portal] = sink.events;
    expect(services).toMatchObject({
      source: 'logs',
      type: 'pageview',
      page: '/services',
      ts: Date.UTC(2024, 9, 10, 23, 59),
      utmSource: 'news',
      referrerDomain: 'google.com',
      country: 'DE',
      browser: 'Firefox',
      os: 'Linux',
    });
    expect(missing).toMatchObject({ type: 'notfound', page: '/missing', ts: Date.UTC(2024, 9, 11, 0, 0) });
    expect(portal).toMatchObject({ page: 'patient-portal', countOnly: true, referrerDomain: null });
    // Same address and agent across UTC midnight: each day's own salt, so the keys differ.
    expect(team!.visitor).not.toBe(services!.visitor);
    expect(salts.asked.every((t) => t < Date.UTC(2024, 9, 12))).toBe(true);
    expect(sink.events.map((e) => e.id)).toEqual([1, 3, 6, 9].map((n) => lineEventId(SHIPPER, n)));
    const bytes = JSON.stringify(sink.events);
    for (const raw of ['192.0.2.', 'Mozilla', 'a@b.example', 'search?q', '123456789']) expect(bytes).not.toContain(raw);
  });

  it('holds campaign and referrer values back until k clients on k networks sent them that day (the gate)', async () => {
    const hit = (ip: string, time: string) =>
      line(ip, time, '/services?utm_campaign=open-day', 200, UA, 'https://www.healthgrades.com/x');
    const text = [
      hit('192.0.2.1', '11/Oct/2024:08:00:00 +0000'),
      // The same network with another address: not another client.
      hit('192.0.2.9', '11/Oct/2024:08:01:00 +0000'),
      hit('198.51.100.1', '11/Oct/2024:08:02:00 +0000'),
      hit('203.0.113.1', '11/Oct/2024:08:03:00 +0000'),
      // The next UTC day counts again.
      hit('203.0.113.1', '12/Oct/2024:08:00:00 +0000'),
    ].join('\n');
    const sink = new RecordingSink();
    await importLogStream(input(text), options(), { ...deps(sink), rareValues: new RareValueGate(3, 1000) });
    expect(sink.events.map((e) => [e.utmCampaign, e.referrerDomain])).toEqual([
      ['(rare)', '(rare)'],
      ['(rare)', '(rare)'],
      ['(rare)', '(rare)'],
      ['open-day', 'healthgrades.com'],
      ['(rare)', '(rare)'],
    ]);
  });

  it("batches a visitor's events in line order under one batch key, at most EVENT_BATCH_MAX_EVENTS a batch", async () => {
    const visits = Array.from({ length: 1200 }, (_, i) =>
      line(
        `203.0.113.${i % 3}`,
        `11/Oct/2024:08:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} +0000`,
        `/p${i}`,
      ),
    );
    const sink = new RecordingSink();
    const summary = await importLogStream(input(visits.join('\n')), options(), deps(sink));
    expect(summary.pageviews).toBe(1200);
    const visitors = new Set(sink.events.map((e) => e.visitor));
    expect(visitors.size).toBe(3);
    const keyOf = new Map<string, string>();
    for (const { key, events } of sink.batches) {
      expect(events.length).toBeGreaterThan(0);
      expect(events.length).toBeLessThanOrEqual(EVENT_BATCH_MAX_EVENTS);
      expect(key).toMatch(/^clinic:\d{1,2}$/);
      for (const e of events) expect(keyOf.set(e.visitor!, keyOf.get(e.visitor!) ?? key).get(e.visitor!)).toBe(key);
    }
    // Per visitor, the batches as submitted replay the visitor's lines in order.
    for (const visitor of visitors) {
      const submitted = sink.batches.flatMap((b) => b.events).filter((e) => e.visitor === visitor);
      expect(submitted.map((e) => e.id)).toEqual([...submitted.map((e) => e.id)].sort());
      expect(submitted).toHaveLength(400);
    }
    // 3 visitors over at most 3 keys: 1200 events in no more batches than the cap forces.
    expect(sink.batches.length).toBeLessThanOrEqual(Math.ceil(1200 / EVENT_BATCH_MAX_EVENTS) + 2);
  });

  it('keys and locates an address in any spelling as the collector does (IPv4-mapped, spelled-out IPv6)', async () => {
    const seen: string[] = [];
    const country = (ip: string) => (seen.push(ip), 'DE');
    const text = [
      line('192.0.2.9', '11/Oct/2024:08:00:00 +0000', '/a'),
      line('::ffff:192.0.2.9', '11/Oct/2024:08:00:01 +0000', '/b'),
      line('2001:DB8:0:0:0:0:0:7', '11/Oct/2024:08:00:02 +0000', '/c'),
      line('2001:db8::7', '11/Oct/2024:08:00:03 +0000', '/d'),
    ].join('\n');
    const sink = new RecordingSink();
    await importLogStream(input(text), options(), { ...deps(sink), country });
    const visitors = sink.events.map((e) => e.visitor);
    expect(visitors[1]).toBe(visitors[0]);
    expect(visitors[3]).toBe(visitors[2]);
    expect(visitors[2]).not.toBe(visitors[0]);
    expect(seen).toEqual(['192.0.2.9', '192.0.2.9', '2001:db8::7', '2001:db8::7']);
  });

  it('reads gzip input like plain text', async () => {
    const plain = new RecordingSink();
    const zipped = new RecordingSink();
    await importLogStream(input(log), options(), deps(plain));
    const summary = await importLogStream(input(gzipSync(log)), options(), deps(zipped));
    expect(summary.linesRead).toBe(9);
    expect(zipped.events.map((e) => [e.id, e.page, e.ts])).toEqual(plain.events.map((e) => [e.id, e.page, e.ts]));
  });

  it('reads a log that starts with a byte-order mark, plain or gzip, like one without', async () => {
    const plain = new RecordingSink();
    await importLogStream(input(log), options(), deps(plain));
    for (const body of [Buffer.from(`\uFEFF${log}`), gzipSync(`\uFEFF${log}`)]) {
      const sink = new RecordingSink();
      const summary = await importLogStream(input(body), options(), deps(sink));
      expect(summary.malformed.lines).not.toContain(1);
      expect(sink.events.map((e) => [e.id, e.page])).toEqual(plain.events.map((e) => [e.id, e.page]));
    }
  });

  it('reports over-long lines as malformed and keeps counting lines after them', async () => {
    const text = [
      line('192.0.2.9', '11/Oct/2024:08:00:00 +0000', '/'),
      'x'.repeat(MAX_LINE_CHARS + 10),
      line('192.0.2.9', '11/Oct/2024:08:00:09 +0000', '/team'),
    ].join('\n');
    const sink = new RecordingSink();
    const summary = await importLogStream(input(text), options(), deps(sink));
    expect(summary.malformed).toEqual({ count: 1, byReason: { 'too-long': 1 }, lines: [2] });
    expect(sink.events.map((e) => e.id)).toEqual([lineEventId(SHIPPER, 1), lineEventId(SHIPPER, 3)]);
  });

  it('resumes after an interrupted import without producing committed lines again', async () => {
    const lines = Array.from({ length: 50 }, (_, i) =>
      line(`198.51.100.${i}`, `11/Oct/2024:08:00:${String(i).padStart(2, '0')} +0000`, `/page-${i % 7}`),
    );
    const text = lines.join('\n') + '\n';
    const ledger = new MemoryLedger();
    const failing = new RecordingSink(23);
    const failure = await importLogStream(
      input(text),
      options({ chunkLines: 10, giveUpMs: 30 }),
      deps(failing, ledger),
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ImportFailedError);
    expect((failure as ImportFailedError).message).toMatch(/gave up .* producer unavailable/);
    expect((failure as ImportFailedError).summary.linesCommitted).toBe(20);
    // Chunks 1-20 were durable; the chunk holding the failure (and any after it) was not recorded.
    expect(ledger.commits).toEqual([10, 20]);

    const sink = new RecordingSink();
    const resumed = await importLogStream(input(text), options({ chunkLines: 10 }), deps(sink, ledger));
    expect(resumed).toMatchObject({ linesRead: 50, alreadyImported: 20, pageviews: 30, linesCommitted: 50 });
    const ids = (events: EventEnvelope[]) => events.map((e) => e.id);
    expect(ids(sink.events)).toEqual(Array.from({ length: 30 }, (_, i) => lineEventId(SHIPPER, i + 21)));
    // Lines 21-23 were produced by both runs, with the same ids, so the processor's line ledger drops the repeat.
    expect(new Set([...ids(failing.events), ...ids(sink.events)]).size).toBe(50);

    const again = new RecordingSink();
    const rerun = await importLogStream(input(text), options({ chunkLines: 10 }), deps(again, ledger));
    expect(rerun).toMatchObject({ alreadyImported: 50, pageviews: 0 });
    expect(again.events).toHaveLength(0);
  });

  it('takes shipper chunks in order and refuses a gap', async () => {
    const ledger = new MemoryLedger();
    const first = [
      line('192.0.2.1', '11/Oct/2024:08:00:00 +0000', '/'),
      line('192.0.2.1', '11/Oct/2024:08:00:01 +0000', '/team'),
    ].join('\n');
    await expect(
      importLogStream(input(first), options({ firstLineOffset: 2 }), deps(new RecordingSink(), ledger)),
    ).rejects.toBeInstanceOf(ChunkGapError);
    await importLogStream(input(first), options(), deps(new RecordingSink(), ledger));
    const sink = new RecordingSink();
    // A resent chunk overlapping the committed lines only produces the new ones.
    const overlap = [
      line('192.0.2.1', '11/Oct/2024:08:00:01 +0000', '/team'),
      line('192.0.2.1', '11/Oct/2024:08:00:02 +0000', '/contact'),
    ].join('\n');
    const summary = await importLogStream(input(overlap), options({ firstLineOffset: 1 }), deps(sink, ledger));
    expect(summary).toMatchObject({ alreadyImported: 1, pageviews: 1, linesCommitted: 3 });
    expect(sink.events.map((e) => [e.id, e.page])).toEqual([[lineEventId(SHIPPER, 3), '/contact']]);
  });
});

describe('content-derived imports', () => {
  const lines = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) =>
      line(`198.51.100.${from + i}`, '11/Oct/2024:08:00:00 +0000', `/p${from + i}`),
    ).join('\n') + '\n';

  it('resume a grown log after the lines already produced', async () => {
    const ledger = new MemoryLedger();
    const first = await importLogStream(
      input(lines(5)),
      options({ importId: undefined }),
      deps(new RecordingSink(), ledger),
    );
    const firstLine = line('198.51.100.0', '11/Oct/2024:08:00:00 +0000', '/p0');
    expect(first.importId).toBe(
      fileImportId(practice.id, lineShape(firstLine, createLineParser({ kind: 'combined' })(firstLine))),
    );
    const sink = new RecordingSink();
    const grown = await importLogStream(
      input(lines(5) + lines(3, 5)),
      options({ importId: undefined }),
      deps(sink, ledger),
    );
    expect(grown).toMatchObject({ importId: first.importId, alreadyImported: 5, pageviews: 3, linesCommitted: 8 });
    expect(sink.events.map((e) => e.page)).toEqual(['/p5', '/p6', '/p7']);
  });

  it('record at each commit the SHA-256 of the shapes of the lines committed so far, however the input is split', async () => {
    const text = lines(25);
    const ledger = new MemoryLedger();
    // Pieces of 97 bytes cut lines anywhere; commits every 10 lines.
    const pieces = Array.from({ length: Math.ceil(text.length / 97) }, (_, i) =>
      Buffer.from(text.slice(i * 97, (i + 1) * 97)),
    );
    const summary = await importLogStream(
      Readable.from(pieces),
      options({ importId: undefined, chunkLines: 10 }),
      deps(new RecordingSink(), ledger),
    );
    expect(ledger.commits).toEqual([10, 20, 25]);
    const parse = createLineParser({ kind: 'combined' });
    const all = text.split('\n').map((l) => lineShape(l, parse(l)));
    const sha = (n: number) =>
      createHash('sha256')
        .update(
          all
            .slice(0, n)
            .map((l) => `${l}\n`)
            .join(''),
        )
        .digest('hex');
    expect(ledger.hashes).toEqual([sha(10), sha(20), sha(25)]);
    expect(ledger.rows.get(`${practice.id}/${summary.importId}`)).toEqual({
      lines: 25,
      prefixHash: sha(25),
      bucketSecret: 'secret-1',
    });
  });

  it('leave a log being written mid-line for the next import, which reads that line whole', async () => {
    const ledger = new MemoryLedger();
    const complete = lines(4);
    const cut = complete.slice(0, complete.length - 30);
    const first = await importLogStream(
      input(cut),
      options({ importId: undefined, holdUnterminatedLine: true }),
      deps(new RecordingSink(), ledger),
    );
    expect(first).toMatchObject({
      linesRead: 3,
      pageviews: 3,
      linesCommitted: 3,
      lastLineHeld: true,
      malformed: { count: 0 },
    });
    const sink = new RecordingSink();
    const grown = await importLogStream(
      input(complete + lines(1, 4)),
      options({ importId: undefined, holdUnterminatedLine: true }),
      deps(sink, ledger),
    );
    expect(grown).toMatchObject({ importId: first.importId, alreadyImported: 3, pageviews: 2, linesCommitted: 5 });
    expect(grown.lastLineHeld).toBeUndefined();
    expect(sink.events.map((e) => e.page)).toEqual(['/p3', '/p4']);
    // A body or a pipe that ended is complete: its last line counts as it is.
    const body = await importLogStream(
      input(cut),
      options({ importId: undefined }),
      deps(new RecordingSink(), new MemoryLedger()),
    );
    expect(body.linesRead).toBe(4);
  });

  it('stop at an interruption with everything read committed, and resume exactly at any later time', async () => {
    const text = lines(60);
    const pieces = Array.from({ length: 6 }, (_, i) =>
      Buffer.from(
        text
          .split('\n')
          .slice(i * 10, (i + 1) * 10)
          .join('\n') + '\n',
      ),
    );
    const ledger = new MemoryLedger();
    const first = new RecordingSink();
    const abort = new AbortController();
    const opts = options({
      importId: undefined,
      chunkLines: 25,
      onProgress: ({ linesRead }) => linesRead >= 20 && abort.abort(),
      signal: abort.signal,
    });
    const stopped = await importLogStream(Readable.from(pieces), opts, deps(first, ledger));
    expect(stopped).toMatchObject({ interrupted: true, linesRead: 20, linesCommitted: 20, pageviews: 20 });
    // Nothing was left in flight: a resume needs no help from the processor's duplicate filter.
    const second = new RecordingSink();
    const resumed = await importLogStream(
      input(text),
      options({ importId: undefined, chunkLines: 25 }),
      deps(second, ledger),
    );
    expect(resumed).toMatchObject({ alreadyImported: 20, pageviews: 40, linesCommitted: 60 });
    expect(resumed.interrupted).toBeUndefined();
    const ids = [...first.events, ...second.events].map((e) => e.id);
    expect(new Set(ids).size).toBe(60);
  });

  it('refuse a different log that starts with the same line instead of skipping its lines', async () => {
    const ledger = new MemoryLedger();
    await importLogStream(input(lines(5)), options({ importId: undefined }), deps(new RecordingSink(), ledger));
    const other = lines(1) + lines(6, 40);
    await expect(
      importLogStream(input(other), options({ importId: undefined }), deps(new RecordingSink(), ledger)),
    ).rejects.toBeInstanceOf(ImportMismatchError);
  });

  it('keep no trace of addresses, user agents or targets: the ledger holds hashes of line shapes only', async () => {
    const a = lines(5);
    // Same times, methods, statuses and lengths; other visitors, agents and pages.
    const b = a
      .replace(/198\.51\.100\.(\d)/g, '198.51.101.$1')
      .replace(/Firefox/g, 'Firebox')
      .replace(/\/p(\d)/g, '/q$1');
    expect(b).not.toBe(a);
    const ledgerA = new MemoryLedger();
    const ledgerB = new MemoryLedger();
    const sa = await importLogStream(input(a), options({ importId: undefined }), deps(new RecordingSink(), ledgerA));
    const sb = await importLogStream(input(b), options({ importId: undefined }), deps(new RecordingSink(), ledgerB));
    expect(sb.importId).toBe(sa.importId);
    expect(ledgerB.hashes).toEqual(ledgerA.hashes);
    const raw = createHash('sha256').update(a).digest('hex');
    expect(ledgerA.hashes).not.toContain(raw);
  });

  it('are named by the first line with content, so logs that start with a blank line stay apart', async () => {
    const ledger = new MemoryLedger();
    const one = await importLogStream(
      input(`\n${lines(3)}`),
      options({ importId: undefined }),
      deps(new RecordingSink(), ledger),
    );
    const other = await importLogStream(
      input(`\n${lines(3, 40)}`),
      options({ importId: undefined }),
      deps(new RecordingSink(), ledger),
    );
    expect(other.importId).not.toBe(one.importId);
    expect(other).toMatchObject({ alreadyImported: 0, pageviews: 3 });
  });

  it('are scoped to the practice, and every line gets its own envelope id', () => {
    expect(fileImportId('a', 'same line')).not.toBe(fileImportId('b', 'same line'));
    expect(lineEventId(SHIPPER, 1)).toMatch(/^[0-9a-f]{32}$/);
    expect(lineEventId(SHIPPER, 1)).not.toBe(lineEventId(SHIPPER, 2));
  });
});

describe('an import under failure', () => {
  const lines = (n: number) =>
    Array.from({ length: n }, (_, i) => line(`198.51.100.${i % 40}`, '11/Oct/2024:08:00:00 +0000', `/p${i}`)).join(
      '\n',
    ) + '\n';

  it("sends a resumed line under the key it had the first time, though its day's salt was redrawn", async () => {
    const ledger = new MemoryLedger();
    const first = new RecordingSink();
    const abort = new AbortController();
    const text = lines(80);
    const pieces = text.split(/(?<=\n)/).map((l) => Buffer.from(l));
    await importLogStream(
      Readable.from(pieces),
      options({ onProgress: ({ linesRead }) => linesRead >= 30 && abort.abort(), signal: abort.signal }),
      deps(first, ledger, new MemorySaltStore()),
    );
    // The resume re-sends every line (as after a crash) with fresh salts: new visitor keys, same keys on Kafka.
    ledger.rows.set(`${practice.id}/${SHIPPER}`, { ...ledger.rows.get(`${practice.id}/${SHIPPER}`)!, lines: 0 });
    const second = new RecordingSink();
    await importLogStream(input(text), options(), deps(second, ledger, new MemorySaltStore()));
    const keyOf = (sink: RecordingSink) =>
      new Map(sink.batches.flatMap((b) => b.events.map((e) => [e.id, b.key] as const)));
    const before = keyOf(first);
    const after = keyOf(second);
    expect(before.size).toBeGreaterThanOrEqual(30);
    for (const [id, key] of before) expect(after.get(id)).toBe(key);
    expect(first.events[0]!.visitor).not.toBe(second.events[0]!.visitor);
  });

  it('waits while the spool is full and Kafka is away, then finishes with every line produced once', async () => {
    let refusals = 0;
    const accepted: EventEnvelope[] = [];
    const sink: EventBatchSink = {
      async submit(_key, events) {
        if (refusals++ < 5) throw new SpoolFullError('spool is full');
        accepted.push(...events);
      },
    };
    const summary = await importLogStream(input(lines(300)), options({ chunkLines: 100 }), deps(sink));
    expect(summary).toMatchObject({ pageviews: 300, linesCommitted: 300 });
    expect(new Set(accepted.map((e) => e.id)).size).toBe(300);
    expect(accepted).toHaveLength(300);
  });

  it('reads no further while too many events are not yet durable', async () => {
    const held: Array<() => void> = [];
    const sink: EventBatchSink = { submit: () => new Promise<void>((resolve) => held.push(resolve)) };
    let pulled = 0;
    const text = lines(2000).split(/(?<=\n)/);
    async function* source() {
      for (const l of text) {
        pulled++;
        yield Buffer.from(l);
      }
    }
    const done = importLogStream(
      Readable.from(source()),
      options({ maxInFlightEvents: 300, chunkLines: 100 }),
      deps(sink),
    );
    await new Promise((r) => setTimeout(r, 100));
    // Reading stopped soon after 300 events were in flight (a stream reads a little ahead).
    expect(pulled).toBeLessThan(600);
    while (held.length) {
      held.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    const release = setInterval(() => held.splice(0).forEach((r) => r()), 1);
    const summary = await done.finally(() => clearInterval(release));
    expect(summary).toMatchObject({ pageviews: 2000, linesCommitted: 2000 });
  });

  it('fails, naming the refusal, when a batch of valid events is refused as invalid', async () => {
    const sink: EventBatchSink = {
      submit: () => Promise.reject(new InvalidRecordError('record of 2000000 bytes exceeds 921600')),
    };
    await expect(importLogStream(input(lines(3)), options(), deps(sink))).rejects.toThrow(/exceeds/);
  });
});

describe("hit times outside the pipeline's window", () => {
  it('are skipped one by one, and the lines around them are produced', async () => {
    const clf = (ms: number) => {
      const d = new Date(ms);
      const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
      const p = (n: number) => String(n).padStart(2, '0');
      return `${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
    };
    const now = Date.now();
    const text = [
      line('192.0.2.1', clf(now - 3_600_000), '/ok-1'),
      line('192.0.2.1', '10/Oct/1999:10:00:00 +0000', '/ancient'),
      line('192.0.2.1', '10/Oct/9999:10:00:00 +0000', '/future'),
      line('192.0.2.1', clf(now - 900 * 86_400_000), '/beyond-retention'),
      line('192.0.2.1', clf(now - 3_000_000), '/ok-2'),
    ].join('\n');
    const sink = new RecordingSink();
    const summary = await importLogStream(input(text), options({ window: {} }), deps(sink));
    expect(summary).toMatchObject({ pageviews: 2, linesCommitted: 5 });
    expect(summary.skipped['outside-window']).toBe(3);
    expect(sink.events.map((e) => e.page)).toEqual(['/ok-1', '/ok-2']);
  });
});

describe('review findings', () => {
  const lines = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) =>
      line(`198.51.100.${(from + i) % 250}`, '11/Oct/2024:08:00:00 +0000', `/p${from + i}`),
    ).join('\n') + '\n';

  it('name an input by its first line with content even when the first read holds only blank lines', async () => {
    const ledger = new MemoryLedger();
    const one = await importLogStream(
      Readable.from([Buffer.from('\n\n'), Buffer.from(lines(30))]),
      options({ importId: undefined }),
      deps(new RecordingSink(), ledger),
    );
    const sink = new RecordingSink();
    const other = await importLogStream(
      Readable.from([Buffer.from('\n\n'), Buffer.from(lines(10, 100))]),
      options({ importId: undefined }),
      deps(sink, ledger),
    );
    expect(other.importId).not.toBe(one.importId);
    expect(other).toMatchObject({ linesRead: 12, alreadyImported: 0, pageviews: 10, skipped: { blank: 2 } });
    // Read in one piece, the same input is the same import.
    const again = await importLogStream(
      input(`\n\n${lines(30)}`),
      options({ importId: undefined }),
      deps(new RecordingSink(), ledger),
    );
    expect(again).toMatchObject({ importId: one.importId, alreadyImported: 32, pageviews: 0 });
  });

  it('refuse a shorter input that starts like an import which committed more lines than it has', async () => {
    const ledger = new MemoryLedger();
    await importLogStream(input(lines(20)), options({ importId: undefined }), deps(new RecordingSink(), ledger));
    const shorter = lines(1) + lines(5, 60);
    await expect(
      importLogStream(input(shorter), options({ importId: undefined }), deps(new RecordingSink(), ledger)),
    ).rejects.toBeInstanceOf(ImportMismatchError);
  });

  it('bound what is in flight within a single read (a whole request body)', async () => {
    let inFlight = 0;
    let most = 0;
    const sink: EventBatchSink = {
      async submit(_key, events) {
        inFlight += events.length;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= events.length;
      },
    };
    // Three clients: their batches fill (many clients would wait at the chunk end, at most 32 keys × 199 events).
    const few = Array.from({ length: 3000 }, (_, i) =>
      line(`203.0.113.${i % 3}`, '11/Oct/2024:08:00:00 +0000', `/p${i}`),
    ).join('\n');
    const summary = await importLogStream(input(few), options({ maxInFlightEvents: 300 }), deps(sink));
    expect(summary.pageviews).toBe(3000);
    expect(most).toBeLessThanOrEqual(300 + 200);
  });
});
