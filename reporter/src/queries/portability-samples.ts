import { REPORT_SECTIONS } from '../report/monthly-report.ts';
import { breakdownSql, sectionsSql } from './breakdown.query.ts';
import { baseVisitsSql, GOAL_BREAKDOWN_DIMS, goalBreakdownsSql, goalTotalsSql, visitTotalSql } from './goals.query.ts';
import { dailyTotalsSql, monthVisitorsSql, sourceTotalsSql } from './monthly-report.query.ts';
import { partnerDataSinceSql, partnerExportSql, partnerOpenDaysSql } from './partner-export.query.ts';
import { timeseriesSql } from './timeseries.query.ts';

/**
 * One representative statement per query builder, for the portability check that runs them on
 * a modern ClickHouse (chdb) after the migrations. Values include quotes and backslashes so the
 * escaping is exercised too.
 */
export function portabilitySamples(): Array<{ name: string; sql: string }> {
  const range = { practiceId: "o'brien\\clinic", source: 'snippet' as const, from: '2024-02-01', to: '2024-02-29' };
  return [
    { name: 'reporter.sourceTotals', sql: sourceTotalsSql(range) },
    { name: 'reporter.dailyTotals', sql: dailyTotalsSql(range) },
    { name: 'reporter.monthVisitors', sql: monthVisitorsSql({ ...range, dims: ['total', 'page'] }) },
    {
      name: 'reporter.breakdown',
      sql: breakdownSql({
        ...range,
        dimension: 'page',
        metrics: ['pageviews', 'visitors', 'events'],
        orderBy: 'visits',
        limit: 10,
      }),
    },
    { name: 'reporter.reportSections', sql: sectionsSql({ ...range, sections: REPORT_SECTIONS, limit: 10 }) },
    {
      name: 'reporter.timeseries.day',
      sql: timeseriesSql({ ...range, interval: 'day', metrics: ['pageviews', 'visits', 'visitors', 'events'] }),
    },
    {
      name: 'reporter.timeseries.hour',
      sql: timeseriesSql({ ...range, interval: 'hour', metrics: ['pageviews', 'bounces', 'engaged_ms', 'visitors'] }),
    },
    { name: 'reporter.goalTotals', sql: goalTotalsSql(range) },
    { name: 'reporter.visitTotal', sql: visitTotalSql(range) },
    {
      name: 'reporter.goalBreakdowns',
      sql: goalBreakdownsSql({ ...range, goalId: 'book-online', breakdowns: GOAL_BREAKDOWN_DIMS, limit: 10 }),
    },
    {
      name: 'reporter.goalBaseVisits',
      sql: baseVisitsSql({
        ...range,
        values: new Map([
          ['channel', ['Paid Search', "it's"]],
          ['utm_campaign', ['back\\slash']],
        ]),
      }),
    },
    {
      name: 'reporter.partnerExport',
      sql: partnerExportSql({
        practiceIds: ['a', "b'c"],
        from: '2024-02-01',
        to: '2024-02-29',
        cap: 50000,
      }),
    },
    {
      name: 'reporter.partnerExport.none',
      sql: partnerExportSql({
        practiceIds: [],
        from: '2024-02-01',
        to: '2024-02-29',
        cap: 50000,
      }),
    },
    { name: 'reporter.partnerOpenDays', sql: partnerOpenDaysSql('2024-02-01', '2024-02-29') },
    { name: 'reporter.partnerDataSince', sql: partnerDataSinceSql() },
  ];
}
