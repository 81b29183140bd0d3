/**
 * Runs collector, processor, reporter, the sample practice site and the salt expiry job
 * (`confidant salts expire --every 10m`, as the salts user) under a supervisor: each
 * is restarted on its own when it exits (exponential backoff, forever), so one crash-looping
 * service never stops the others. Serves their states on the stack status port, prepares the
 * demo, prints where to look, and on Ctrl-C, SIGTERM or SIGHUP stops every child. Engines are
 * started and stopped by infra/stack/start.sh around this process.
 */
import { mkdirSync } from 'node:fs';
import { prepareDemo } from './demo-setup.ts';
import { loadStackConfig } from './stack.config.ts';
import { serveStatus, Supervisor, type ServiceSpec } from './supervisor.ts';

// Output is best effort: the terminal or a `| tee` may be gone (EPIPE), and stopping the
// services must still happen, so a failed write must not crash this process.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const stack = loadStackConfig();
mkdirSync(stack.logDir, { recursive: true });
const demo = stack.demo ? await prepareDemo(stack) : null;

const service = (name: string, entry: string, ready: string | undefined, args: string[] = []): ServiceSpec => ({
  name,
  command: process.execPath,
  args: ['--import', 'tsx', entry, ...args],
  cwd: stack.root,
  env: { ...stack.env, ...demo?.env, ...stack.serviceEnv[name] },
  logFile: `${stack.logDir}/${name}.log`,
  readyUrl: ready,
});
const supervisor = new Supervisor(
  [
    service('collector', 'collector/src/server.ts', `${stack.collectorUrl}/readyz`),
    service('processor', 'processor/src/server.ts', `${stack.processorUrl}/readyz`),
    service('reporter', 'reporter/src/server.ts', `${stack.reporterUrl}/readyz`),
    service('sample-site', 'collector/src/sample-site.server.ts', `${stack.siteUrl}/`),
    // Expiry that needs no collector; its first run is at start. Up as soon as it runs (no HTTP port).
    service('salt-expiry', 'admin/src/confidant.ts', undefined, ['salts', 'expire', '--every', '10m']),
  ],
  (line) => console.error(line),
);

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`\n[stack] ${signal}: stopping services…`);
  await supervisor.stop();
  process.exit(0);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));

const status = await serveStatus(supervisor, stack.statusPort);
const statusUrl = `http://127.0.0.1:${status.port}/readyz`;
supervisor.start();
const slow = setTimeout(
  () => console.error(`[stack] still waiting for services to become ready: ${statusUrl}`),
  60_000,
);
const ready = await supervisor.allUp();
clearTimeout(slow);
if (ready) {
  // A failed preload is not worth stopping the services for: say so and keep running.
  await demo
    ?.preload()
    .catch((error: Error) =>
      console.error(`[stack] demo preload failed (${error.message}); the services keep running`),
    );
  printBanner();
}

function printBanner(): void {
  const demoLines = demo
    ? `  Dashboard              ${demo.dashboardUrl}
  Monthly reports (HTML) ${demo.reportUrls.join('\n                         ')}

  Sign in (demo only)    ${demo.signInUrl}
${demo.signIns.map((p) => `                         ${p.label}: ${p.email} / ${p.password}   (two-factor off, demo only)`).join('\n')}

  Admin API key (demo)   ${demo.adminKey}
                         (the browser asks for it: any user name, the key as password)
  Try: curl -s -H 'authorization: Bearer ${demo.adminKey}' '${demo.reportJsonUrl}'`
    : '  (STACK_DEMO=0: no demo practices or data)';
  console.log(`
Confidant is running. Logs: ${stack.logDir}/ — press Ctrl-C to stop everything.

  Sample practice site   ${stack.siteUrl}/
  Collector              ${stack.collectorUrl}/healthz   (snippet: ${stack.collectorUrl}/s.js, privacy: ${stack.collectorUrl}/privacy)
  Reporter API docs      ${stack.reporterUrl}/docs
  Processor metrics      ${stack.processorUrl}/metrics
  Stack status           ${statusUrl}   (200 when every service is up, else 503 naming the failing ones)
${demoLines}
`);
}
