/**
 * Hit-log ingestion vs GoAccess on the same generated Combined log, with the whole stack running
 * as `npm start` runs it.
 *
 *   npx tsx bench/hit-logs.bench.ts [--smoke] [--lines N] [--profile]
 *
 * Generates a deterministic log (1,000,000 lines; --smoke: 20,000) of the 3 UTC days ending
 * yesterday, times GoAccess 1.7 (`--log-format=COMBINED`, JSON report), then starts the collector,
 * processor and reporter as their own processes (`node --import tsx <service>/src/server.ts`, as
 * `npm start` does, each on its default settings in the bench namespace) and runs the import as
 * `confidant logs import` does, as a child process: parse → de-identify → Kafka → processor →
 * ClickHouse rollups. The clock runs from spawning the import until the reporter's API shows every
 * page view it produced; the child's peak RSS is sampled meanwhile. One warm-up, then 3 timed
 * repetitions (smoke: 1), each for its own practice so the import ledger does not skip the file.
 * Each run also prints the CPU seconds the import, collector, processor, Kafka and ClickHouse used
 * (the engines' include whatever else uses them), to show where a slow run's time went.
 *
 * Every run checks its totals: the reporter's page views must equal the import summary's page views
 * + not-found pages, and both must equal what the generator counted as it wrote the file. A
 * mismatch exits 1, also with --smoke; outside --smoke a missed goal does too. `--profile`
 * profiles the last run's import and the processor (`--cpu-prof`) and prints their hottest functions.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { PracticeStore } from '@confidant/shared';
import { prng } from './support/envelopes.ts';
import { summarizeProfile } from './support/cpu-profile.ts';
import { cpuSeconds, findProcess } from './support/cpu-time.ts';
import { openNamespace } from './support/namespace.ts';
import { textTable } from './support/report.ts';
import type { Row } from './support/result.ts';
import { watchRssAndCpu } from './support/rss.ts';
import { ROOT, spawnService, type Service } from './support/services.ts';
import { median, sleep } from './support/stats.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const linesArg = args.indexOf('--lines');
const LINES = linesArg >= 0 ? Number(args[linesArg + 1]) : smoke ? 20_000 : 1_000_000;
if (!Number.isInteger(LINES) || LINES < 1) throw new Error('--lines: a positive whole number');
const REPS = smoke ? 1 : 3;
const profile = args.includes('--profile');
const DIR = '/tmp/confidant-bench';
const PROFILE_DIR = `${DIR}/hit-logs-profiles`;
const DAY_MS = 86_400_000;
const RATIO_GOAL = 1.5;
const RSS_GOAL_MB = 300;

async function printHot(title: string, dir: string): Promise<void> {
  // The main thread's profile is the largest (tsx's loader thread writes one too).
  const file = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(dir, f))
        .sort((a, b) => statSync(b).size - statSync(a).size)[0]
    : undefined;
  if (!file) return;
  process.stdout.write(`\nprofile, ${title} (${file}): top self time as a share of busy time\n`);
  for (const h of await summarizeProfile(file, 15))
    process.stdout.write(`${h.selfPercent.toFixed(1).padStart(6)}%  ${h.name}  ${h.where}\n`);
}

// ---------------------------------------------------------------------------------------
// Deterministic log generator
// ---------------------------------------------------------------------------------------

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
];
const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'curl/8.5.0',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
];
const PAGES = [
  '/',
  '/services',
  '/services/cardiology',
  '/team',
  '/team/dr-smith',
  '/contact',
  '/insurance',
  '/blog/flu-season',
  '/blog/heart-health?utm_source=newsletter',
  '/portal/messages',
  '/appointments/new',
];
const ASSETS = ['/css/site.css', '/js/app.js', '/img/logo.png', '/img/hero.jpg', '/fonts/inter.woff2', '/favicon.ico'];
const REFERRERS = [
  '-',
  '-',
  '-',
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://www.healthgrades.com/physician/dr-smith',
  'https://clinic.example/',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `[10/Oct/2024:13:55:36 +0200]` for a UTC instant, written in the server's +02:00 zone. */
function clf(ts: number): string {
  const d = new Date(ts + 2 * 3_600_000);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0200`;
}

/** What the hit rules must make of the file: page views and not-found pages. */
type Expected = { pageviews: number; notFound: number };

/**
 * Visits of a few pages, each page followed by its assets; crawlers, scanners, 404s, posts and
 * redirects mixed in. Only kinds whose verdict is unambiguous are written, and the page views and
 * not-found pages among them are counted as they are written: a browser's GET of a page answered
 * 200 or 304 is a page view, its 404 a not-found page (the practices mark them); assets, bots,
 * POSTs and redirects count as neither.
 */
async function generateLog(path: string, lines: number, start: number, seed: number): Promise<Expected> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const out = createWriteStream(`${path}.tmp`, { highWaterMark: 1 << 20 });
  // Three days, ending an hour before today (UTC) so that no visit runs into it.
  const span = 3 * DAY_MS - 3_600_000;
  const expected: Expected = { pageviews: 0, notFound: 0 };
  let written = 0;
  let buffer = '';
  const emit = (
    ip: string,
    ts: number,
    request: string,
    status: number,
    bytes: number,
    ref: string,
    ua: string,
    counts?: keyof Expected,
  ) => {
    buffer += `${ip} - - [${clf(ts)}] "${request}" ${status} ${bytes} "${ref}" "${ua}"\n`;
    written++;
    if (counts) expected[counts]++;
  };
  while (written < lines) {
    const ts0 = start + Math.floor((written / lines) * span);
    const v6 = random() < 0.15;
    const ip = v6
      ? `2001:db8:${Math.floor(random() * 0xffff).toString(16)}::${Math.floor(random() * 0xffff).toString(16)}`
      : `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
    const roll = random();
    if (roll < 0.1) {
      const ua = pick(BOTS);
      for (let i = 0; i < 5 && written < lines; i++)
        emit(ip, ts0 + i * 1000, `GET ${pick(PAGES)} HTTP/1.1`, 200, 5120, '-', ua);
      continue;
    }
    if (roll < 0.12) {
      emit(ip, ts0, `GET /wp-login.php HTTP/1.1`, 404, 153, '-', pick(BROWSERS), 'notFound');
      continue;
    }
    const ua = pick(BROWSERS);
    let ts = ts0;
    let ref = pick(REFERRERS);
    const pages = 1 + Math.floor(random() * 5);
    for (let p = 0; p < pages && written < lines; p++) {
      const page = random() < 0.04 ? '/old-page' : pick(PAGES);
      if (random() < 0.03) {
        // The trailing-slash redirect; the browser's follow-up request below is the page view.
        emit(ip, ts, `GET ${page === '/' ? '/index' : page}/ HTTP/2.0`, 301, 0, ref, ua);
        if (written >= lines) break;
      }
      const bytes = 8000 + Math.floor(random() * 4000);
      if (random() < 0.02) emit(ip, ts, `POST ${page} HTTP/2.0`, 200, bytes, ref, ua);
      else if (page === '/old-page') emit(ip, ts, `GET ${page} HTTP/2.0`, 404, bytes, ref, ua, 'notFound');
      else emit(ip, ts, `GET ${page} HTTP/2.0`, random() < 0.05 ? 304 : 200, bytes, ref, ua, 'pageviews');
      for (let a = 0; a < 3 && written < lines; a++)
        emit(ip, ts + 1, `GET ${pick(ASSETS)} HTTP/2.0`, 200, 20_000, `https://clinic.example${page}`, ua);
      ref = `https://clinic.example${page}`;
      ts += 5_000 + Math.floor(random() * 60_000);
    }
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  renameSync(`${path}.tmp`, path);
  return expected;
}

/**
 * The log of the 3 UTC days ending yesterday, cached under DIR with its start day in the name
 * (the pipeline refuses hit times older than 800 days, so an old file must not be reused) and
 * the generator's counts beside it; cached logs of other days are removed.
 */
async function cachedLog(lines: number): Promise<{ file: string; expected: Expected; from: string; to: string }> {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const start = today - 3 * DAY_MS;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const file = `${DIR}/combined-${lines}-${day(start)}-v2.log`;
  const counts = `${file}.expected.json`;
  for (const f of readdirSync(DIR))
    if (f.startsWith('combined-') && !f.includes(`-${day(start)}-v2.`)) rmSync(join(DIR, f), { force: true });
  if (!existsSync(file) || !existsSync(counts)) {
    process.stdout.write(`generating ${lines} lines → ${file}\n`);
    writeFileSync(counts, JSON.stringify(await generateLog(file, lines, start, 20241010)));
  }
  // The reporter's days are the practice's (Europe/Berlin): a day of margin on each side.
  return {
    file,
    expected: JSON.parse(readFileSync(counts, 'utf8')) as Expected,
    from: day(start - DAY_MS),
    to: day(today + DAY_MS),
  };
}

// ---------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------

/** Whole numbers for the lines the runner's adapter parses (`bench/hit-logs.adapter.ts`). */
const spread = (xs: number[]) =>
  xs.length > 1 ? `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}` : `${Math.round(xs[0]!)}`;

function runGoAccess(file: string): number {
  const t = performance.now();
  const r = spawnSync('goaccess', [file, '--log-format=COMBINED', '--no-global-config', '-o', `${DIR}/goaccess.json`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`goaccess failed: ${r.stderr.toString().slice(0, 500)}`);
  return (LINES / ms) * 1000;
}

/** Page views (not-found pages included) of the logs source, as a practice sees them in the reporter's API. */
async function reportedPageviews(
  reporter: Service,
  adminKey: string,
  practiceId: string,
  from: string,
  to: string,
): Promise<number> {
  const response = await fetch(
    `${reporter.url}/v1/practices/${practiceId}/stats/timeseries?from=${from}&to=${to}&source=logs&metrics=pageviews`,
    {
      headers: { authorization: `Bearer ${adminKey}` },
      signal: AbortSignal.timeout(10_000),
    },
  );
  if (!response.ok) throw new Error(`reporter answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { points: Array<{ pageviews: number }> };
  return body.points.reduce((n, p) => n + p.pageviews, 0);
}

const SUMMARY_RE = /page views produced: (\d+), not-found pages: (\d+)/;

type ImportRun = {
  ms: number;
  importMs: number;
  peakRssBytes: number;
  importCpuSeconds: number;
  pageviews: number;
  notFound: number;
  reported: number;
};

/**
 * `confidant logs import` as its own process; the clock stops when the reporter shows every page
 * view the import's summary says it produced (polled every 100 ms once the import has exited).
 */
async function importRun(
  file: string,
  practiceId: string,
  env: Record<string, string | undefined>,
  reported: () => Promise<number>,
  processor: Service,
  profileDir: string | null,
): Promise<ImportRun> {
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  // The heap cap `npm run confidant` runs the CLI with (package.json): V8 would otherwise grow its heap far past what the import holds.
  const cli = [
    '--max-old-space-size=96',
    '--import',
    'tsx',
    'admin/src/confidant.ts',
    'logs',
    'import',
    file,
    '--practice',
    practiceId,
    '--format',
    'combined',
    '--no-progress',
  ];
  const t = performance.now();
  const child = spawn(process.execPath, [...profiling, ...cli], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const watch = watchRssAndCpu(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-5000)));
  let code: number | null;
  let watched: { peakRssBytes: number; cpuSeconds: number };
  try {
    // 'close', not 'exit': the summary may still be in the pipe when the process has exited.
    [code] = (await once(child, 'close')) as [number | null];
  } finally {
    watched = watch.stop();
  }
  const { peakRssBytes, cpuSeconds: importCpuSeconds } = watched;
  const importMs = performance.now() - t;
  const summary = SUMMARY_RE.exec(stdout);
  if (code !== 0 || !summary) throw new Error(`import exited ${code}:\n${stdout}${stderr}`);
  const [pageviews, notFound] = [Number(summary[1]), Number(summary[2])];
  const produced = pageviews + notFound;
  const deadline = Date.now() + 600_000;
  for (;;) {
    const seen = await reported();
    if (seen === produced)
      return {
        ms: performance.now() - t,
        importMs,
        peakRssBytes,
        importCpuSeconds,
        pageviews,
        notFound,
        reported: seen,
      };
    if (seen > produced)
      throw new Error(
        `the reporter shows ${seen} page views for ${practiceId}, more than the ${produced} the import produced`,
      );
    if (Date.now() > deadline || processor.child.exitCode !== null)
      throw new Error(
        `the reporter never reached ${produced} page views (at ${seen}); processor output:\n${processor.output()}`,
      );
    await sleep(100);
  }
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const { file, expected, from, to } = await cachedLog(LINES);
  const expectedTotal = expected.pageviews + expected.notFound;
  process.stdout.write(
    `log: ${file} (${(statSync(file).size / 1048576).toFixed(0)} MiB, ${LINES} lines, ${from} to ${to}); the generator counted ${expected.pageviews} page views, ${expected.notFound} not-found pages\n`,
  );

  if (spawnSync('goaccess', ['--version']).status !== 0)
    spawnSync('bash', ['infra/tools/ensure.sh', 'goaccess'], { cwd: ROOT, stdio: 'inherit' });
  runGoAccess(file);
  const goaccess: number[] = [];
  for (let i = 0; i < REPS; i++) goaccess.push(runGoAccess(file));
  process.stdout.write(`goaccess: median ${Math.round(median(goaccess))} lines/s (${spread(goaccess)})\n`);

  const ns = await openNamespace('hitlogs');
  const runs = Array.from({ length: REPS + 1 }, (_, i) => `bench-r${i}`);
  const store = new PracticeStore(ns.control);
  for (const id of runs)
    await store.save({
      id,
      siteKey: `site-${id}`,
      name: id,
      domains: ['clinic.example'],
      timezone: 'Europe/Berlin',
      markNotFound: true,
    });
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  const adminKey = randomBytes(24).toString('hex');
  const services: Service[] = [];
  const ours: number[] = [];
  const rssMB: number[] = [];
  let processorProfile: string | null = null;
  try {
    // As `npm start` runs them: default settings, except a group and ports of the bench's own.
    services.push(
      await spawnService('collector', 'collector/src/server.ts', {
        env: ns.env,
        portVar: 'COLLECTOR_PORT',
        readyPath: '/readyz',
      }),
    );
    const processor = await spawnService('processor', 'processor/src/server.ts', {
      env: { ...ns.env, PROCESSOR_GROUP_ID: `bench-${ns.config.kafka.topicPrefix}` },
      portVar: 'PROCESSOR_METRICS_PORT',
      readyPath: '/readyz',
      ...(profile ? { profileDir: PROFILE_DIR } : {}),
    });
    services.push(processor);
    // The bench polls from one address, faster than the default per-minute limit allows.
    const reporter = await spawnService('reporter', 'reporter/src/server.ts', {
      env: { ...ns.env, REPORTER_ADMIN_KEY: adminKey, REPORTER_RATE_LIMIT_PER_MINUTE: '1000000' },
      portVar: 'REPORTER_PORT',
      readyPath: '/readyz',
    });
    services.push(reporter);

    // Where the run's CPU went: the processes of the pipeline (the engines run outside the bench).
    const busy: Array<[string, number | null]> = [
      ['collector', services[0]!.child.pid ?? null],
      ['processor', processor.child.pid ?? null],
      ['Kafka', findProcess('kafka.Kafka')],
      ['ClickHouse', findProcess('clickhouse-server')],
    ];
    for (const [i, practiceId] of runs.entries()) {
      const importProfile = profile && i === REPS ? `${PROFILE_DIR}/import` : null;
      const cpuBefore = busy.map(([, pid]) => (pid === null ? null : cpuSeconds(pid)));
      const r = await importRun(
        file,
        practiceId,
        ns.env,
        () => reportedPageviews(reporter, adminKey, practiceId, from, to),
        processor,
        importProfile,
      );
      const rate = (LINES / r.ms) * 1000;
      process.stdout.write(
        `${i === 0 ? 'warm-up' : `run ${i}`}: ${Math.round(rate)} lines/s end to end (full stack as npm start, import spawned → reporter shows every page view); ` +
          `import process ${Math.round((LINES / r.importMs) * 1000)} lines/s, peak RSS ${Math.round(r.peakRssBytes / 1e6)} MB; ` +
          `page views ${r.pageviews} + not-found ${r.notFound} = reporter ${r.reported}, generator ${expected.pageviews} + ${expected.notFound}\n`,
      );
      const cpu = busy.map(([name, pid], k) => {
        const [before, after] = [cpuBefore[k], pid === null ? null : cpuSeconds(pid)];
        return `${name} ${before == null || after == null ? '?' : (after - before).toFixed(1)}`;
      });
      process.stdout.write(
        `  CPU seconds in ${(r.ms / 1000).toFixed(1)} s wall: import ${r.importCpuSeconds.toFixed(1)} (${(r.importMs / 1000).toFixed(1)} s to exit), ${cpu.join(', ')}\n`,
      );
      if (r.pageviews !== expected.pageviews || r.notFound !== expected.notFound) {
        throw new Error(
          `the import counted ${r.pageviews} page views and ${r.notFound} not-found pages; the generator wrote ${expected.pageviews} and ${expected.notFound}`,
        );
      }
      if (importProfile) await printHot('import (last run)', importProfile);
      if (i > 0) {
        ours.push(rate);
        rssMB.push(r.peakRssBytes / 1e6);
      }
    }
    // A late duplicate would raise a count after its run stopped the clock: read every run once more.
    for (const practiceId of runs) {
      const seen = await reportedPageviews(reporter, adminKey, practiceId, from, to);
      if (seen !== expectedTotal)
        throw new Error(
          `after all runs the reporter shows ${seen} page views for ${practiceId}; the generator wrote ${expectedTotal}`,
        );
    }
  } finally {
    for (const s of services.splice(0).reverse()) {
      const written = await s.stop();
      if (s.name === 'processor' && written) processorProfile = dirname(written);
    }
    await ns.cleanup();
  }
  if (processorProfile) await printHot('processor (all runs)', processorProfile);

  const g = median(goaccess);
  const o = median(ours);
  const rows: Row[] = [
    {
      metric: `lines/s end to end (${LINES.toLocaleString('en-US')}-line combined log, full stack as npm start)`,
      unit: '/s',
      ours,
      baseline: goaccess,
      baselineLabel: 'GoAccess 1.7',
      better: 'higher',
      goal: `≥ ${RATIO_GOAL}× GoAccess`,
      met: o >= RATIO_GOAL * g,
    },
    {
      metric: 'import process peak RSS (largest run)',
      unit: 'MB',
      ours: rssMB,
      baseline: null,
      better: 'lower',
      quantile: 1,
      goal: `≤ ${RSS_GOAL_MB} MB`,
      met: Math.max(...rssMB) <= RSS_GOAL_MB,
    },
  ];
  process.stdout.write(`\ngoaccess 1.7: median ${Math.round(g)} lines/s (spread ${spread(goaccess)})\n`);
  process.stdout.write(`confidant:    median ${Math.round(o)} lines/s (spread ${spread(ours)})\n`);
  process.stdout.write(`ratio confidant/goaccess: ${(o / g).toFixed(2)}\n`);
  process.stdout.write(
    `totals: every run's reporter page views = import summary = generator (${expected.pageviews} + ${expected.notFound} not-found)\n\n`,
  );
  process.stdout.write(`${textTable([{ name: 'hit-logs', rows, details: [], bottleneck: [], seconds: 0 }], !smoke)}\n`);
  if (!smoke && rows.some((r) => r.met === false)) process.exitCode = 1;
}

await main();
