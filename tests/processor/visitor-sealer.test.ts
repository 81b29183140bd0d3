import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricMergeExpression, runPrivacyAudit, sqlv, TABLES, type Db } from '@confidant/shared';
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
 * The sealer turns the visitor states of closed salt periods into plain counts, exactly, once, and
 * drops the states: no report changes, nothing of a visitor value remains, and a sealing that stops
 * half way (a crash, ClickHouse refusing the drop) is not counted twice when it runs again.
 */
const DAY_MS = 86_400_000;
const dayMs = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

let h: ReporterHarness;
beforeAll(async () => {
  h = await startReporter('sealer');
  await savePractices(h.control, practice('daily-p'), practice('cookie-p', { cookieMode: true }), practice('late-p'));
  await new RollupFixture()
    // Daily salt, 2024-03-01, in two parts that share visitor 3.
    .daily({ practiceId: 'daily-p', day: '2024-03-01', dim: 'total', pageviews: 3, visits: 2, visitors: [1, 2, 3] })
    .daily({ practiceId: 'daily-p', day: '2024-03-01', dim: 'total', pageviews: 1, visitors: [3, 4] })
    .daily({ practiceId: 'daily-p', day: '2024-03-01', dim: 'page', value: '/a', pageviews: 2, visitors: [1, 2] })
    .hourly({ practiceId: 'daily-p', day: '2024-03-01', hour: 9, pageviews: 4, visitors: [1, 2, 3, 4] })
    // Daily salt, 2024-03-02: still open when the first day is sealed.
    .daily({ practiceId: 'daily-p', day: '2024-03-02', dim: 'total', pageviews: 1, visits: 1, visitors: [9] })
    // Monthly salt (cookie mode): visitor 2 on two days, one unique browser of the month.
    .daily({
      practiceId: 'cookie-p',
      day: '2024-03-01',
      dim: 'total',
      pageviews: 2,
      visits: 2,
      visitors: [1, 2],
      monthlySalt: true,
    })
    .daily({
      practiceId: 'cookie-p',
      day: '2024-03-02',
      dim: 'total',
      pageviews: 2,
      visits: 2,
      visitors: [2, 3],
      monthlySalt: true,
    })
    .daily({
      practiceId: 'cookie-p',
      day: '2024-03-02',
      dim: 'page',
      value: '/a',
      pageviews: 2,
      visitors: [2, 3],
      monthlySalt: true,
    })
    // Late: an import of an old day, written in one hour.
    .daily({
      practiceId: 'late-p',
      day: '2024-01-10',
      dim: 'total',
      pageviews: 5,
      visits: 3,
      visitors: [5, 6, 7],
      lateHour: 480_000,
    })
    .flush(h.db);
});
afterAll(async () => h?.cleanup());

const figures = async (db: Db, practiceId: string) =>
  Object.fromEntries(
    (
      await db.rows<{ k: string; pv: string; v: string }>(
        `SELECT concat(toString(day), ' ', dim, '=', value) AS k, toString(sumMerge(pageviews)) AS pv, toString(${metricMergeExpression('visitors')}) AS v
         FROM ${TABLES.rollupDaily} WHERE practice_id = ${sqlv.str(practiceId)} GROUP BY k ORDER BY k`,
      )
    ).map((r) => [r.k, `${r.pv}/${r.v}`]),
  );
const openStates = async (db: Db) =>
  Number(
    (
      await db.rows<{ n: string }>(
        `SELECT toString(count()) AS n FROM (SELECT states FROM ${TABLES.rollupDaily} WHERE states != 0 UNION ALL SELECT states FROM ${TABLES.rollupHourly} WHERE states != 0) AS open`,
      )
    )[0]!.n,
  );
const report = async (practiceId: string) =>
  (await h.app.inject({ url: `/v1/practices/${practiceId}/reports/monthly?month=2024-03`, headers: adminAuth })).json();

const lingering = async (at: number) =>
  (await runPrivacyAudit({ db: h.db, topicPrefix: 'none', retentionMonths: 1200, now: new Date(at) })).findings
    .filter((f) => f.kind === 'visitor-states')
    .map((f) => `${f.table}: ${f.detail.split(' are ')[0]}`);

describe('visitor sealer', () => {
  it('is checked by the privacy audit: states past their seal deadline are a finding', async () => {
    // 2024-03-01 closes at 2024-03-03 00:00 UTC; the deadline is three hours later.
    expect(await lingering(dayMs('2024-03-03') + 2 * 3_600_000)).toEqual([]);
    expect(await lingering(dayMs('2024-03-03') + 4 * 3_600_000)).toEqual([
      `${TABLES.rollupDaily}: visitor states of 2024-03-01 (states 1)`,
      `${TABLES.rollupHourly}: visitor states of 2024-03-01 (states 1)`,
    ]);
  });

  it('leaves open periods alone, and seals a closed day into the exact counts its states gave', async () => {
    const before = await figures(h.db, 'daily-p');
    expect(before).toEqual({ '2024-03-01 page=/a': '2/2', '2024-03-01 total=': '4/4', '2024-03-02 total=': '1/1' });
    const seal = (at: number) => sealClosedVisitorStates({ db: h.db, clickhouse: h.config.clickhouse, now: () => at });
    // The day closes two UTC midnights later; the sealer waits an hour more.
    expect(await seal(dayMs('2024-03-03') + 30 * 60_000)).toEqual([]);
    const sealed = await seal(dayMs('2024-03-03') + 61 * 60_000);
    expect(sealed.map((u) => [u.states, new Date(u.day * DAY_MS).toISOString().slice(0, 10)])).toEqual([
      [1, '2024-03-01'],
    ]);
    expect(await figures(h.db, 'daily-p')).toEqual(before);
    const [hour] = await h.db.rows<{ v: string }>(
      `SELECT toString(${metricMergeExpression('visitors')}) AS v FROM ${TABLES.rollupHourly} WHERE practice_id = 'daily-p' AND hour = 9`,
    );
    expect(hour!.v).toBe('4');
    const [left] = await h.db.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${TABLES.rollupDaily} WHERE practice_id = 'daily-p' AND day = '2024-03-01' AND states != 0`,
    );
    expect(left!.n).toBe('0');
  });

  it('keeps a cookie-mode month its unique browsers after its states are sealed', async () => {
    const before = await report('cookie-p');
    expect(before.totals.visitors.value).toBe(3);
    expect(before.sections.pages).toEqual([{ value: '/a', pageviews: 2, visitors: 2 }]);
    await sealClosedVisitorStates({
      db: h.db,
      clickhouse: h.config.clickhouse,
      now: () => dayMs('2024-04-02') + 2 * 3_600_000,
    });
    const after = await report('cookie-p');
    expect(after.totals).toEqual(before.totals);
    expect(after.sections).toEqual(before.sections);
    expect(after.daily).toEqual(before.daily);
    // Cookieless: the month is the sum of its days, before and after.
    expect((await report('daily-p')).totals.visitors.value).toBe(5);
  });

  it('seals late states an hour after the hour they were written in', async () => {
    expect(await figures(h.db, 'late-p')).toEqual({ '2024-01-10 total=': '5/3' });
    await sealClosedVisitorStates({
      db: h.db,
      clickhouse: h.config.clickhouse,
      now: () => 480_001 * 3_600_000 + 59 * 60_000,
    });
    expect(await figures(h.db, 'late-p')).toEqual({ '2024-01-10 total=': '5/3' });
    await sealClosedVisitorStates({ db: h.db, clickhouse: h.config.clickhouse, now: () => 480_002 * 3_600_000 });
    expect(await figures(h.db, 'late-p')).toEqual({ '2024-01-10 total=': '5/3' });
    expect(await openStates(h.db)).toBe(0);
    expect(await lingering(dayMs('2030-01-01'))).toEqual([]);
  });

  it('counts a sealing that stopped before its drop once when it runs again', async () => {
    await new RollupFixture()
      .daily({ practiceId: 'daily-p', day: '2024-05-01', dim: 'total', pageviews: 2, visitors: [1, 2] })
      .flush(h.db);
    const now = () => dayMs('2024-05-04');
    const refusingDrops: Db = {
      ...h.db,
      command: async (sql: string) => {
        if (/DROP PARTITION/.test(sql)) throw new Error('connection lost');
        return h.db.command(sql);
      },
    };
    await expect(sealClosedVisitorStates({ db: refusingDrops, clickhouse: h.config.clickhouse, now })).rejects.toThrow(
      'connection lost',
    );
    await sealClosedVisitorStates({ db: h.db, clickhouse: h.config.clickhouse, now });
    expect((await figures(h.db, 'daily-p'))['2024-05-01 total=']).toBe('2/2');
    expect(await openStates(h.db)).toBe(0);
  });

  it('stores a free-text value seen from fewer than k visitors in its day only as (rare)', async () => {
    const c = (value: string, visitors: number[]) => ({
      practiceId: 'rare-p',
      day: '2024-06-01',
      dim: 'utm_campaign',
      value,
      visits: visitors.length,
      visitors,
    });
    await new RollupFixture()
      .daily(c('jane-doe', [1]))
      .daily(c('olena-kovalenko', [2, 3]))
      .daily(c('spring-sale', [4, 5, 6]))
      .daily({
        practiceId: 'rare-p',
        day: '2024-06-01',
        dim: 'total',
        pageviews: 6,
        visits: 6,
        visitors: [1, 2, 3, 4, 5, 6],
      })
      .flush(h.db);
    const campaigns = async () =>
      Object.fromEntries(
        (
          await h.db.rows<{ v: string; visits: string; n: string }>(
            `SELECT value AS v, toString(sumMerge(visits)) AS visits, toString(${metricMergeExpression('visitors')}) AS n
             FROM ${TABLES.rollupDaily} WHERE practice_id = 'rare-p' AND dim = 'utm_campaign' GROUP BY v`,
          )
        ).map((r) => [r.v, `${r.visits}/${r.n}`]),
      );
    expect(await campaigns()).toEqual({ 'jane-doe': '1/1', 'olena-kovalenko': '2/2', 'spring-sale': '3/3' });
    await sealClosedVisitorStates({ db: h.db, clickhouse: h.config.clickhouse, now: () => dayMs('2024-06-04') });
    expect(await campaigns()).toEqual({ '(rare)': '3/3', 'spring-sale': '3/3' });
    const [left] = await h.db.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM (SELECT value FROM ${TABLES.rollupDaily} UNION ALL SELECT value FROM ${TABLES.rollupMonthlyVisitors}) AS everything WHERE value IN ('jane-doe', 'olena-kovalenko')`,
    );
    expect(left!.n).toBe('0');
  });

  it('folds utm_term, utm_content, form names and property values like campaigns, and caps a day of property values', async () => {
    const row = (dim: string, value: string, visitors: number[]) => ({
      practiceId: 'signals-p',
      day: '2024-07-01',
      dim,
      value,
      events: visitors.length,
      visitors,
    });
    await new RollupFixture()
      .daily(row('utm_term', 'jane-doe', [1]))
      .daily(row('utm_term', 'knee-pain', [1, 2, 3]))
      .daily(row('utm_content', 'banner', [1, 2]))
      .daily(row('prop:plan', 'olena', [4]))
      .daily(row('prop:plan', 'gold', [1, 2, 3, 4, 5]))
      .daily(row('prop:plan', 'silver', [1, 2, 3, 4]))
      .daily(row('prop:topic', 'knees', [1, 2, 3]))
      // A declared form name anyone could send is held like any free text; a form counted by its page is not.
      .daily(row('form', 'smith-intake', [1]))
      .daily({ practiceId: 'signals-p', day: '2024-07-01', dim: 'form', value: '/contact', events: 1 })
      // A declared value: written without visitor values, counted at once, never folded or capped.
      .daily({ practiceId: 'signals-p', day: '2024-07-01', dim: 'prop:plan', value: 'basic', events: 1 })
      .flush(h.db);
    const values = async () =>
      Object.fromEntries(
        (
          await h.db.rows<{ k: string; n: string }>(
            `SELECT concat(dim, '=', value) AS k, toString(sumMerge(events)) AS n
             FROM ${TABLES.rollupDaily} WHERE practice_id = 'signals-p' GROUP BY k`,
          )
        ).map((r) => [r.k, Number(r.n)]),
      );
    await sealClosedVisitorStates({
      db: h.db,
      clickhouse: h.config.clickhouse,
      now: () => dayMs('2024-07-04'),
      propValuesCap: 2,
    });
    // k = 3: jane-doe, banner and olena are rare; of gold (5), silver (4) and knees (3) the cap keeps two.
    expect(await values()).toEqual({
      'utm_term=(rare)': 1,
      'utm_term=knee-pain': 3,
      'utm_content=(rare)': 2,
      'prop:plan=(rare)': 1,
      'prop:plan=gold': 5,
      'prop:plan=silver': 4,
      'prop:topic=(other)': 3,
      'prop:plan=basic': 1,
      'form=(rare)': 1,
      'form=/contact': 1,
    });
  });

  it('holds goal breakdowns by referrer and campaign to the same rule, keeping a rare value under its goal', async () => {
    const g = (dim: string, value: string, visitors: number[]) => ({
      practiceId: 'goal-p',
      day: '2024-06-01',
      dim,
      value,
      visits: visitors.length,
      events: visitors.length,
      visitors,
    });
    await new RollupFixture()
      .daily(g('goal_referrer', 'booking:jane-doe-blog.example', [1]))
      .daily(g('goal_referrer', 'booking:google.com', [2, 3, 4]))
      .daily(g('goal_referrer', 'contact:google.com', [5]))
      .daily(g('goal_campaign', 'booking:olena-kovalenko', [1, 2]))
      .daily({ ...g('goal_channel', 'booking:Organic Search', []), visits: 3, events: 3 })
      .flush(h.db);
    const rows = async () =>
      Object.fromEntries(
        (
          await h.db.rows<{ k: string; visits: string; ev: string }>(
            `SELECT concat(dim, '=', value) AS k, toString(sumMerge(visits)) AS visits, toString(sumMerge(events)) AS ev
             FROM ${TABLES.rollupDaily} WHERE practice_id = 'goal-p' GROUP BY k`,
          )
        ).map((r) => [r.k, `${r.visits}/${r.ev}`]),
      );
    await sealClosedVisitorStates({ db: h.db, clickhouse: h.config.clickhouse, now: () => dayMs('2024-06-04') });
    expect(await rows()).toEqual({
      'goal_referrer=booking:(rare)': '1/1',
      'goal_referrer=booking:google.com': '3/3',
      'goal_referrer=contact:(rare)': '1/1',
      'goal_campaign=booking:(rare)': '2/2',
      'goal_channel=booking:Organic Search': '3/3',
    });
    const [left] = await h.db.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM (SELECT value FROM ${TABLES.rollupDaily} UNION ALL SELECT value FROM ${TABLES.rollupMonthlyVisitors}) AS everything WHERE value LIKE '%jane-doe%' OR value LIKE '%kovalenko%'`,
    );
    expect(left!.n).toBe('0');
  });

  it('lets one process seal at a time', async () => {
    let release!: () => void;
    const held = h.control.exclusively(
      'confidant.visitor-sealer',
      () => new Promise<string>((r) => (release = () => r('first'))),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await h.control.exclusively('confidant.visitor-sealer', async () => 'second')).toBeNull();
    release();
    expect(await held).toBe('first');
    expect(await h.control.exclusively('confidant.visitor-sealer', async () => 'third')).toBe('third');
  });
});
