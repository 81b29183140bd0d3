/**
 * End to end: beacons offered at the rate of the slowest stage measured alone (collector or
 * processor, from this run), through collector → Kafka → processor → ClickHouse with both engines
 * on the box. Sustained rate per window is the smaller of what the collector accepted and what
 * the processor applied; consumer lag is sampled throughout and must stay flat.
 */
import { randomBytes } from 'node:crypto';
import { beaconBody, startCollector } from './collector.bench.ts';
import { load } from './support/load.ts';
import { openNamespace, processorLag, ledgerOffsets } from './support/namespace.ts';
import { profileLines, summarizeProfile } from './support/cpu-profile.ts';
import { scrapeMetric, spawnService, type Service } from './support/services.ts';
import { median, sleep } from './support/stats.ts';
import type { Bench, BenchResult } from './support/result.ts';

const rateOf = (r: BenchResult | undefined) => median(r!.rows[0]!.ours);

export const endToEndBench: Bench = {
  name: 'end-to-end',
  needs: ['collector', 'processor'],
  async run(ctx) {
    const collectorAlone = rateOf(ctx.results.get('collector'));
    const processorAlone = rateOf(ctx.results.get('processor'));
    const slowest = Math.min(collectorAlone, processorAlone);
    const slowestName = collectorAlone <= processorAlone ? 'collector' : 'processor';
    const warmS = ctx.smoke ? 3 : 20;
    const windowS = ctx.smoke ? 4 : 100;
    const ns = await openNamespace('e2e');
    const group = `bench-e2e-${randomBytes(4).toString('hex')}`;
    const services: Service[] = [];
    try {
      const profileDir = ctx.smoke ? undefined : ctx.profileDir;
      const processor = await spawnService('processor', 'processor/src/server.ts', {
        env: { ...ns.env, PROCESSOR_GROUP_ID: group },
        portVar: 'PROCESSOR_METRICS_PORT',
        readyPath: '/readyz',
        ...(profileDir ? { profileDir } : {}),
      });
      services.push(processor);
      const collector = await startCollector(ns, profileDir);
      services.push(collector);
      const rate = Math.max(1, Math.round(slowest));
      ctx.log(`offering ${rate}/s (slowest stage alone: ${slowestName}) for ${warmS} s warm-up + 3 × ${windowS} s`);
      const loading = load({
        url: `${collector.url}/e`,
        body: beaconBody(ns),
        connections: 50,
        seconds: warmS + 3 * windowS,
        rate,
      });

      const applied = async () =>
        [...(await ledgerOffsets(ns.db, group, ns.eventsTopic)).values()].reduce((a, b) => a + Number(b), 0);
      const accepted = () => scrapeMetric(collector.url, 'collector_events_accepted_total');
      const lagSamples: Array<{ t: number; lag: number }> = [];
      const t0 = performance.now();
      const sampleLag = async () =>
        lagSamples.push({ t: (performance.now() - t0) / 1000, lag: await processorLag(ns, group) });
      const until = async (seconds: number) => {
        while ((performance.now() - t0) / 1000 < seconds) {
          await sampleLag();
          await sleep(Math.min(5000, Math.max(0, seconds * 1000 - (performance.now() - t0))));
        }
      };
      await until(warmS);
      let prev = { accepted: await accepted(), applied: await applied(), t: performance.now() };
      const sustained: number[] = [];
      const windows: string[] = [];
      for (let w = 1; w <= 3; w++) {
        await until(warmS + w * windowS);
        const cur = { accepted: await accepted(), applied: await applied(), t: performance.now() };
        const s = (cur.t - prev.t) / 1000;
        const acc = (cur.accepted - prev.accepted) / s;
        const app = (cur.applied - prev.applied) / s;
        sustained.push(Math.min(acc, app));
        windows.push(
          `window ${w}: accepted ${Math.round(acc)}/s, applied ${Math.round(app)}/s, lag at end ${lagSamples.at(-1)!.lag}`,
        );
        ctx.log(windows.at(-1)!);
        prev = cur;
      }
      const result = await loading;
      const measured = lagSamples.filter((x) => x.t >= warmS);
      const lagStart = measured[0]!.lag;
      const lagEnd = measured.at(-1)!.lag;
      const lagMax = Math.max(...measured.map((x) => x.lag));
      // Flat: the backlog at the end is no larger than at the start, give or take two seconds of traffic (fetch waits and batching).
      const flat = lagEnd <= lagStart + 2 * rate;
      const ratio = median(sustained) / slowest;
      const met = ratio >= 0.8 && flat;
      const bottleneck: string[] = [];
      const profiles: Array<[string, string | null]> = [];
      for (const s of services.splice(0)) profiles.push([s.name, await s.stop()]);
      if (!met) {
        if (ctx.smoke) bottleneck.push('Profile skipped in smoke mode.');
        for (const [name, file] of profiles)
          if (file)
            bottleneck.push(
              ...profileLines(
                `${name} during the end-to-end run (\`node --cpu-prof\`)`,
                await summarizeProfile(file),
                file,
              ),
            );
      }
      return {
        rows: [
          {
            metric: 'sustained beacons/s, all stages',
            unit: '/s',
            ours: sustained,
            baseline: [slowest],
            baselineLabel: `${slowestName} alone`,
            better: 'higher',
            goal: '≥ 0.8× and lag flat',
            met,
          },
          {
            metric: 'consumer lag (start → end of measured windows)',
            unit: 'events',
            ours: [lagStart, lagEnd],
            baseline: null,
            better: 'lower',
            goal: `end ≤ start + 2 s of traffic`,
            met: flat,
          },
        ],
        details: [
          `Collector and processor as their own processes (\`tsx …/server.ts\`${profileDir ? ', under `--cpu-prof`' : ''}), Kafka and ClickHouse on the same 2 cores, autocannon offering ${rate}/s — the rate of the slowest stage measured alone in this run (collector ${Math.round(collectorAlone)}/s, processor ${Math.round(processorAlone)}/s) — for ${warmS} s of warm-up and 3 consecutive windows of ${windowS} s (${(3 * windowS) / 60} min measured).`,
          'Per window, sustained = min(events the collector accepted, events the processor applied to ClickHouse per its ledger) per second.',
          ...windows,
          `Consumer lag sampled every 5 s: ${lagStart} at the start of the measured windows, ${lagEnd} at the end, ${lagMax} at most. autocannon: ${result.ok2xx} answers 202, ${result.non2xx + result.errors + result.timeouts} not; p99 ${result.p99} ms.`,
        ],
        bottleneck,
      };
    } finally {
      for (const s of services) await s.stop();
      await ns.cleanup();
    }
  },
};
