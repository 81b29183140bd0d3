/**
 * Collector: beacons/s answered 202 with real Kafka acks (acks=-1), latency and RSS, against a bare
 * fastify route answering 202 to the same body. Both servers run as their own processes; autocannon
 * runs in a third.
 */
import { BENCH_DOMAIN, openNamespace, topicEnd, type Namespace } from './support/namespace.ts';
import { load, type LoadResult } from './support/load.ts';
import { profileLines, summarizeProfile } from './support/cpu-profile.ts';
import { spawnService, type Service } from './support/services.ts';
import { median } from './support/stats.ts';
import type { Bench } from './support/result.ts';

export const beaconBody = (ns: Namespace, page = '/services/cardiology') =>
  JSON.stringify({
    site: ns.practice.siteKey,
    type: 'pageview',
    url: `https://${BENCH_DOMAIN}${page}`,
    referrer: 'https://www.google.com/',
    width: 1280,
  });

/** The collector as deployed, in the namespace; a per-IP limit would throttle a one-host load generator. */
export const startCollector = (ns: Namespace, profileDir?: string): Promise<Service> =>
  spawnService('collector', 'collector/src/server.ts', {
    env: { ...ns.env, RATE_LIMIT_PER_MIN: '1000000000' },
    portVar: 'COLLECTOR_PORT',
    readyPath: '/readyz',
    ...(profileDir ? { profileDir } : {}),
  });

const CONNECTIONS = 50;

export const collectorBench: Bench = {
  name: 'collector',
  async run(ctx) {
    const ns = await openNamespace('collector');
    const seconds = ctx.smoke ? 2 : 10;
    const services: Service[] = [];
    try {
      const collector = await startCollector(ns);
      services.push(collector);
      const bare = await spawnService('bare-fastify', 'bench/support/bare-server.ts', {
        env: ns.env,
        readyPath: '/healthz',
      });
      services.push(bare);
      const body = beaconBody(ns);
      const at = (service: Service, extra: { rate?: number; connections?: number; seconds?: number } = {}) =>
        load({
          url: `${service.url}/e`,
          body,
          connections: extra.connections ?? CONNECTIONS,
          seconds: extra.seconds ?? seconds,
          ...(extra.rate ? { rate: extra.rate } : {}),
        });

      ctx.log(`warm-up ${Math.max(1, seconds / 2)} s each`);
      await at(bare, { seconds: Math.max(1, seconds / 2) });
      await at(collector, { seconds: Math.max(1, seconds / 2) });
      const base: LoadResult[] = [];
      const ours: LoadResult[] = [];
      for (let i = 0; i < 3; i++) {
        base.push(await at(bare));
        ours.push(await at(collector));
        ctx.log(
          `rep ${i + 1}: bare ${Math.round(base[i]!.rps)}/s, collector ${Math.round(ours[i]!.rps)}/s (p99 ${ours[i]!.p99} ms)`,
        );
      }
      const half = Math.max(1, Math.round(median(ours.map((r) => r.rps)) / 2));
      const halfRuns: LoadResult[] = [];
      for (let i = 0; i < 3; i++) halfRuns.push(await at(collector, { rate: half, connections: 20 }));
      ctx.log(`half rate ${half}/s: p99 ${halfRuns.map((r) => r.p99).join(', ')} ms`);
      const [rssOurs, rssBase] = [await collector.peakRssMiB(), await bare.peakRssMiB()];

      // Every 202 must be an event Kafka acknowledged: count what the topic holds.
      const accepted = [...ours, ...halfRuns].reduce((a, r) => a + r.ok2xx, 0);
      const inKafka = [...(await topicEnd(ns.admin, ns.eventsTopic)).values()].reduce((a, b) => a + b, 0n);
      const refused = [...ours, ...halfRuns].reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0);

      const ratio = median(ours.map((r) => r.rps)) / median(base.map((r) => r.rps));
      const p99Half = median(halfRuns.map((r) => r.p99));
      const rows = [
        {
          metric: 'beacons/s accepted (202)',
          unit: '/s',
          ours: ours.map((r) => r.rps),
          baseline: base.map((r) => r.rps),
          baselineLabel: 'bare fastify 202',
          better: 'higher' as const,
          goal: '≥ 0.6× baseline',
          met: ratio >= 0.6,
        },
        {
          metric: 'p50 latency at max rate',
          unit: 'ms',
          ours: ours.map((r) => r.p50),
          baseline: base.map((r) => r.p50),
          baselineLabel: 'bare fastify 202',
          better: 'lower' as const,
          goal: '–',
          met: null,
        },
        {
          metric: `p99 latency at half max (${half}/s)`,
          unit: 'ms',
          ours: halfRuns.map((r) => r.p99),
          baseline: null,
          better: 'lower' as const,
          goal: '≤ 10 ms',
          met: p99Half <= 10,
        },
        {
          metric: 'peak RSS',
          unit: 'MiB',
          ours: [rssOurs],
          baseline: [rssBase],
          baselineLabel: 'bare fastify 202',
          better: 'lower' as const,
          goal: '–',
          met: null,
        },
      ];
      const details = [
        `autocannon in its own process, ${CONNECTIONS} connections, ${seconds} s per repetition, one warm-up each, 3 repetitions alternating baseline and collector; then 3 × ${seconds} s at a fixed ${half}/s (autocannon \`overallRate\`, 20 connections, latencies corrected for coordinated omission).`,
        `The collector is \`tsx collector/src/server.ts\` with its production settings (linger ${5} ms, batches of 500, idempotent producer, acks from all in-sync replicas) against a registered practice; the per-IP rate limit is raised because all load comes from one address.`,
        `Kafka holds ${inKafka} events for ${accepted} answers 202 (the difference is the warm-up); ${refused} requests were refused or failed.`,
      ];
      const bottleneck: string[] = [];
      if (!rows[0]!.met || !rows[2]!.met) {
        if (ctx.smoke) bottleneck.push('Profile skipped in smoke mode.');
        else {
          ctx.log('goal missed: profiling the collector under load');
          await collector.stop();
          const profiled = await startCollector(ns, ctx.profileDir);
          services.push(profiled);
          await at(profiled);
          const file = await profiled.stop();
          if (file)
            bottleneck.push(
              ...profileLines('Collector under maximum load (`node --cpu-prof`)', await summarizeProfile(file), file),
            );
        }
      }
      return { rows, details, bottleneck };
    } finally {
      for (const s of services) await s.stop();
      await ns.cleanup();
    }
  },
};
