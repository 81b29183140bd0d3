import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlv, type Db } from '@confidant/shared';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const { str, int, float, date, inList, likePrefix } = sqlv;

/** Hostile values from the compat notes: each must round-trip byte for byte through the real server. */
const HOSTILE = [
  "\\'; DROP TABLE l; --",
  'trailing backslash\\',
  "x' OR '1'='1",
  '{s:String}',
  'emoji 🩺 ünïcödé 漢字',
  'nul\0byte',
  'lines\nand\rreturns\tand\btabs\f',
  '',
];

describe('SQL value helper against the real ClickHouse server', () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await prepareNamespace(isolatedConfig('sqlvalues')));
    await db.command('CREATE TABLE l (id UInt32, s String) ENGINE = MergeTree() ORDER BY id');
  });
  afterAll(async () => cleanup?.());

  it.each(HOSTILE.map((v, i) => [i, v] as const))(
    'round-trips hostile value #%i through SELECT and INSERT … VALUES',
    async (i, value) => {
      const [selected] = await db.rows<{ s: string }>(`SELECT ${str(value)} AS s`);
      expect(selected?.s).toBe(value);
      await db.command(`INSERT INTO l (id, s) VALUES (${int(i)}, ${str(value)})`);
      const [stored] = await db.rows<{ s: string }>(`SELECT s FROM l WHERE id = ${int(i)}`);
      expect(stored?.s).toBe(value);
    },
  );

  it('an injected OR matches exactly the one row whose value it is', async () => {
    const rows = await db.rows<{ id: number }>(`SELECT id FROM l WHERE s = ${str("x' OR '1'='1")}`);
    expect(rows).toEqual([{ id: 2 }]);
    const count = await db.rows<{ c: string }>('SELECT count() AS c FROM l');
    expect(Number(count[0]?.c)).toBe(HOSTILE.length);
  });

  it('round-trips random strings', async () => {
    const samples = fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), 200);
    const query = samples.map((s, i) => `SELECT ${int(i)} AS i, ${str(s)} AS s`).join(' UNION ALL ');
    const rows = await db.rows<{ i: number; s: string }>(`SELECT i, s FROM (${query}) ORDER BY i`);
    expect(rows.map((r) => r.s)).toEqual(samples);
  });

  it('handles numbers, dates, empty lists and LIKE prefixes the way the server reads them', async () => {
    const [row] = await db.rows<Record<string, string | number>>(
      `SELECT 10 - ${int(-1)} AS a, ${float(5e-324)} AS b, toString(${date('2024-02-29')}) AS c, ${inList('1', [], int)} AS d, ${int('18446744073709551615')} AS e, '50%_off' LIKE ${likePrefix('50%_')} AS f, 'a5xyz' LIKE ${likePrefix('5%')} AS g`,
    );
    expect(row).toMatchObject({ a: 11, b: 0, c: '2024-02-29', d: 0, e: '18446744073709551615', f: 1, g: 0 });
  });
});
