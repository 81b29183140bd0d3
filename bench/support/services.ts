import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

export type Service = {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  output(): string;
  /** Peak resident set size so far (VmHWM), in MiB. */
  peakRssMiB(): Promise<number>;
  /** SIGTERM, wait for the graceful exit; returns the CPU profile written on exit, if profiling. */
  stop(): Promise<string | null>;
};

export type SpawnOptions = {
  env: Record<string, string | undefined>;
  /** How the service learns its port: an environment variable, or else its first argument. */
  portVar?: string;
  /** Path that answers 200 once the service is ready. */
  readyPath: string;
  profileDir?: string;
  timeoutMs?: number;
};

/** Runs `node --import tsx <script>` as its own process (its own core, its own heap), optionally under `--cpu-prof`. */
export async function spawnService(name: string, script: string, options: SpawnOptions): Promise<Service> {
  const port = await freePort();
  const profileDir = options.profileDir ? join(options.profileDir, `${name}-${Date.now()}`) : null;
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', script];
  if (!options.portVar) args.push(String(port));
  const env = options.portVar ? { ...options.env, [options.portVar]: String(port) } : options.env;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const service: Service = {
    name,
    child,
    port,
    url,
    output: () => output,
    async peakRssMiB() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return kb / 1024;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (!profileDir) return null;
      const files = await readdir(profileDir).catch(() => [] as string[]);
      const profile = files.find((f) => f.endsWith('.cpuprofile'));
      return profile ? join(profileDir, profile) : null;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${output}`);
    try {
      const response = await fetch(`${url}${options.readyPath}`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return service;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`${name} not ready within ${options.timeoutMs ?? 60_000} ms:\n${output}`);
    }
    await sleep(100);
  }
}

/** Reads one Prometheus counter or gauge (summed over its labels) from a /metrics endpoint. */
export async function scrapeMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
