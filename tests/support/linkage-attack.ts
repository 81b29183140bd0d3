/**
 * Linkage attacks on the stored rollups (issue #15).
 *
 * Threat model: an attacker who can run any SELECT the reporter's or the processor's ClickHouse user
 * can run (an insider, a leaked credential, a stolen backup) and who knows the schema, but holds no
 * salt or visitor key. Counts per row are public by design; what must stay unknowable is which
 * visitors two rows share, since shared visitors rebuild a visitor-day (pages, hours, country,
 * browser, OS, device) from rows that are each harmless. The attacks below use SQL reads only and
 * take the connection as a parameter, so they can be run as a restricted user too.
 *
 * They find visitor states without relying on a table layout: every stored column holding a uniq
 * state, in every table of the database, addressed by key columns (practice_id, day, dim, value,
 * hour, source). A row that holds no state, or no longer exists, reads as an empty set.
 */
import { sqlv, type Db } from '@confidant/shared';

/** A stored column of uniq states and the merge function that reads it. */
export type StateSource = { table: string; column: string; type: string; merge: string; keyColumns: string[] };

/** A rollup row as the attacker names it: key column → SQL literal (built with sqlv). */
export type RowAddress = { label: string; where: Readonly<Record<string, string>> };

// Aggregate states whose serialisation is ClickHouse's UniquesHashSet (parsed below).
const UNIQ_FUNCTIONS = new Set(['uniq', 'uniqArray']);
// Other states that hold per-visitor values; the attack cannot read them yet, so it refuses to pass over them.
const SET_LIKE = /^(uniq|groupBitmap|groupUniqArray|groupArray)/;
// Engines that store rows; views and Merge/Buffer/Distributed tables only show them again.
const STORING_ENGINE = /MergeTree$|^(Memory|Log|TinyLog|StripeLog)$/;

/** Every stored column of uniq states in the connection's database. Throws on a visitor-like state it cannot parse. */
export async function discoverStateSources(db: Db): Promise<StateSource[]> {
  const tables = await db.rows<{ name: string; engine: string }>(
    'SELECT name, engine FROM system.tables WHERE database = currentDatabase()',
  );
  const columns = await db.rows<{ table: string; name: string; type: string }>(
    'SELECT table, name, type FROM system.columns WHERE database = currentDatabase()',
  );
  const sources: StateSource[] = [];
  for (const { name: table } of tables.filter((t) => STORING_ENGINE.test(t.engine))) {
    const own = columns.filter((c) => c.table === table);
    const keyColumns = own.filter((c) => !/AggregateFunction\(/.test(c.type)).map((c) => c.name);
    for (const c of own) {
      const fn = /^AggregateFunction\((\w+)/.exec(c.type)?.[1];
      if (fn === undefined) continue;
      if (UNIQ_FUNCTIONS.has(fn))
        sources.push({ table, column: c.name, type: c.type, merge: `${fn}Merge`, keyColumns });
      else if (SET_LIKE.test(fn))
        throw new Error(`${table}.${c.name} holds ${c.type}: extend the linkage attack to read it`);
    }
  }
  return sources;
}

/** Reads ClickHouse RowBinary: little-endian integers, LEB128 lengths. Fails on any short read. */
class RowBinaryReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  private need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length)
      throw new Error(`RowBinary ends inside ${what} at byte ${this.offset} of ${this.bytes.length}`);
  }

  byte(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }

  varint(what: string): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte(what);
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new Error(`varint of ${what} longer than 5 bytes at byte ${this.offset}`);
  }

  uint32(what: string): number {
    this.need(4, what);
    const v = this.bytes.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  string(what: string): string {
    const length = this.varint(what);
    this.need(length, what);
    const text = this.bytes.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }

  /**
   * A uniq (UniquesHashSet) state: skip degree (1 byte), count (varint), count × UInt32 hashes. A set
   * holds at most 2^16 hashes (plus zero), all distinct: anything else means the layout is not this one.
   */
  uniqState(): number[] {
    const skipDegree = this.byte('uniq skip degree');
    if (skipDegree > 32) throw new Error(`uniq state skip degree ${skipDegree}: not a UniquesHashSet`);
    const count = this.varint('uniq count');
    if (count > 65_537) throw new Error(`uniq state of ${count} hashes: not a UniquesHashSet`);
    const hashes = Array.from({ length: count }, () => this.uint32('uniq hash'));
    if (new Set(hashes).size !== count) throw new Error('uniq state repeats a hash: not a UniquesHashSet');
    return hashes;
  }
}

async function rowBinary(db: Db, query: string): Promise<Buffer> {
  const { stream } = await db.client.exec({ query: `${query} FORMAT RowBinary` });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Parses a RowBinary body of rows holding `columns` uniq states each, failing on leftover bytes. */
export function parseStates(
  bytes: Buffer,
  columns: number,
  keyed: boolean,
): Array<{ key: string; states: number[][] }> {
  const reader = new RowBinaryReader(bytes);
  const rows: Array<{ key: string; states: number[][] }> = [];
  while (!reader.done) {
    const key = keyed ? reader.string('row key') : '';
    rows.push({ key, states: Array.from({ length: columns }, () => reader.uniqState()) });
  }
  return rows;
}

const intersection = (a: ReadonlySet<number>, b: ReadonlySet<number>): number => [...a].filter((h) => b.has(h)).length;

/**
 * Checks the state reader against this server before it is trusted: the hashes it parses from states
 * the server builds must match the server's own counts, sizes and overlap. A reader that silently
 * read nothing would make every attack look like a defence.
 */
export async function calibrateStateReader(db: Db): Promise<void> {
  const inputs = `SELECT arrayMap(x -> toUInt64(x), range(600)) AS a, arrayMap(x -> toUInt64(x + 400), range(600)) AS b, emptyArrayUInt64() AS e`;
  const [row] = parseStates(
    await rowBinary(db, `SELECT uniqArrayState(a), uniqArrayState(b), uniqArrayState(e) FROM (${inputs})`),
    3,
    false,
  );
  const [counts] = await db.rows<{ na: string; nb: string; nab: string }>(
    `SELECT uniqArray(a) AS na, uniqArray(b) AS nb, uniqArray(arrayConcat(a, b)) AS nab FROM (${inputs})`,
  );
  const [a, b, e] = row!.states.map((s) => new Set(s)) as [Set<number>, Set<number>, Set<number>];
  const seen = { a: a.size, b: b.size, e: e.size, overlap: intersection(a, b) };
  const server = {
    a: Number(counts!.na),
    b: Number(counts!.nb),
    e: 0,
    overlap: Number(counts!.na) + Number(counts!.nb) - Number(counts!.nab),
  };
  if (JSON.stringify(seen) !== JSON.stringify(server) || seen.a !== 600 || seen.overlap !== 200)
    throw new Error(
      `uniq state reader disagrees with the server: read ${JSON.stringify(seen)}, server ${JSON.stringify(server)}`,
    );
}

function conditionFor(source: StateSource, address: RowAddress): string | null {
  const columns = Object.keys(address.where);
  if (!columns.every((c) => source.keyColumns.includes(c))) return null;
  return columns.map((c) => `${sqlv.ident(c)} = ${address.where[c]}`).join(' AND ') || '1';
}

/** The stored hashes of one row: the raw states of every table holding it, read as bytes and united. */
export async function rowHashes(db: Db, sources: StateSource[], address: RowAddress): Promise<Set<number>> {
  const hashes = new Set<number>();
  for (const source of sources) {
    const where = conditionFor(source, address);
    if (where === null) continue;
    const bytes = await rowBinary(
      db,
      `SELECT ${sqlv.ident(source.column)} FROM ${sqlv.ident(source.table)} WHERE ${where}`,
    );
    for (const { states } of parseStates(bytes, 1, false)) for (const h of states[0]!) hashes.add(h);
  }
  return hashes;
}

/** Raw state intersection of two rows: how many stored hashes they share, with their sizes. */
export async function stateIntersection(
  db: Db,
  sources: StateSource[],
  a: RowAddress,
  b: RowAddress,
): Promise<{ sizeA: number; sizeB: number; shared: number }> {
  const [ha, hb] = [await rowHashes(db, sources, a), await rowHashes(db, sources, b)];
  return { sizeA: ha.size, sizeB: hb.size, shared: intersection(ha, hb) };
}

export type MergeEstimate = { sizes: number[]; overlap: (i: number, j: number) => number };

/**
 * Merge arithmetic over every pair of `rows` in one query: each row's states are grouped into its
 * own group and into one group per pair it belongs to (arrayJoin), `merge` counts each group, and
 * |A ∩ B| ≈ |A| + |B| − |A ∪ B|. The server does all the work; no state is parsed.
 */
export async function mergeArithmetic(db: Db, sources: StateSource[], rows: RowAddress[]): Promise<MergeEstimate> {
  const merges = new Set(sources.map((s) => `${s.merge} ${s.type}`));
  if (merges.size !== 1)
    throw new Error(`visitor states of several types (${[...merges].join('; ')}): attack each type`);
  const n = rows.length;
  const pairGroup = (i: number, j: number) => n + (i < j ? i * n + j : j * n + i);
  const branches = rows.flatMap((row, i) => {
    const groups = [i, ...rows.map((_, j) => pairGroup(i, j)).filter((_, j) => j !== i)];
    return sources.flatMap((source) => {
      const where = conditionFor(source, row);
      return where === null
        ? []
        : [
            `SELECT arrayJoin([${groups.map(sqlv.int).join(', ')}]) AS g, ${sqlv.ident(source.column)} AS s FROM ${sqlv.ident(source.table)} WHERE ${where}`,
          ];
    });
  });
  const counts = new Map<number, number>();
  if (branches.length > 0) {
    const merge = sources[0]!.merge;
    const result = await db.rows<{ g: string; u: string }>(
      `SELECT g, ${merge}(s) AS u FROM (${branches.join(' UNION ALL ')}) GROUP BY g`,
    );
    for (const r of result) counts.set(Number(r.g), Number(r.u));
  }
  const count = (g: number) => counts.get(g) ?? 0;
  return {
    sizes: rows.map((_, i) => count(i)),
    overlap: (i, j) => count(i) + count(j) - count(pairGroup(i, j)),
  };
}

/** Every row holding visitor states, in every table, where `where` applies (key: table and key columns). */
export async function allRowHashes(
  db: Db,
  sources: StateSource[],
  where: RowAddress,
): Promise<Map<string, Set<number>>> {
  const rows = new Map<string, Set<number>>();
  for (const source of sources) {
    const condition = conditionFor(source, where) ?? '1';
    const key = `concat(${[sqlv.str(source.table), ...source.keyColumns.map((c) => `'|', toString(${sqlv.ident(c)})`)].join(', ')})`;
    const bytes = await rowBinary(
      db,
      `SELECT ${key}, ${sqlv.ident(source.column)} FROM ${sqlv.ident(source.table)} WHERE ${condition}`,
    );
    for (const { key: rowKey, states } of parseStates(bytes, 1, true)) {
      const hashes = rows.get(rowKey) ?? new Set<number>();
      for (const h of states[0]!) hashes.add(h);
      rows.set(rowKey, hashes);
    }
  }
  return rows;
}

/**
 * What the sweep links: stored hashes found in more than one row, and the pair of rows sharing the
 * most. On unlinkable rows both are 32-bit collisions only.
 */
export function sharedAcrossRows(rows: Map<string, Set<number>>): {
  sharedHashes: number;
  maxPair: { rows: [string, string]; shared: number } | null;
  entries: number;
} {
  const rowsOf = new Map<number, string[]>();
  let entries = 0;
  for (const [key, hashes] of rows)
    for (const h of hashes) {
      entries++;
      const list = rowsOf.get(h);
      if (list) list.push(key);
      else rowsOf.set(h, [key]);
    }
  const pairs = new Map<string, number>();
  let sharedHashes = 0;
  for (const list of rowsOf.values()) {
    if (list.length < 2) continue;
    sharedHashes++;
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) {
        const pair = `${list[i]}\u0000${list[j]}`;
        pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      }
  }
  let maxPair: { rows: [string, string]; shared: number } | null = null;
  for (const [pair, shared] of pairs)
    if (!maxPair || shared > maxPair.shared) maxPair = { rows: pair.split('\u0000') as [string, string], shared };
  return { sharedHashes, maxPair, entries };
}

/**
 * The most 32-bit hash collisions chance explains: a Poisson count with mean λ = Σ |A||B| / 2^32 over
 * the compared pairs of sets exceeds it with probability below 10⁻⁹.
 */
export function collisionBound(pairProducts: number): number {
  const lambda = pairProducts / 2 ** 32;
  const terms = [Math.exp(-lambda)];
  for (let j = 1; j < lambda + 20 * Math.sqrt(lambda) + 40; j++) terms.push((terms[j - 1]! * lambda) / j);
  // P(X > k), summed from the far end so that tiny tails keep their precision.
  let tail = 0;
  const tails = terms.map(() => 0);
  for (let k = terms.length - 1; k >= 0; k--) {
    tails[k] = tail;
    tail += terms[k]!;
  }
  const bound = tails.findIndex((t) => t < 1e-9);
  if (bound < 0) throw new Error(`no collision bound for λ = ${lambda}`);
  return bound;
}
