import { sqlv, TABLES, type Db, type ImportLine } from '@confidant/shared';

/** Lines per cached block: 1024 ledger words of 64 lines, 8 KiB of bitmap. */
const BLOCK_LINES = 65_536;
const WORDS_PER_BLOCK = BLOCK_LINES / 64;

/** One ledger row to write: the bits of one word (64 lines) of one import, as UInt64. */
export type LineWord = { importKey: string; word: bigint; bits: bigint };

const blockId = (importKey: string, line: number) => `${importKey}:${Math.floor(line / BLOCK_LINES)}`;

/**
 * The lines of log imports this consumer group has applied (`import_line_ledger`, written in the
 * same insert block as their rollups), cached in memory in blocks of 65,536 lines loaded on first
 * use. A resumed import's lines come to the partition they went to before (their Kafka key is the
 * import's bucket of the client), so what another member writes for its partitions never concerns
 * this cache; after a rebalance it is cleared and reloaded.
 */
export class ImportLineLedger {
  private blocks = new Map<string, Uint8Array>();
  private stale = false;

  constructor(
    private readonly db: Db,
    private readonly consumerGroup: string,
    private readonly maxBlocks = 1024,
  ) {}

  /** Forgets the cache at the next `prepare` (a batch in progress keeps the blocks it prepared). */
  clear(): void {
    this.stale = true;
  }

  /** Loads the blocks these lines fall in; must run before `has` is asked about them. */
  async prepare(lines: Iterable<ImportLine>): Promise<void> {
    if (this.stale) {
      this.blocks = new Map();
      this.stale = false;
    }
    const needed = new Set<string>();
    const wanted = new Map<string, { importKey: string; block: number }>();
    for (const { importKey, line } of lines) {
      const id = blockId(importKey, line);
      needed.add(id);
      if (!this.blocks.has(id) && !wanted.has(id)) wanted.set(id, { importKey, block: Math.floor(line / BLOCK_LINES) });
    }
    if (wanted.size === 0) return;
    // The cache is a bound on memory, not on correctness: dropped blocks are reloaded when needed, but
    // never those this batch needs.
    if (this.blocks.size + wanted.size > this.maxBlocks) {
      for (const id of this.blocks.keys()) if (!needed.has(id)) this.blocks.delete(id);
    }
    const fresh = new Map<string, Uint8Array>();
    for (const id of wanted.keys()) fresh.set(id, new Uint8Array(BLOCK_LINES / 8));
    const ranges = [...wanted.values()].map(
      ({ importKey, block }) =>
        `(import_key = ${sqlv.str(importKey)} AND word >= ${sqlv.int(block * WORDS_PER_BLOCK)} AND word < ${sqlv.int((block + 1) * WORDS_PER_BLOCK)})`,
    );
    const rows = await this.db.rows<{ k: string; w: string; b: string }>(
      `SELECT import_key AS k, toString(word) AS w, toString(groupBitOrMerge(bits)) AS b FROM ${sqlv.ident(TABLES.importLineLedger)} WHERE consumer_group = ${sqlv.str(this.consumerGroup)} AND (${ranges.join(' OR ')}) GROUP BY import_key, word`,
    );
    for (const row of rows) {
      const word = Number(row.w);
      const bitmap = fresh.get(blockId(row.k, word * 64))!;
      let bits = BigInt(row.b);
      for (let byte = (word % WORDS_PER_BLOCK) * 8; bits > 0n; byte++, bits >>= 8n) bitmap[byte] = Number(bits & 0xffn);
    }
    for (const [id, bitmap] of fresh) this.blocks.set(id, bitmap);
  }

  has({ importKey, line }: ImportLine): boolean {
    const bitmap = this.blocks.get(blockId(importKey, line));
    if (!bitmap) throw new Error(`import line ledger block not prepared for line ${line}`);
    const offset = line % BLOCK_LINES;
    return (bitmap[offset >> 3]! & (1 << (offset & 7))) !== 0;
  }

  /** Marks lines as applied once their insert succeeded. */
  commit(lines: Iterable<ImportLine>): void {
    for (const { importKey, line } of lines) {
      const bitmap = this.blocks.get(blockId(importKey, line));
      if (!bitmap) continue; // evicted meanwhile: reloaded from the table, which has the line, when next needed
      const offset = line % BLOCK_LINES;
      bitmap[offset >> 3]! |= 1 << (offset & 7);
    }
  }
}

/**
 * The lines one insert applies, over the committed ledger: a batch reads through it and marks into
 * it; the marks reach the ledger only when the insert succeeded, so a retried batch starts again
 * from the committed state (like the session and duplicate overlays).
 */
export class LineMarks {
  private readonly marked = new Map<string, Set<number>>();

  constructor(private readonly ledger: ImportLineLedger) {}

  /** True when the line was applied before or earlier in this insert; otherwise marks it. */
  seenOrMark(line: ImportLine): boolean {
    let lines = this.marked.get(line.importKey);
    if (lines?.has(line.line) || this.ledger.has(line)) return true;
    if (!lines) this.marked.set(line.importKey, (lines = new Set()));
    lines.add(line.line);
    return false;
  }

  /** The ledger rows of the marked lines: one per word touched. */
  rows(): LineWord[] {
    const out: LineWord[] = [];
    for (const [importKey, lines] of this.marked) {
      const words = new Map<number, bigint>();
      for (const line of lines) {
        const word = Math.floor(line / 64);
        words.set(word, (words.get(word) ?? 0n) | (1n << BigInt(line % 64)));
      }
      for (const [word, bits] of words) out.push({ importKey, word: BigInt(word), bits });
    }
    return out;
  }

  commit(): void {
    for (const [importKey, lines] of this.marked) this.ledger.commit([...lines].map((line) => ({ importKey, line })));
    this.marked.clear();
  }
}
