import { describe, expect, it } from 'vitest';
import {
  GOAL_BREAKDOWNS,
  MONTHLY_VISITORS_TABLE,
  PARTNER_VISITOR_DAYS_TABLE,
  ROLLUP_DIMENSIONS,
  ROLLUP_METRICS,
  ROLLUP_TABLES,
  type RollupStateColumn,
} from '@confidant/shared';
import { REPORT_SECTIONS } from '../report/monthly-report.ts';
import { portabilitySamples } from './portability-samples.ts';
import { BREAKDOWN_DIMENSIONS, DAILY, HOURLY, HOURLY_METRICS, METRICS, metricSelect } from './rollup-metrics.ts';

// The reporter's reads against the rollup schema (which tests/clickhouse checks against the migrations).
describe('the reporter reads the rollups by the rollup schema', () => {
  it('offers the metrics each table keeps, and breakdowns of every dimension but the totals and goal breakdowns', () => {
    expect(METRICS).toEqual(ROLLUP_TABLES.daily.metrics);
    expect(HOURLY_METRICS).toEqual(ROLLUP_TABLES.hourly.metrics);
    // A goal's breakdowns are read through the goal stats, with their rates.
    expect(['total', ...BREAKDOWN_DIMENSIONS, ...Object.keys(GOAL_BREAKDOWNS)]).toEqual([...ROLLUP_DIMENSIONS]);
    expect([DAILY, HOURLY]).toEqual([`\`${ROLLUP_TABLES.daily.name}\``, `\`${ROLLUP_TABLES.hourly.name}\``]);
  });

  it('merges each metric with its own aggregate', () => {
    expect(metricSelect(['pageviews', 'visitors'])).toBe(
      'sumMerge(pageviews) AS `m_pageviews`, (uniqArrayMerge(visitors) + sumMerge(visitors_closed)) AS `m_visitors`',
    );
  });

  it('reports only metrics and dimensions the daily table has', () => {
    for (const s of REPORT_SECTIONS) {
      expect(BREAKDOWN_DIMENSIONS, s.key).toContain(s.dim);
      for (const m of [...s.metrics, s.orderBy]) expect(METRICS, s.key).toContain(m);
    }
  });

  // 18.16 moves no condition to PREWHERE itself; there the key columns are read first and the state columns only where they match.
  it('reads the daily rollups with their key conditions in PREWHERE', () => {
    const daily = portabilitySamples().filter(({ sql }) => sql.includes(`FROM ${DAILY} `));
    expect(daily.length).toBeGreaterThan(3);
    for (const { name, sql } of daily.filter(({ name }) => !/monthVisitors|partnerExport/.test(name)))
      expect(sql, name).toMatch(new RegExp(`FROM ${DAILY} PREWHERE practice_id = .* AND day BETWEEN `));
  });

  it('merges metric columns in its SQL only as the schema says', () => {
    const merges = new Set([
      ...(Object.keys(ROLLUP_METRICS) as RollupStateColumn[]).map((c) => `${ROLLUP_METRICS[c].aggregate}Merge(${c})`),
      MONTHLY_VISITORS_TABLE.visitorsMerge,
      PARTNER_VISITOR_DAYS_TABLE.sealedMerge,
    ]);
    for (const { name, sql } of portabilitySamples())
      for (const merge of sql.match(/\b\w+Merge\(\w+\)/g) ?? []) expect(merges, name).toContain(merge);
  });
});
