import type { Db } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { ImportLineLedger, LineMarks, type LineWord } from './import-line-ledger.ts';

/** The ledger table as rows of (import, word, bits), answering the ledger's one query shape. */
function tableDb(rows: LineWord[]): Db & { queries: number } {
  const db = {
    queries: 0,
    async rows<T>(sql: string): Promise<T[]> {
      db.queries++;
      const merged = new Map<string, bigint>();
      for (const r of rows) {
        const inRange = [...sql.matchAll(/import_key = '([^']+)' AND word >= (\d+) AND word < (\d+)/g)].some(
          ([, k, from, to]) => k === r.importKey && r.word >= BigInt(from!) && r.word < BigInt(to!),
        );
        if (inRange) merged.set(`${r.importKey}|${r.word}`, (merged.get(`${r.importKey}|${r.word}`) ?? 0n) | r.bits);
      }
      return [...merged].map(([key, bits]) => ({ k: key.split('|')[0], w: key.split('|')[1], b: String(bits) })) as T[];
    },
  };
  return db as unknown as Db & { queries: number };
}

const IMPORT = 'a'.repeat(20);

describe('import line ledger', () => {
  it('round-trips marked lines through the rows it writes, across words and blocks', async () => {
    const lines = [1, 2, 63, 64, 65, 127, 65_535, 65_536, 1_000_000, 2 ** 40];
    const first = new ImportLineLedger(tableDb([]), 'g');
    await first.prepare(lines.map((line) => ({ importKey: IMPORT, line })));
    const marks = new LineMarks(first);
    for (const line of lines) expect(marks.seenOrMark({ importKey: IMPORT, line })).toBe(false);
    // Within one insert a repeat is seen at once.
    expect(marks.seenOrMark({ importKey: IMPORT, line: 64 })).toBe(true);
    const rows = marks.rows();

    const reloaded = new ImportLineLedger(tableDb(rows), 'g');
    const probe = [...lines, 3, 62, 66, 65_534, 65_537, 999_999, 2 ** 40 + 1].map((line) => ({
      importKey: IMPORT,
      line,
    }));
    await reloaded.prepare(probe);
    expect(probe.filter((l) => reloaded.has(l)).map((l) => l.line)).toEqual(lines);
  });

  it('takes marks into the cache only on commit', async () => {
    const ledger = new ImportLineLedger(tableDb([]), 'g');
    await ledger.prepare([{ importKey: IMPORT, line: 5 }]);
    const abandoned = new LineMarks(ledger);
    abandoned.seenOrMark({ importKey: IMPORT, line: 5 });
    expect(new LineMarks(ledger).seenOrMark({ importKey: IMPORT, line: 5 })).toBe(false);
    const applied = new LineMarks(ledger);
    applied.seenOrMark({ importKey: IMPORT, line: 5 });
    applied.commit();
    expect(ledger.has({ importKey: IMPORT, line: 5 })).toBe(true);
  });

  it('loads each block once', async () => {
    const db = tableDb([]);
    const ledger = new ImportLineLedger(db, 'g');
    await ledger.prepare([
      { importKey: IMPORT, line: 1 },
      { importKey: IMPORT, line: 2 },
    ]);
    await ledger.prepare([{ importKey: IMPORT, line: 3 }]);
    expect(db.queries).toBe(1);
    expect(() => ledger.has({ importKey: IMPORT, line: 70_000 })).toThrow(/not prepared/);
  });

  it('keeps the blocks a batch needs when the cache is full', async () => {
    const ledger = new ImportLineLedger(tableDb([]), 'g', 2);
    await ledger.prepare([
      { importKey: IMPORT, line: 1 },
      { importKey: IMPORT, line: 70_000 },
    ]);
    // Full: a batch needing a cached block and a new one keeps the cached one.
    await ledger.prepare([
      { importKey: IMPORT, line: 65_535 },
      { importKey: IMPORT, line: 140_000 },
    ]);
    expect(ledger.has({ importKey: IMPORT, line: 65_535 })).toBe(false);
    expect(ledger.has({ importKey: IMPORT, line: 140_000 })).toBe(false);
  });
});
