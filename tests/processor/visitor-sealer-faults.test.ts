import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricMergeExpression, sqlv, TABLES, type Db } from '@confidant/shared';
import { sealClosedVisitorStates } from '@confidant/processor';
import {
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

/**
 * Review of the sealed storage (#15): what the sealer and the late-states layout do under faults and
 * to an attacker. The `it.fails` cases are defects found and not fixed here (see each comment): they
 * pass while the defect is there, and must become plain `it` when it is fixed.
 */
const dayMs = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const HOUR_MS = 3_600_000;

let h: ReporterHarness;
beforeAll(async () => {
  h = await startReporter('sealer-faults');
  await savePractices(
    h.control,
    practice('half-a'),
    practice('half-b'),
    practice('import-p'),
    practice('lone-p'),
    practice('stuck-p'),
    practice('next-p'),
    practice('lock-p'),
    practice('first-hit', { cookieMode: true }),
    practice('cookie-range', { cookieMode: true }),
  );
});
afterAll(async () => h?.cleanup());

const seal = (now: number) => sealClosedVisitorStates({ db: h.db, clickhouse: h.config.clickhouse, now: () => now });

const visitorsOf = async (db: Db, practiceId: string, day: string, dim = 'total', value = '') => {
  const [row] = await db.rows<{ v: string }>(
    `SELECT toString(${metricMergeExpression('visitors')}) AS v FROM ${TABLES.rollupDaily}
     WHERE practice_id = ${sqlv.str(practiceId)} AND day = ${sqlv.date(day)} AND dim = ${sqlv.str(dim)} AND value = ${sqlv.str(value)}`,
  );
  return Number(row?.v ?? 0);
};

describe('visitor sealer under faults', () => {
  // Defect: a unit's practices are sealed one block at a time and its partition is dropped only after
  // the last, so meanwhile every sealed practice has its count and its states, and readers
  // (uniqArrayMerge(visitors) + sumMerge(visitors_closed)) see its visitors twice. Normally for the
  // length of one sealing run; after a failure until the next successful run (SEAL_EVERY_MS, and not
  // at all while PostgreSQL, whose advisory lock every run needs, is away; for good while one
  // practice's block keeps being refused, which also stops every later unit from being sealed).
  it.fails("keeps a closed day's visitors unchanged while its sealing is half way", async () => {
    await new RollupFixture()
      .daily({ practiceId: 'half-a', day: '2024-06-01', dim: 'total', pageviews: 2, visitors: [1, 2] })
      .daily({ practiceId: 'half-b', day: '2024-06-01', dim: 'total', pageviews: 1, visitors: [3] })
      .flush(h.db);
    expect(await visitorsOf(h.db, 'half-a', '2024-06-01')).toBe(2);
    // ClickHouse goes away after the first practice's block: the second one's reads fail.
    let first: string | null = null;
    const goneAfterFirst: Db = {
      ...h.db,
      rows: async <T>(sql: string) => {
        const practiceId = /practice_id = '(half-[ab])'/.exec(sql)?.[1];
        if (practiceId && (first ??= practiceId) !== practiceId) throw new Error('ClickHouse went away');
        return h.db.rows<T>(sql);
      },
    };
    await expect(
      sealClosedVisitorStates({
        db: goneAfterFirst,
        clickhouse: h.config.clickhouse,
        now: () => dayMs('2024-06-03') + 2 * HOUR_MS,
      }),
    ).rejects.toThrow('went away');
    expect(first).not.toBeNull();
    expect(await visitorsOf(h.db, first!, '2024-06-01')).toBe(first === 'half-a' ? 2 : 1);
  });

  // Defect: late states are kept by the hour they were written, and each hour is sealed into counts
  // of its own that are summed, so a visitor of an old day whose events are written in two hours (an
  // access-log import that runs across the turn of an hour, a batch retried later, processor lag)
  // counts twice in the day's rows; before the first of those hours is sealed readers merge the
  // states and count once, so the report also changes at sealing. Same for late monthly-salt states.
  it.fails("counts an old day's visitor once when its late events were written in two hours", async () => {
    const [h1, h2] = [480_100, 480_101];
    await new RollupFixture()
      .daily({ practiceId: 'import-p', day: '2024-02-10', dim: 'total', pageviews: 2, visitors: [5, 6], lateHour: h1 })
      .flush(h.db);
    await seal((h1 + 2) * HOUR_MS);
    await new RollupFixture()
      .daily({ practiceId: 'import-p', day: '2024-02-10', dim: 'total', pageviews: 2, visitors: [6, 7], lateHour: h2 })
      .flush(h.db);
    await seal((h2 + 2) * HOUR_MS);
    expect(await visitorsOf(h.db, 'import-p', '2024-02-10')).toBe(3);
  });

  it('seals every other closed unit when the sealing of one keeps failing', async () => {
    // A block refused every time (memory, too many parts, a bug) must not keep every later day's
    // states past their deadline.
    await new RollupFixture()
      .daily({ practiceId: 'stuck-p', day: '2024-10-01', dim: 'total', pageviews: 1, visitors: [1] })
      .daily({ practiceId: 'next-p', day: '2024-10-05', dim: 'total', pageviews: 1, visitors: [2] })
      .flush(h.db);
    const refusingStuck: Db = {
      ...h.db,
      rows: async <T>(sql: string) => {
        if (sql.includes("practice_id = 'stuck-p'")) throw new Error('refused');
        return h.db.rows<T>(sql);
      },
    };
    const run = sealClosedVisitorStates({
      db: refusingStuck,
      clickhouse: h.config.clickhouse,
      now: () => dayMs('2024-10-08'),
    });
    await expect(run).rejects.toThrow('refused');
    const [open] = await h.db.rows<{ stuck: string; next: string }>(
      `SELECT toString(countIf(practice_id = 'stuck-p')) AS stuck, toString(countIf(practice_id = 'next-p')) AS next
       FROM ${TABLES.rollupDaily} WHERE states != 0`,
    );
    expect(open).toEqual({ stuck: '1', next: '0' });
    expect(await visitorsOf(h.db, 'next-p', '2024-10-05')).toBe(1);
  });

  it('stops sealing once its PostgreSQL lock is gone', async () => {
    // The advisory lock lives as long as its connection: after a PostgreSQL restart another processor
    // takes it and seals too, and what both seal counts twice. The holder checks before each block.
    await new RollupFixture()
      .daily({ practiceId: 'lock-p', day: '2024-11-01', dim: 'total', pageviews: 2, visitors: [1, 2] })
      .flush(h.db);
    const run = h.control.exclusively('confidant.visitor-sealer', async (stillHeld) => {
      await h.control.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      return sealClosedVisitorStates({
        db: h.db,
        clickhouse: h.config.clickhouse,
        now: () => dayMs('2024-11-04'),
        stillExclusive: stillHeld,
      });
    });
    await expect(run).rejects.toThrow();
    const [sealedRows] = await h.db.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${TABLES.visitorSealLedger} WHERE practice_id = 'lock-p'`,
    );
    expect(sealedRows!.n).toBe('0');
    expect(await visitorsOf(h.db, 'lock-p', '2024-11-01')).toBe(2);
  });

  // Defect: the processor decides by its own clock whether a day's states are still open, the sealer
  // by its own, an hour later (SEAL_MARGIN_MS). States that still land in a partition after it was
  // sealed (a processor host whose clock is more than that behind, an insert that took that long) are
  // dropped uncounted at the next run for every practice the seal ledger already has, silently (the
  // audit sees nothing); only practices sealed for the first time are counted.
  it.fails('counts states that landed in a partition after it was sealed', async () => {
    await new RollupFixture()
      .daily({ practiceId: 'half-a', day: '2024-06-10', dim: 'total', pageviews: 2, visitors: [1, 2] })
      .flush(h.db);
    await seal(dayMs('2024-06-12') + 2 * HOUR_MS);
    expect(await visitorsOf(h.db, 'half-a', '2024-06-10')).toBe(2);
    // A processor whose clock says 2024-06-11 still writes the day as open.
    await new RollupFixture()
      .daily({ practiceId: 'half-a', day: '2024-06-10', dim: 'total', pageviews: 1, visitors: [3] })
      .flush(h.db);
    await seal(dayMs('2024-06-12') + 3 * HOUR_MS);
    expect(await visitorsOf(h.db, 'half-a', '2024-06-10')).toBe(3);
  });
});

describe('reports across sealing', () => {
  // Defect: the stats API merges visitors over a day range with metricMergeExpression('visitors'):
  // while a cookie-mode month is open its states give the range's unique browsers, once sealed each
  // day is a count and the range is the sum of its days' (visitor-days), so the same request's
  // visitors jump when the month is sealed (the monthly report is spared: it reads
  // rollup_monthly_visitors). Exact unique browsers over an arbitrary range cannot survive sealing;
  // the API has to define range visitors one way (e.g. always the sum of days, or months through
  // rollup_monthly_visitors) and say so.
  it.fails(
    "gives a cookie-mode breakdown over a range the same visitors before and after its month's seal",
    async () => {
      await new RollupFixture()
        .daily({
          practiceId: 'cookie-range',
          day: '2024-07-01',
          dim: 'page',
          value: '/a',
          pageviews: 2,
          visitors: [1, 2],
          monthlySalt: true,
        })
        .daily({
          practiceId: 'cookie-range',
          day: '2024-07-02',
          dim: 'page',
          value: '/a',
          pageviews: 2,
          visitors: [2, 3],
          monthlySalt: true,
        })
        .flush(h.db);
      const pageVisitors = async () =>
        (
          await h.app.inject({
            url: '/v1/practices/cookie-range/stats/breakdown?from=2024-07-01&to=2024-07-31&dimension=page&metrics=visitors',
            headers: adminAuth,
          })
        ).json();
      // Three unique browsers, one of them on both days.
      expect((await pageVisitors()).rows).toEqual([{ value: '/a', visitors: 3 }]);
      await seal(dayMs('2024-08-02') + 2 * HOUR_MS);
      expect((await pageVisitors()).rows).toEqual([{ value: '/a', visitors: 3 }]);
    },
  );
});

describe('an attacker reading the states of one partition', () => {
  // Defect: rows are unlinkable by their values, but late states are partitioned and keyed by the hour
  // they were written in, and that hour links them: one visitor whose events came late (a spooled
  // beacon, a day that closed while ClickHouse was down, an import of an old day's few lines) is,
  // until the sealer runs 1–2 h later, the only visitor in every row of that written hour, which
  // lists their pages, entry, referrer, country, browser, OS and device of the day; the hourly rows
  // of the same written hour add the hours they were active.
  it.fails('cannot rebuild a lone late visitor’s day from the rows of one written hour', async () => {
    const written = 480_200;
    const profile = ['country=DE', 'device=mobile', 'page=/oncology/second-opinion', 'total='];
    const fixture = new RollupFixture();
    // The day itself, sealed long ago: many visitors, counts only.
    for (const row of [...profile, 'page=/', 'country=FR'])
      fixture.daily({
        practiceId: 'lone-p',
        day: '2024-02-20',
        dim: row.split('=')[0]!,
        value: row.split('=')[1]!,
        pageviews: 40,
        sealedVisitors: 30,
      });
    // One late visitor, with values as the processor writes them (unrelated between rows).
    profile.forEach((row, i) =>
      fixture.daily({
        practiceId: 'lone-p',
        day: '2024-02-20',
        dim: row.split('=')[0]!,
        value: row.split('=')[1]!,
        pageviews: 1,
        visitors: [1000 + i * 7919],
        lateHour: written,
      }),
    );
    await fixture.flush(h.db);
    // The attacker's read: rows of late states, grouped by the hour they were written in.
    const groups = await h.db.rows<{ wh: number; rows: string[]; most: string }>(
      `SELECT written_hour AS wh, arraySort(groupArray(row)) AS rows, toString(max(n)) AS most FROM (
         SELECT written_hour, concat(dim, '=', value) AS row, uniqArrayMerge(visitors) AS n
         FROM ${TABLES.rollupDaily} WHERE practice_id = 'lone-p' AND states IN (3, 4)
         GROUP BY written_hour, dim, value) AS late_rows
       GROUP BY written_hour`,
    );
    const rebuilt = groups.find((g) => Number(g.most) === 1 && g.rows.includes('total='));
    expect(rebuilt?.rows).not.toEqual(profile);
  });
});
