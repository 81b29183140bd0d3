/**
 * Runs collector, processor, reporter and the sample practice site as child processes,
 * waits until each is ready, prepares the demo, prints where to look, and on Ctrl-C stops
 * every child (SIGTERM, then SIGKILL after a grace period). Engines are started and
 * stopped by infra/stack/start.sh around this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { prepareDemo } from './demo-setup.ts';
import { loadStackConfig } from './stack.config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOG_DIR = `${ROOT}.data/logs`;
mkdirSync(LOG_DIR, { recursive: true });

const stack = loadStackConfig();
const demo = await prepareDemo(stack);

type Service = { name: string; entry: string; ready: string };
const SERVICES: Service[] = [
  { name: 'collector', entry: 'collector/src/server.ts', ready: `${stack.collectorUrl}/readyz` },
  { name: 'processor', entry: 'processor/src/server.ts', ready: `${stack.processorUrl}/readyz` },
  { name: 'reporter', entry: 'reporter/src/server.ts', ready: `${stack.reporterUrl}/readyz` },
  { name: 'sample-site', entry: 'collector/src/sample-site.server.ts', ready: `${stack.siteUrl}/` },
];

const children = new Map<string, ChildProcess>();
const restarts = new Map<string, number[]>();
let stopping = false;

function start(service: Service): ChildProcess {
  const log = createWriteStream(`${LOG_DIR}/${service.name}.log`, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', service.entry], {
    cwd: ROOT,
    env: { ...stack.env, ...demo.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    children.delete(service.name);
    if (stopping) return;
    // A supervisor's job: restart a service that died (the pipeline is built to resume exactly),
    // but give up on one that keeps dying.
    const now = Date.now();
    const recent = (restarts.get(service.name) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= 3) {
      console.error(`[stack] ${service.name} exited (${signal ?? code}) again; see .data/logs/${service.name}.log. Stopping the stack.`);
      void shutdown(1);
      return;
    }
    restarts.set(service.name, [...recent, now]);
    console.error(`[stack] ${service.name} exited (${signal ?? code}); restarting it. Log: .data/logs/${service.name}.log`);
    setTimeout(() => stopping || start(service), 1000);
  });
  children.set(service.name, child);
  return child;
}

async function waitReady(service: Service, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const res = await fetch(service.ready);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${service.name} not ready after ${timeoutMs / 1000}s; see .data/logs/${service.name}.log`);
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\n[stack] stopping services…');
  const exits = [...children.values()].map(
    (child) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  );
  await Promise.all(exits);
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

for (const service of SERVICES) start(service);
try {
  await Promise.all(SERVICES.map((s) => waitReady(s)));
} catch (error) {
  console.error(`[stack] ${(error as Error).message}`);
  await shutdown(1);
}

await demo.preload();

console.log(`
Confidant is running. Logs: .data/logs/ — press Ctrl-C to stop everything.

  Sample practice site   ${stack.siteUrl}/
  Collector              ${stack.collectorUrl}/healthz   (snippet: ${stack.collectorUrl}/s.js, privacy: ${stack.collectorUrl}/privacy)
  Reporter API docs      ${stack.reporterUrl}/docs
  Monthly reports (HTML) ${demo.reportUrls.join('\n                         ')}
  Processor metrics      ${stack.processorUrl}/metrics

  Admin API key (demo)   ${demo.adminKey}
                         (the browser asks for it: any user name, the key as password)
  Try: curl -s -H 'authorization: Bearer ${demo.adminKey}' '${demo.reportJsonUrl}'
`);
