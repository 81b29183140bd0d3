import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ROOT } from './services.ts';

/** A browser's headers: without a real user agent and Accept-Language the collector drops the hit as a bot. */
export const BROWSER_HEADERS = {
  'content-type': 'text/plain',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'accept-language': 'en-US,en;q=0.9',
} as const;

export type LoadOptions = {
  url: string;
  body?: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  /** Requests per second over all connections (autocannon `overallRate`); unbounded when absent. */
  rate?: number;
};

export type LoadResult = {
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
};

/** autocannon in its own process (it would otherwise compete with the service for this process's event loop), bounded in time. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const args = [
    join(ROOT, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-n',
    '-c',
    String(options.connections),
    '-d',
    String(options.seconds),
    '-t',
    '5',
    '-m',
    options.method ?? 'POST',
  ];
  for (const [k, v] of Object.entries(options.headers ?? BROWSER_HEADERS)) args.push('-H', `${k}=${v}`);
  if (options.body !== undefined) args.push('-b', options.body);
  if (options.rate) args.push('-R', String(options.rate));
  args.push(options.url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const killer = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 30) * 1000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`autocannon failed (exit ${code}): ${stderr || stdout.slice(-2000)}`);
  const r = JSON.parse(line) as {
    requests: { total: number };
    '2xx': number;
    non2xx: number;
    errors: number;
    timeouts: number;
    duration: number;
    latency: { p50: number; p99: number; max: number };
  };
  return {
    requests: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
  };
}
