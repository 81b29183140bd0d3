import { describe, expect, test } from 'vitest';
import type { MonthlyReport } from '../report/monthly-report.ts';
import { REPORT_SECTIONS } from '../report/monthly-report.ts';
import { renderReportCsv } from './report-csv.ts';
import { REPORT_CSP, REPORT_CSS, renderReportHtml } from './report-html.ts';
import { dailyChartSvg, niceCeiling } from './svg-chart.ts';
import { createHash } from 'node:crypto';

function sampleReport(): MonthlyReport {
  const sections = Object.fromEntries(REPORT_SECTIONS.map((s) => [s.key, []])) as unknown as MonthlyReport['sections'];
  sections.pages = [
    { value: '/a,"b"', pageviews: 1234, visitors: 5 },
    { value: '=HYPERLINK("x")', pageviews: 2, visitors: 1 },
  ];
  sections.referrers = [{ value: '<img src=x onerror=alert(1)>', visits: 3 }];
  const fig = (value: number | null, previous: number | null, changePercent: number | null) => ({
    value,
    previous,
    changePercent,
  });
  return {
    schemaVersion: 1,
    practice: { id: 'p', name: 'Dr <b>Evil</b> & Sons', timezone: 'Europe/Berlin', cookieMode: false },
    month: '2024-02',
    period: { from: '2024-02-01', to: '2024-02-29', timezone: 'Europe/Berlin' },
    source: 'snippet',
    sources: { snippet: { pageviews: 12345, visits: 2000 }, logs: { pageviews: 7, visits: 3 } },
    visitors: { definition: 'sum-of-daily-visitors', note: 'summed daily' },
    totals: {
      visitors: fig(1500, 1000, 50),
      visits: fig(2000, 2500, -20),
      pageviews: fig(12345, 0, null),
      bounceRate: fig(41.5, null, null),
      avgVisitSeconds: fig(62, 60, 3.3),
      engagedSeconds: fig(124000, 150000, -17.3),
    },
    daily: Array.from({ length: 29 }, (_, i) => ({
      day: `2024-02-${String(i + 1).padStart(2, '0')}`,
      pageviews: i * 10,
      visits: i * 3,
      visitors: i,
      bounces: 0,
      engagedMs: 0,
    })),
    sections,
    goals: [
      {
        id: 'booking',
        name: 'Booked <online>',
        kind: 'event',
        conversions: 12,
        convertingVisits: 10,
        convertingVisitors: 9,
        visits: 2000,
        conversionRatePercent: 0.5,
        breakdowns: {
          channel: [
            { value: 'Paid Search', conversions: 7, convertingVisits: 6, visits: 40, conversionRatePercent: 15 },
          ],
          campaign: [{ value: '<spring>', conversions: 5, convertingVisits: 4, visits: 20, conversionRatePercent: 20 }],
          entry: [],
          referrer: [{ value: '(rare)', conversions: 1, convertingVisits: 1, visits: 0, conversionRatePercent: null }],
          country: [],
          device: [],
        },
      },
    ],
    generatedAt: '2024-03-01T00:00:00.000Z',
  };
}

describe('SVG chart', () => {
  test('one bar per day, a line through every day, labels escaped', () => {
    const svg = dailyChartSvg(
      [
        { label: '2024-02-01', bar: 5, line: 2 },
        { label: '<x>', bar: 0, line: 0 },
        { label: '2024-02-03', bar: 12, line: 7 },
      ],
      { barLabel: 'page views', lineLabel: 'visits' },
    );
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(3);
    expect(svg.match(/<polyline class="line" points="([^"]+)"/)![1]!.split(' ')).toHaveLength(3);
    expect(svg).not.toContain('<x>');
    expect(svg).toContain('&lt;x&gt;');
    expect(svg).not.toMatch(/style=/);
  });

  test('bar heights are proportional to the values', () => {
    const svg = dailyChartSvg(
      [
        { label: 'a', bar: 10, line: 0 },
        { label: 'b', bar: 5, line: 0 },
      ],
      { barLabel: 'x', lineLabel: 'y' },
    );
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights[0]! / heights[1]!).toBeCloseTo(2, 1);
  });

  test('axis ceilings are round numbers', () => {
    expect([1, 7, 10, 11, 180, 201, 4999].map(niceCeiling)).toEqual([1, 10, 10, 20, 200, 500, 5000]);
  });
});

describe('HTML report', () => {
  const html = renderReportHtml(sampleReport());

  test('escapes every dynamic string', () => {
    expect(html).not.toContain('<b>Evil</b>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('Dr &lt;b&gt;Evil&lt;/b&gt; &amp; Sons');
  });

  test('no scripts or external assets; the CSP allows exactly the inline stylesheet', () => {
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html).toContain(`<style>${REPORT_CSS}</style>`);
    expect(REPORT_CSP).toContain(`'sha256-${createHash('sha256').update(REPORT_CSS).digest('base64')}'`);
  });

  test('shows totals, changes and one chart bar per day', () => {
    expect(html).toContain('data-total="pageviews">12,345</div>');
    expect(html).toContain('data-total="bounceRate">41.5</div>');
    expect(html).toContain('+50% vs previous month');
    expect(html).toContain('-20% vs previous month');
    expect(html.match(/<rect class="bar"/g)).toHaveLength(29);
    expect(html).toContain('No data this month.');
  });

  test('has a Channels section and a Goals section with rates per goal and breakdown value', () => {
    expect(html).toContain('<section id="channels"><h2>Channels</h2>');
    expect(html).toContain('<section id="goals"><h2>Goals</h2>');
    expect(html).toContain('Booked &lt;online&gt;');
    expect(html).toContain('data-goal="booking" data-metric="conversionRatePercent">0.5</td>');
    expect(html).toContain(
      'data-goal="booking" data-breakdown="channel" data-key="Paid Search" data-metric="conversionRatePercent">15</td>',
    );
    expect(html).toContain('data-key="&lt;spring&gt;"');
    expect(html).not.toContain('<spring>');
    expect(html).toContain('No converting visits this month.');
  });
});

describe('CSV report', () => {
  const csv = renderReportCsv(sampleReport());
  const lines = csv.trim().split('\n');

  test('long format with a header', () => {
    expect(lines[0]).toBe('section,key,metric,value');
    expect(lines).toContain('totals,visitors,value,1500');
    expect(lines).toContain('totals,pageviews,changePercent,');
    expect(lines).toContain('daily,2024-02-03,pageviews,20');
  });

  test('quotes fields and defuses spreadsheet formulas', () => {
    expect(lines).toContain('pages,"/a,""b""",pageviews,1234');
    expect(lines).toContain(`pages,"'=HYPERLINK(""x"")",pageviews,2`);
    expect(lines).toContain('totals,visits,changePercent,-20');
  });

  test('goals and their breakdowns, a rate without visits left empty', () => {
    expect(lines).toContain('goals,booking,conversions,12');
    expect(lines).toContain('goals,booking,convertingVisits,10');
    expect(lines).toContain('goals,booking,conversionRatePercent,0.5');
    expect(lines).toContain('goal:booking:channel,Paid Search,conversionRatePercent,15');
    expect(lines).toContain('goal:booking:campaign,<spring>,visits,20');
    expect(lines).toContain('goal:booking:referrer,(rare),conversionRatePercent,');
  });
});
