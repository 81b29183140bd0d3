/**
 * Hit-log ingestion vs GoAccess on the same generated Combined log.
 *
 *   npx tsx bench/hit-logs.bench.ts [--smoke] [--lines N] [--profile]
 *
 * Generates a deterministic log (1,000,000 lines; --smoke: 20,000), times GoAccess 1.7
 * (`--log-format=COMBINED`, JSON report) and our import end to end: parse → de-identify →
 * Kafka → processor (a separate process, so it has its own core) → ClickHouse rollups, the
 * clock stopping when the rollups hold every produced page view. One warm-up, then 3 timed
 * repetitions (smoke: 1, and timing never fails it). Each repetition imports for its own
 * practice, so the import ledger does not skip the file. `--profile` profiles the last run: the
 * import in this process and the processor (`--cpu-prof`), and prints the hottest functions of each.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { connectClickHouse, connectKafka, createLogger, ensureTopics, migrate, PracticeStore, sqlv, type Db } from '@confidant/shared';
import { loadCollectorConfig } from '@confidant/collector/collector.config';
import { runLogImport } from '@confidant/collector/logs/import-cli';
import { benchEnv, keepBenchData } from './bench.config.ts';
import { prng } from './support/envelopes.ts';
import { hotFunctions, profileInProcess, summarizeProfile } from './support/cpu-profile.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const linesArg = args.indexOf('--lines');
const LINES = linesArg >= 0 ? Number(args[linesArg + 1]) : smoke ? 20_000 : 1_000_000;
const REPS = smoke ? 1 : 3;
const profile = args.includes('--profile');
const DIR = '/tmp/confidant-bench';
const PROFILE_DIR = `${DIR}/hit-logs-processor-profile`;
const IMPORT_PROFILE = `${DIR}/hit-logs-import.cpuprofile`;

function printHot(title: string, hot: Awaited<ReturnType<typeof summarizeProfile>>): void {
  process.stdout.write(`\nprofile, ${title}: top self time as a share of busy time\n`);
  for (const h of hot) process.stdout.write(`${h.selfPercent.toFixed(1).padStart(6)}%  ${h.name}  ${h.where}\n`);
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
const PAGES = ['/', '/services', '/services/cardiology', '/team', '/team/dr-smith', '/contact', '/insurance', '/blog/flu-season', '/blog/heart-health?utm_source=newsletter', '/portal/messages', '/appointments/new'];
const ASSETS = ['/css/site.css', '/js/app.js', '/img/logo.png', '/img/hero.jpg', '/fonts/inter.woff2', '/favicon.ico'];
const REFERRERS = ['-', '-', '-', 'https://www.google.com/', 'https://www.bing.com/', 'https://www.healthgrades.com/physician/dr-smith', 'https://clinic.example/'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `[10/Oct/2024:13:55:36 +0200]` for a UTC instant, written in the server's +02:00 zone. */
function clf(ts: number): string {
  const d = new Date(ts + 2 * 3_600_000);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0200`;
}

/** Visits of a few pages, each page followed by its assets; crawlers, scanners, 404s, posts and redirects mixed in. */
async function generateLog(path: string, lines: number, seed: number): Promise<void> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const out = createWriteStream(`${path}.tmp`, { highWaterMark: 1 << 20 });
  const start = Date.UTC(2024, 9, 10, 0, 0, 0);
  const span = 2 * 86_400_000;
  let written = 0;
  let buffer = '';
  const emit = (ip: string, ts: number, request: string, status: number, bytes: number, ref: string, ua: string) => {
    buffer += `${ip} - - [${clf(ts)}] "${request}" ${status} ${bytes} "${ref}" "${ua}"\n`;
    written++;
  };
  while (written < lines) {
    const ts0 = start + Math.floor((written / lines) * span);
    const v6 = random() < 0.15;
    const ip = v6 ? `2001:db8:${Math.floor(random() * 0xffff).toString(16)}::${Math.floor(random() * 0xffff).toString(16)}` : `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
    const roll = random();
    if (roll < 0.1) {
      const ua = pick(BOTS);
      for (let i = 0; i < 5 && written < lines; i++) emit(ip, ts0 + i * 1000, `GET ${pick(PAGES)} HTTP/1.1`, 200, 5120, '-', ua);
      continue;
    }
    if (roll < 0.12) {
      emit(ip, ts0, `GET /wp-login.php HTTP/1.1`, 404, 153, '-', pick(BROWSERS));
      continue;
    }
    const ua = pick(BROWSERS);
    let ts = ts0;
    let ref = pick(REFERRERS);
    const pages = 1 + Math.floor(random() * 5);
    for (let p = 0; p < pages && written < lines; p++) {
      const page = random() < 0.04 ? '/old-page' : pick(PAGES);
      const status = page === '/old-page' ? 404 : random() < 0.05 ? 304 : 200;
      emit(ip, ts, `${random() < 0.02 ? 'POST' : 'GET'} ${page} HTTP/2.0`, status, 8000 + Math.floor(random() * 4000), ref, ua);
      for (let a = 0; a < 3 && written < lines; a++) emit(ip, ts + 1, `GET ${pick(ASSETS)} HTTP/2.0`, 200, 20_000, `https://clinic.example${page}`, ua);
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
}

// ---------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => (xs.length > 1 ? `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}` : `${Math.round(xs[0]!)}`);

function runGoAccess(file: string): number {
  const t = performance.now();
  const r = spawnSync('goaccess', [file, '--log-format=COMBINED', '--no-global-config', '-o', `${DIR}/goaccess.json`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`goaccess failed: ${r.stderr.toString().slice(0, 500)}`);
  return (LINES / ms) * 1000;
}

async function logsPageviews(db: Db, practiceId: string): Promise<number> {
  const [row] = await db.rows<{ n: string }>(
    `SELECT toString(sumMerge(pageviews)) AS n FROM rollup_hourly WHERE practice_id = ${sqlv.str(practiceId)} AND source = 'logs'`,
  );
  return Number(row?.n ?? 0);
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const file = `${DIR}/combined-${LINES}-v1.log`;
  if (!existsSync(file)) {
    process.stdout.write(`generating ${LINES} lines → ${file}\n`);
    await generateLog(file, LINES, 20241010);
  }
  process.stdout.write(`log: ${file} (${(statSync(file).size / 1048576).toFixed(0)} MiB, ${LINES} lines)\n`);

  if (spawnSync('goaccess', ['--version']).status !== 0) spawnSync('bash', ['infra/tools/ensure.sh', 'goaccess'], { cwd: ROOT, stdio: 'inherit' });
  runGoAccess(file);
  const goaccess: number[] = [];
  for (let i = 0; i < REPS; i++) goaccess.push(runGoAccess(file));
  process.stdout.write(`goaccess: median ${Math.round(median(goaccess))} lines/s (${spread(goaccess)})\n`);

  const env = benchEnv('hitlogs');
  const config = loadCollectorConfig(env);
  const logger = createLogger('bench', 'warn');
  await migrate(config.clickhouse);
  const admin = connectKafka(config.kafka, logger).admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.topicPrefix);
  const db = connectClickHouse(config.clickhouse);
  const store = new PracticeStore(db);
  const runs = Array.from({ length: REPS + 1 }, (_, i) => `bench-r${i}`);
  for (const id of runs) {
    await store.save({ id, siteKey: `site-${id}`, name: id, domains: ['clinic.example'], timezone: 'Europe/Berlin', markNotFound: true });
  }

  let processor: ChildProcess | null = null;
  let processorOutput = '';
  const withProcessor = existsSync(`${ROOT}/processor/src/server.ts`);
  if (withProcessor) {
    rmSync(PROFILE_DIR, { recursive: true, force: true });
    const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    processor = spawn(process.execPath, [...profiling, '--import', 'tsx', 'processor/src/server.ts'], {
      cwd: ROOT,
      env: { ...env, PROCESSOR_GROUP_ID: `bench-${config.kafka.topicPrefix}`, PROCESSOR_METRICS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => (processorOutput = (processorOutput + chunk.toString()).slice(-5000));
    processor.stdout!.on('data', keep);
    processor.stderr!.on('data', keep);
  }

  const ours: number[] = [];
  try {
    for (const [i, practiceId] of runs.entries()) {
      const t = performance.now();
      const importing = () => runLogImport({ file, practiceId, format: 'combined', config, progress: !smoke && process.stderr.isTTY, output: process.stdout });
      let summary: Awaited<ReturnType<typeof importing>>;
      if (profile && i === REPS) {
        const profiled = await profileInProcess(importing);
        summary = profiled.result;
        writeFileSync(IMPORT_PROFILE, JSON.stringify(profiled.profile));
        printHot(`import (this process, ${IMPORT_PROFILE})`, hotFunctions(profiled.profile, 15));
      } else summary = await importing();
      const produced = summary.pageviews + summary.notFound;
      const importedMs = performance.now() - t;
      if (withProcessor) {
        const deadline = Date.now() + 600_000;
        for (;;) {
          const seen = await logsPageviews(db, practiceId);
          if (seen === produced) break;
          if (seen > produced) throw new Error(`rollups hold ${seen} page views for ${practiceId}, more than the ${produced} produced`);
          if (Date.now() > deadline || processor!.exitCode !== null) throw new Error(`rollups never reached ${produced} (at ${seen}); processor output:\n${processorOutput}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const ms = performance.now() - t;
      const rate = (LINES / ms) * 1000;
      process.stdout.write(
        `${i === 0 ? 'warm-up' : `run ${i}`}: ${Math.round(rate)} lines/s end to end${withProcessor ? ' (to ClickHouse)' : ' (to Kafka)'}; import alone ${Math.round((LINES / importedMs) * 1000)} lines/s; ${produced} page views\n`,
      );
      if (i > 0) ours.push(rate);
    }
  } finally {
    if (processor) {
      processor.kill('SIGTERM');
      await once(processor, 'exit');
      const written = profile && existsSync(PROFILE_DIR) ? readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile')) : [];
      // The main thread's profile is the largest (tsx's loader thread writes one too).
      const main = written.map((f) => `${PROFILE_DIR}/${f}`).sort((a, b) => statSync(b).size - statSync(a).size)[0];
      if (main) printHot(`processor (all runs, ${main})`, await summarizeProfile(main, 15));
    }
    await db.close();
    if (!keepBenchData) {
      const server = connectClickHouse(config.clickhouse, { database: null });
      await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
      await server.close();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.kafka.topicPrefix}.`));
      if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
    }
    await admin.disconnect();
  }

  const g = median(goaccess);
  const o = median(ours);
  process.stdout.write(`\ngoaccess 1.7: median ${Math.round(g)} lines/s (spread ${spread(goaccess)})\n`);
  process.stdout.write(`confidant:    median ${Math.round(o)} lines/s (spread ${spread(ours)})\n`);
  process.stdout.write(`ratio confidant/goaccess: ${(o / g).toFixed(2)}\n`);
  if (!smoke && o < g) process.exitCode = 1;
}

await main();
