import type { EventEnvelope } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { BatchAssembler } from './import-batches.ts';
import { ChunkCommitter } from './import-committer.ts';
import type { ImportLedger, ImportProgress } from './import-ledger.ts';

const event = (n: number) => ({ id: String(n) }) as unknown as EventEnvelope;

/** A sink whose acknowledgements the test releases (or fails) one by one. */
function heldSink() {
  const held: Array<{ key: string; resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    held,
    sink: { submit: (key: string) => new Promise<void>((resolve, reject) => held.push({ key, resolve, reject })) },
  };
}

function ledger(): ImportLedger & { commits: number[] } {
  const commits: number[] = [];
  return {
    commits,
    open: async () => ({ lines: 0, prefixHash: '', bucketSecret: 's' }),
    commit: async (_p: string, _i: string, progress: Omit<ImportProgress, 'bucketSecret'>) =>
      void commits.push(progress.lines),
  };
}

const committer = (sink: { submit: (key: string) => Promise<void> }, l: ImportLedger, giveUpMs = 60_000) =>
  new ChunkCommitter(sink, l, {
    practiceId: 'clinic',
    importId: 'imp',
    committedLines: 0,
    persistence: { giveUpMs, isPermanent: () => true },
    maxInFlightEvents: 2,
    isValid: () => true,
    onInvalid: () => undefined,
  });
const tick = () => new Promise((r) => setImmediate(r));

describe('ChunkCommitter', () => {
  it('commits chunks in order, each once all its batches are durable', async () => {
    const { held, sink } = heldSink();
    const l = ledger();
    const c = committer(sink, l);
    c.submit('a', [event(1)]);
    c.endChunk(10, 'h10');
    c.submit('b', [event(11)]);
    c.endChunk(20, 'h20');
    held[1]!.resolve();
    await tick();
    expect(l.commits).toEqual([]);
    held[0]!.resolve();
    await c.settle();
    expect(l.commits).toEqual([10, 20]);
    expect(c.committed).toBe(20);
  });

  it('commits nothing after a chunk that failed, and reports the failure', async () => {
    const { held, sink } = heldSink();
    const l = ledger();
    const c = committer(sink, l);
    c.submit('a', [event(1)]);
    c.endChunk(10, '');
    c.submit('b', [event(11)]);
    c.endChunk(20, '');
    held[1]!.resolve();
    held[0]!.reject(new Error('refused'));
    await expect(c.settle()).rejects.toThrow('refused');
    expect(l.commits).toEqual([]);
    expect(() => c.submit('c', [event(21)])).toThrow('refused');
  });

  it('holds the reader while more than maxInFlightEvents are in flight', async () => {
    const { held, sink } = heldSink();
    const c = committer(sink, ledger());
    c.submit('a', [event(1), event(2), event(3)]);
    let free = false;
    const room = c.room().then(() => (free = true));
    await tick();
    expect(free).toBe(false);
    held[0]!.resolve();
    await room;
    expect(free).toBe(true);
  });
});

describe('BatchAssembler', () => {
  it("hands out a key's batch when it is full and drains the rest", () => {
    const batches = new BatchAssembler();
    const full: EventEnvelope[][] = [];
    for (let i = 0; i < 450; i++) {
      const batch = batches.add(i % 2 ? 'odd' : 'even', event(i));
      if (batch) full.push(batch);
    }
    expect(full.map((b) => b.length)).toEqual([200, 200]);
    expect(batches.drain().map(([key, events]) => [key, events.length])).toEqual([
      ['even', 25],
      ['odd', 25],
    ]);
    expect(batches.drain()).toEqual([]);
  });
});
