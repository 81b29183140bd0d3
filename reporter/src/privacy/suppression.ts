/**
 * Cell suppression for published tables (CMS cell-size rule).
 *
 * Primary: a cell whose value is between 1 and the threshold is suppressed, and so is every cell the
 * caller names (`alsoSuppressed`). Complementary:
 * every published sum (a row, a column, a grand total) is a linear equation over its cells
 * and its total; an equation with exactly one suppressed term gives that term away, so the
 * smallest still-published term of that equation is suppressed too, until nothing changes.
 * Totals are cells here like any other, so a suppressed total is protected the same way.
 */
export type SuppressionInput = {
  cells: ReadonlyMap<string, number>;
  /** Each group lists the cell keys of one equation: its members and the key of their total. */
  groups: ReadonlyArray<readonly string[]>;
  threshold: number;
  /** Cells suppressed whatever their value (a primary rule decided elsewhere, on noisy values too). */
  alsoSuppressed?: ReadonlySet<string>;
};

export type SuppressionResult = { primary: Set<string>; complementary: Set<string>; suppressed: Set<string> };

export function suppressCells({ cells, groups, threshold, alsoSuppressed }: SuppressionInput): SuppressionResult {
  const valueOf = (key: string): number => {
    const v = cells.get(key);
    if (v === undefined) throw new Error(`group refers to unknown cell ${key}`);
    return v;
  };
  const primary = new Set<string>();
  for (const [key, value] of cells)
    if ((value >= 1 && value <= threshold) || alsoSuppressed?.has(key)) primary.add(key);
  const suppressed = new Set(primary);
  const complementary = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const group of groups) {
      const hidden = group.filter((k) => suppressed.has(k));
      if (hidden.length !== 1) continue;
      const candidates = group
        .filter((k) => !suppressed.has(k))
        .sort((a, b) => valueOf(a) - valueOf(b) || (a < b ? -1 : a > b ? 1 : 0));
      const next = candidates[0];
      if (next === undefined) continue;
      suppressed.add(next);
      complementary.add(next);
      changed = true;
    }
  }
  return { primary, complementary, suppressed };
}
