import { sqlv } from '@confidant/shared';
import {
  DAILY,
  dailyKeyConditions,
  metricSelect,
  type BreakdownDimension,
  type RangeFilter,
} from './rollup-metrics.ts';

/** One value of one dimension per day (`d`): the days the value has rows. */
export function valueSeriesSql(p: RangeFilter & { dimension: BreakdownDimension; value: string }): string {
  return (
    `SELECT toString(day) AS d, ${metricSelect(['pageviews', 'visits', 'events'])} FROM ${DAILY}` +
    ` PREWHERE ${dailyKeyConditions(p, [p.dimension])} WHERE value = ${sqlv.str(p.value)} GROUP BY d ORDER BY d`
  );
}
