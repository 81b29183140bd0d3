// Partner visitor-days on the real engine: one visitor-day counts at most once per practice, UTC day,
// source and cell whatever the arrival time, re-deliveries, restarts and seal timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPrivacyAudit, sqlv, TABLES } from '@confidant/shared';
import { insertPartnerDays, sealClosedPartnerDays } from '@confidant/processor';
import { monthCounts } from '@confidant/reporter';
import { sealableAt, sealPartner, visit, writePartnerBatch } from '../support/partner-events.ts';
import { startReporter, type ReporterHarness } from '../support/reporter-fixture.ts';

const at = (day: number, hour: number) => Date.UTC(2024, 2, day, hour);
let h: ReporterHarness;
beforeAll(async () => {
  h = await startReporter('partner-sealer');
}, 60_000);
afterAll(async () => h?.cleanup());

const counts = async (day: string) =>
  (
    await h.db.rows<{ p: string; src: string; cell: string; n: string; open: string }>(
      `SELECT practice_id AS p, toString(source) AS src, cell, toString(sumMerge(visitors_sealed)) AS n,` +
        ` toString(uniqArrayMerge(visitors)) AS open FROM ${TABLES.partnerVisitorDays}` +
        ` WHERE day = ${sqlv.date(day)} GROUP BY p, src, cell, sealed ORDER BY p, src, cell, open`,
    )
  ).map((r) => `${r.p} ${r.src} ${r.cell} ${r.n}${r.open === '0' ? '' : ` open ${r.open}`}`);

describe('partner visitor-days', () => {
  it('re-delivered and restarted batches, late events and a write landing after the seal count once', async () => {
    const first = [visit('p', 1, at(10, 1), { country: 'IS' }), visit('p', 2, at(10, 10), { country: 'US' })];
    await writePartnerBatch(h, first);
    await writePartnerBatch(h, first); // re-delivered after a crash before the ledger moved
    // a restarted processor sees visitor 1 again that day, in the snippet and in the logs
    await writePartnerBatch(h, [
      visit('p', 1, at(10, 22), { country: 'IS' }),
      visit('p', 1, at(10, 23), { country: 'IS', source: 'logs' }),
    ]);
    // a late log import of that day, written once the day has closed: left out
    await writePartnerBatch(
      h,
      [visit('p', 9, at(10, 12), { country: 'FR', source: 'logs' })],
      sealableAt('2024-03-10'),
    );
    // States left open past their deadline are a finding of the privacy audit.
    const lingering = async () =>
      (
        await runPrivacyAudit({
          db: h.db,
          topicPrefix: 'none',
          retentionMonths: 1200,
          now: new Date(Date.UTC(2024, 2, 20)),
        })
      ).findings.filter((f) => f.kind === 'visitor-states');
    expect((await lingering()).map((f) => f.table)).toEqual([TABLES.partnerVisitorDays]);
    expect(await sealPartner(h, sealableAt('2024-03-10') - 1)).toEqual([]);
    expect(await sealPartner(h, sealableAt('2024-03-10'))).toHaveLength(1);
    const sealed = ['p logs IS 1', 'p logs all 1', 'p snippet IS 1', 'p snippet US 1', 'p snippet all 2'];
    expect(await counts('2024-03-10')).toEqual(sealed);
    expect(await lingering()).toEqual([]);
    // A block built before the close that lands after the seal (a slow retry): its day is sealed for
    // this practice, so the sealer drops it uncounted, though it holds a new visitor too.
    await writePartnerBatch(
      h,
      [visit('p', 1, at(10, 20), { country: 'IS' }), visit('p', 3, at(10, 21), { country: 'IS' })],
      at(10, 23),
    );
    expect((await counts('2024-03-10')).some((r) => r.includes('open'))).toBe(true);
    await sealPartner(h);
    expect(await counts('2024-03-10')).toEqual(sealed);
    const month = await monthCounts(h.db, ['p'], '2024-03');
    expect(month.total).toBe(2);
    expect(Object.fromEntries(month.countries)).toEqual({ IS: 1, US: 1 });
    expect(Object.fromEntries(month.countryPractices)).toEqual({ IS: 1, US: 1 });
  });

  it('a sealing stopped half way is finished, not counted twice', async () => {
    await writePartnerBatch(h, [visit('a', 1, at(11, 5)), visit('b', 1, at(11, 6)), visit('b', 2, at(11, 7))]);
    let failed = false;
    await expect(
      sealClosedPartnerDays({
        db: h.db,
        clickhouse: h.config.clickhouse,
        now: () => sealableAt('2024-03-11'),
        insert: async (config, rows, queryId) => {
          if (rows[0]?.practiceId === 'b' && !failed) {
            failed = true;
            throw new Error('ClickHouse went away');
          }
          await insertPartnerDays(config, rows, queryId);
        },
      }),
    ).rejects.toThrow(/went away/);
    await sealPartner(h);
    expect((await counts('2024-03-11')).filter((r) => r.includes(' all '))).toEqual([
      'a snippet all 1',
      'b snippet all 2',
    ]);
    const month = await monthCounts(h.db, ['a', 'b'], '2024-03');
    expect(month.total).toBe(3);
  });
});
