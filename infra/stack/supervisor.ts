/**
 * Keeps a set of child processes running, each on its own: a child that exits is restarted
 * after an exponential backoff, forever, and never affects the others. Serves the children's
 * states on a loopback `GET /readyz` (200 when all are up, 503 naming the others).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorBody, ErrorCode } from '@confidant/shared';

export type BackoffPolicy = {
  /** Delay before the first restart after a failure. */
  initialMs: number;
  /** The delay doubles per consecutive failure up to this cap. */
  maxMs: number;
  /** A run that lasted this long counts as healthy: the next failure starts again at `initialMs`. */
  stableMs: number;
};

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 60_000, stableMs: 60_000 };

/** Consecutive-failure count after an exit: a run of `stableMs` or more resets it. */
export function nextAttempt(previous: number, uptimeMs: number, policy: BackoffPolicy): number {
  return uptimeMs >= policy.stableMs ? 1 : previous + 1;
}

/** Delay before restart `attempt` (1-based): initialMs × 2^(attempt-1), capped at maxMs. */
export function restartDelay(attempt: number, policy: BackoffPolicy): number {
  // The exponent is bounded so a child that has failed for days does not overflow to Infinity.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

export type ServiceSpec = {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** Appended stdout and stderr of every run. */
  logFile: string;
  /** Up once this answers 2xx; without it a child is up as soon as it runs. */
  readyUrl?: string;
};

export type ServiceState = 'starting' | 'up' | 'restarting' | 'stopped';

export type ServiceStatus = {
  state: ServiceState;
  pid: number | null;
  /** Restarts since the supervisor started. */
  restarts: number;
  /** Consecutive failures (0 while healthy). */
  attempt: number;
  lastExit: string | null;
  nextRetryAt: string | null;
};

type Entry = {
  spec: ServiceSpec;
  status: ServiceStatus;
  child: ChildProcess | null;
  startedAt: number;
  timer: NodeJS.Timeout | null;
};

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private stopping = false;

  constructor(
    specs: ServiceSpec[],
    private readonly say: (line: string) => void,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
  ) {
    for (const spec of specs) {
      this.entries.set(spec.name, {
        spec,
        status: { state: 'starting', pid: null, restarts: 0, attempt: 0, lastExit: null, nextRetryAt: null },
        child: null,
        startedAt: 0,
        timer: null,
      });
    }
  }

  start(): void {
    for (const entry of this.entries.values()) this.run(entry);
  }

  status(): Record<string, ServiceStatus> {
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, { ...e.status }]));
  }

  /** True once every service is up at the same time (not while one keeps failing); false if stopped first. */
  async allUp(pollMs = 200): Promise<boolean> {
    while (![...this.entries.values()].every((e) => e.status.state === 'up')) {
      if (this.stopping) return false;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return true;
  }

  /** SIGTERM to every child, SIGKILL after `graceMs`; resolves when all have exited. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.entries.values()].map((entry) => {
        if (entry.timer) clearTimeout(entry.timer);
        entry.status.state = 'stopped';
        const child = entry.child;
        if (!child) return undefined;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }),
    );
  }

  private run(entry: Entry): void {
    const { spec, status } = entry;
    status.state = 'starting';
    status.nextRetryAt = null;
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    // Own process group: a Ctrl-C or a closed terminal reaches the supervisor only, which then
    // stops every child itself; a child never sees a signal meant for another.
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Both streams share the file, so neither may end it; it is closed once the child's stdio is.
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    child.once('close', () => log.end());
    log.on('error', (error) => this.say(`[stack] cannot write ${spec.logFile}: ${error.message}`));
    entry.child = child;
    entry.startedAt = Date.now();
    status.pid = child.pid ?? null;
    // A spawn failure (missing binary) is reported as an exit too, so it is retried like a crash.
    child.once('error', (error) => this.exited(entry, child, `error ${error.message}`));
    child.once('exit', (code, signal) => this.exited(entry, child, signal ? `signal ${signal}` : `exit code ${code}`));
    if (spec.readyUrl) void this.waitReady(entry, child, spec.readyUrl);
    else status.state = 'up';
  }

  private async waitReady(entry: Entry, child: ChildProcess, url: string): Promise<void> {
    while (entry.child === child && entry.status.state === 'starting') {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (res.ok && entry.child === child && entry.status.state === 'starting') {
          entry.status.state = 'up';
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private exited(entry: Entry, child: ChildProcess, how: string): void {
    if (entry.child !== child) return; // 'error' and 'exit' may both fire for one run
    entry.child = null;
    const { spec, status } = entry;
    status.pid = null;
    status.lastExit = `${how} at ${new Date().toISOString()}`;
    if (this.stopping) return;
    status.attempt = nextAttempt(status.attempt, Date.now() - entry.startedAt, this.policy);
    const delay = restartDelay(status.attempt, this.policy);
    status.state = 'restarting';
    status.nextRetryAt = new Date(Date.now() + delay).toISOString();
    this.say(
      `[stack] ${spec.name} exited (${how}), failure ${status.attempt} in a row; next retry in ${formatSeconds(delay)}. Log: ${spec.logFile}`,
    );
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.stopping) return;
      status.restarts += 1;
      this.run(entry);
    }, delay);
  }
}

const formatSeconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** `GET /readyz` on 127.0.0.1:`port`: 200 with every service's status when all are up, else 503 naming the others. */
export async function serveStatus(supervisor: Supervisor, port: number): Promise<Server & { port: number }> {
  const server = createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || req.url !== '/readyz')
      return send(404, errorBody(ErrorCode.notFound, 'only GET /readyz is served here'));
    const services = supervisor.status();
    const failing = Object.entries(services).filter(([, s]) => s.state !== 'up');
    if (!failing.length) return send(200, { status: 'ready', services });
    const why = failing.map(([name, s]) => `${name} ${s.state}${s.lastExit ? ` (last ${s.lastExit})` : ''}`).join('; ');
    return send(503, {
      ...errorBody(ErrorCode.unavailable, `not ready: ${why}`),
      failing: failing.map(([name]) => name),
      services,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}
