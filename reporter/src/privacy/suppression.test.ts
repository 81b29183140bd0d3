import { describe, expect, test } from 'vitest';
import { suppressCells } from './suppression.ts';

/** A 2-D table with published row, column and grand totals, as cells and equations. */
function table(values: number[][]) {
  const cells = new Map<string, number>();
  const groups: string[][] = [];
  values.forEach((row, r) => row.forEach((v, c) => cells.set(`${r},${c}`, v)));
  values.forEach((row, r) => {
    cells.set(
      `${r},T`,
      row.reduce((a, b) => a + b, 0),
    );
    groups.push([...row.map((_, c) => `${r},${c}`), `${r},T`]);
  });
  values[0]!.forEach((_, c) => {
    cells.set(
      `T,${c}`,
      values.reduce((a, row) => a + row[c]!, 0),
    );
    groups.push([...values.map((_, r) => `${r},${c}`), `T,${c}`]);
  });
  cells.set(
    'T,T',
    [...cells.entries()].filter(([k]) => k.endsWith(',T') && k !== 'T,T').reduce((a, [, v]) => a + v, 0),
  );
  groups.push([...values.map((_, r) => `${r},T`), 'T,T']);
  groups.push([...values[0]!.map((_, c) => `T,${c}`), 'T,T']);
  return { cells, groups };
}

/** True when some published equation has exactly one suppressed term (it could be solved). */
const recoverable = (groups: string[][], suppressed: Set<string>) =>
  groups.some((g) => g.filter((k) => suppressed.has(k)).length === 1);

describe('cell suppression', () => {
  test('cells from 1 to the threshold are suppressed; zero and larger cells are not', () => {
    const cells = new Map([
      ['a', 0],
      ['b', 1],
      ['c', 10],
      ['d', 11],
    ]);
    const r = suppressCells({ cells, groups: [], threshold: 10 });
    expect([...r.primary].sort()).toEqual(['b', 'c']);
    expect(r.complementary.size).toBe(0);
  });

  test('one suppressed cell in a summed row forces the next smallest', () => {
    const cells = new Map([
      ['us', 100],
      ['ca', 30],
      ['de', 4],
      ['fr', 50],
      ['total', 184],
    ]);
    const r = suppressCells({ cells, groups: [['us', 'ca', 'de', 'fr', 'total']], threshold: 10 });
    expect([...r.primary]).toEqual(['de']);
    expect([...r.complementary]).toEqual(['ca']);
  });

  test('a suppressed total cannot be recovered from its published members', () => {
    const cells = new Map([
      ['a', 3],
      ['b', 4],
      ['total', 7],
    ]);
    const r = suppressCells({ cells, groups: [['a', 'b', 'total']], threshold: 10 });
    expect([...r.suppressed].sort()).toEqual(['a', 'b', 'total']);
    const single = suppressCells({
      cells: new Map([
        ['a', 50],
        ['b', 60],
        ['total', 8],
      ]),
      groups: [['a', 'b', 'total']],
      threshold: 10,
    });
    expect([...single.complementary]).toEqual(['a']);
  });

  test('2-D table: complements propagate across rows and columns to a fixed point', () => {
    const { cells, groups } = table([
      [5, 40, 60],
      [30, 25, 70],
      [45, 80, 90],
    ]);
    const r = suppressCells({ cells, groups, threshold: 10 });
    expect([...r.primary]).toEqual(['0,0']);
    // row 0 → 0,1 (40); column 0 → 1,0 (30); then row 1 has 1,0 alone → 1,1 (25); column 1 has 0,1 and 1,1 → fine
    expect([...r.complementary].sort()).toEqual(['0,1', '1,0', '1,1']);
    expect(recoverable(groups, r.suppressed)).toBe(false);
  });

  test('random tables never leave a solvable equation', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      const width = 2 + Math.floor(rand() * 4);
      const values = Array.from({ length: 2 + Math.floor(rand() * 4) }, () =>
        Array.from({ length: width }, () => Math.floor(rand() * 40)),
      );
      const { cells, groups } = table(values);
      const r = suppressCells({ cells, groups, threshold: 10 });
      expect(recoverable(groups, r.suppressed)).toBe(false);
      for (const k of r.primary) expect(cells.get(k)! >= 1 && cells.get(k)! <= 10).toBe(true);
    }
  });

  test('a cell the caller suppresses (too few practices) is protected like a primary one', () => {
    const cells = new Map([
      ['a', 500],
      ['b', 40],
      ['c', 60],
      ['total', 600],
    ]);
    const r = suppressCells({
      cells,
      groups: [['a', 'b', 'c', 'total']],
      threshold: 10,
      alsoSuppressed: new Set(['a']),
    });
    expect([...r.primary]).toEqual(['a']);
    // alone it would be the total minus the others: the smallest other one goes too
    expect([...r.complementary]).toEqual(['b']);
  });
});
