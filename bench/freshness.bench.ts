/**
 * Freshness: time from a beacon's 202 to its page view being visible in the reporter API, with
 * collector, processor and reporter running as they are deployed (production settings).
 */
import { randomBytes } from 'node:crypto';
import { beaconBody, startCollector } from './collector.bench.ts';
import { BROWSER_HEADERS } from './support/load.ts';
import { openNamespace } from './support/namespace.ts';
import { profileLines, summarizeProfile } from './support/cpu-profile.ts';
import { spawnService, type Service } from './support/services.ts';
import { quantile, sleep } from './support/stats.ts';
import type { Bench } from './support/result.ts';

const PAGE = '/services';
const GIVE_UP_MS = 15_000;

export const freshnessBench: Bench = {
  name: 'freshness',
  async run(ctx) {
    const ns = await openNamespace('fresh');
    const services: Service[] = [];
    const adminKey = randomBytes(24).toString('hex');
    const profileDir = ctx.smoke ? undefined : ctx.profileDir;
    try {
      const processor = await spawnService('processor', 'processor/src/server.ts', {
        env: { ...ns.env, PROCESSOR_GROUP_ID: `bench-fresh-${randomBytes(4).toString('hex')}` },
        portVar: 'PROCESSOR_METRICS_PORT',
        readyPath: '/readyz',
        ...(profileDir ? { profileDir } : {}),
      });
      services.push(processor);
      const collector = await startCollector(ns);
      services.push(collector);
      const reporter = await spawnService('reporter', 'reporter/src/server.ts', {
        env: { ...ns.env, REPORTER_ADMIN_KEY: adminKey, REPORTER_RATE_LIMIT_PER_MINUTE: '1000000' },
        portVar: 'REPORTER_PORT',
        readyPath: '/healthz',
      });
      services.push(reporter);

      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const pageviews = async (): Promise<number> => {
        const url = `${reporter.url}/v1/practices/${ns.practice.id}/stats/breakdown?from=${day(-1)}&to=${day(1)}&dimension=page&metrics=pageviews&limit=100`;
        const response = await fetch(url, { headers: { authorization: `Bearer ${adminKey}` } });
        if (!response.ok) throw new Error(`reporter answered ${response.status}: ${await response.text()}`);
        const body = (await response.json()) as { rows: Array<{ value: string; pageviews: number }> };
        return body.rows.find((r) => r.value === PAGE)?.pageviews ?? 0;
      };
      const body = beaconBody(ns, PAGE);
      /** One beacon, then the reporter polled every 20 ms until the page's count moves. */
      const once = async (): Promise<number> => {
        const before = await pageviews();
        const response = await fetch(`${collector.url}/e`, { method: 'POST', headers: BROWSER_HEADERS, body });
        if (response.status !== 202) throw new Error(`collector answered ${response.status}: ${await response.text()}`);
        const sent = performance.now();
        while (performance.now() - sent < GIVE_UP_MS) {
          if ((await pageviews()) > before) return performance.now() - sent;
          await sleep(20);
        }
        return GIVE_UP_MS;
      };
      const n = ctx.smoke ? 8 : 40;
      for (let i = 0; i < 2; i++) await once();
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        samples.push(await once());
        // Beacons arrive at random moments relative to the processor's fetch cycle.
        await sleep(Math.floor(Math.random() * 500));
      }
      ctx.log(
        `p50 ${Math.round(quantile(samples, 0.5))} ms, p95 ${Math.round(quantile(samples, 0.95))} ms, p99 ${Math.round(quantile(samples, 0.99))} ms`,
      );
      const met = quantile(samples, 0.95) <= 2000;
      const profiles: Array<[string, string | null]> = [];
      for (const s of services.splice(0)) profiles.push([s.name, await s.stop()]);
      const bottleneck: string[] = [];
      if (!met) {
        if (ctx.smoke) bottleneck.push('Profile skipped in smoke mode.');
        for (const [name, file] of profiles)
          if (file)
            bottleneck.push(
              ...profileLines(
                `${name} during the freshness run (\`node --cpu-prof\`)`,
                await summarizeProfile(file),
                file,
              ),
            );
      }
      const row = (q: number, goal: string, m: boolean | null) => ({
        metric: `beacon → reporter API, p${Math.round(q * 100)}`,
        unit: 'ms',
        ours: samples,
        quantile: q,
        baseline: null,
        better: 'lower' as const,
        goal,
        met: m,
      });
      return {
        rows: [row(0.5, '–', null), row(0.95, '≤ 2000 ms', met), row(0.99, '–', null)],
        details: [
          `${n} beacons one at a time (after 2 warm-ups), each followed by polling \`GET /v1/practices/:id/stats/breakdown?dimension=page\` every 20 ms until the page's count moves; a random pause of up to 0.5 s between beacons. Services run with their default settings (processor fetch wait ${'KAFKA_MAX_WAIT_MS'} = 1000 ms). Timed out (${GIVE_UP_MS} ms) samples: ${samples.filter((s) => s >= GIVE_UP_MS).length}.`,
        ],
        bottleneck,
      };
    } finally {
      for (const s of services) await s.stop();
      await ns.cleanup();
    }
  },
};
