import { describe, expect, test } from 'vitest';
import { portabilitySamples } from './portability-samples.ts';

// Static checks of the portability rules (docs: /work/shared/clickhouse-compat.md); the samples
// themselves are run on 18.16 by the integration tests and on modern ClickHouse by the chdb check.
describe('reporter SQL portability', () => {
  const samples = portabilitySamples();

  test('one sample per builder, uniquely named', () => {
    expect(new Set(samples.map((s) => s.name)).size).toBe(samples.length);
  });

  test.each(samples)('$name avoids constructs 18.16 or 24.x reject', ({ sql }) => {
    expect(sql).not.toMatch(/\bWITH\s+\w+\s+AS\s*\(/i); // CTE
    expect(sql).not.toMatch(/\bOVER\s*\(/i); // window functions
    expect(sql).not.toMatch(/IN \(\)/);
    expect(sql).not.toMatch(/\{[a-z_]+:[A-Za-z]+\}/); // query parameters
    expect(sql).not.toMatch(/\b(ORDER|GROUP) BY \d/);
    expect(sql).not.toMatch(/\bJOIN\b/);
    expect(sql).not.toMatch(/;/);
  });

  test('string values are escaped', () => {
    const daily = samples.find((s) => s.name === 'reporter.dailyTotals')!.sql;
    expect(daily).toContain("'o\\'brien\\\\clinic'");
  });
});
