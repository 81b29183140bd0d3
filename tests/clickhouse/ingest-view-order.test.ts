import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES, type Db } from '@confidant/shared';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * ClickHouse writes a table's views one after another, in the order of their names, without a
 * transaction. The processor and the sealer rely on the ledgers of the ingest table (offsets, import
 * lines, seals) being written last: an insert that fails while writing rollups must leave none of them
 * behind, or its retry would take it for applied and its counts would be lost for good.
 */
describe(`${TABLES.rollupIngest} views`, () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await prepareNamespace(isolatedConfig('vieworder')));
    // A view that fails on a marked daily row, named to run after the rollup views and before the ledgers.
    await db.command('CREATE TABLE probe (n UInt8) ENGINE = Null');
    await db.command(
      `CREATE MATERIALIZED VIEW rollup_zz_probe_mv TO probe AS SELECT throwIf(value = 'boom') AS n FROM ${TABLES.rollupIngest} WHERE kind = 'daily'`,
    );
  });
  afterAll(async () => cleanup?.());

  const block = (value: string) =>
    `INSERT INTO ${TABLES.rollupIngest} (kind, practice_id, day, hour, source, dim, value, states, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, visitor_count, consumer_group, topic, partition, next_offset, batch_id, import_key, word, bits) VALUES
      ('daily', 'p', '2026-11-01', 0, 'logs', 'page', '${value}', 1, 1, 0, 0, 0, 0, [7], 0, '', '', 0, 0, '', '', 0, 0),
      ('seal', 'p', '2026-11-01', 0, 'snippet', '', '', 1, 0, 0, 0, 0, 0, [], 0, '', '', 0, 0, '', '', 0, 0),
      ('lines', '', '1970-01-01', 0, 'snippet', '', '', 0, 0, 0, 0, 0, 0, [], 0, 'g', '', 0, 0, '', 'imp', 0, 2),
      ('ledger', '', '1970-01-01', 0, 'snippet', '', '', 0, 0, 0, 0, 0, 0, [], 0, 'g', 't', 0, 7, 'b', '', 0, 0)`;
  const count = async (sql: string) => Number((await db.rows<{ n: string }>(sql))[0]!.n);

  it('run the ledgers last: a failure among the rollup views writes no ledger', async () => {
    await expect(db.command(block('boom'))).rejects.toThrow();
    expect(await count(`SELECT toString(count()) AS n FROM ${TABLES.visitorSealLedger}`)).toBe(0);
    expect(await count(`SELECT toString(count()) AS n FROM processor_ledger WHERE consumer_group = 'g'`)).toBe(0);
    expect(await count(`SELECT toString(count()) AS n FROM import_line_ledger WHERE consumer_group = 'g'`)).toBe(0);
  });

  it('write all of a block that succeeds', async () => {
    await db.command(block('/ok'));
    expect(await count(`SELECT toString(max(next_offset)) AS n FROM processor_ledger WHERE consumer_group = 'g'`)).toBe(
      7,
    );
    expect(
      await count(`SELECT toString(groupBitOrMerge(bits)) AS n FROM import_line_ledger WHERE consumer_group = 'g'`),
    ).toBe(2);
    expect(await count(`SELECT toString(count()) AS n FROM ${TABLES.visitorSealLedger}`)).toBe(1);
  });
});
