/**
 * Top self-time functions of a V8 .cpuprofile (`node --cpu-prof`, or the inspector).
 *
 *   npx tsx bench/support/cpu-profile.ts FILE.cpuprofile [N]
 */
import { readFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type Profile = { nodes: Array<{ id: number; callFrame: CallFrame }>; samples: number[]; timeDeltas: number[] };

export type HotFunction = { name: string; where: string; selfPercent: number; selfMs: number };

/** Where a frame lives, short: `collector/src/x.ts:12`, `kafkajs/src/…`, `node:internal/…`. */
function where(frame: CallFrame): string {
  if (!frame.url) return '(native)';
  const url = frame.url.replace(/^file:\/\//, '');
  const pkg = url.lastIndexOf('node_modules/');
  const short = pkg >= 0 ? url.slice(pkg + 'node_modules/'.length) : url.replace(/^.*\/main\//, '');
  return `${short}:${frame.lineNumber + 1}`;
}

/** Samples where the thread waited, not worked: left out, so percentages are shares of busy time. */
const IDLE = new Set(['(idle)', '(program)']);

export function hotFunctions(profile: Profile, top = 8): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!;
    if (IDLE.has(frame.functionName)) return;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const name = frame.functionName || '(anonymous)';
    const loc = where(frame);
    const key = `${name}@${loc}`;
    const entry = self.get(key) ?? { name, where: loc, us: 0 };
    entry.us += us;
    self.set(key, entry);
  });
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfPercent: (100 * e.us) / Math.max(1, total),
      selfMs: e.us / 1000,
    }));
}

export async function summarizeProfile(file: string, top = 8): Promise<HotFunction[]> {
  return hotFunctions(JSON.parse(await readFile(file, 'utf8')) as Profile, top);
}

/** Regex frames are named after their whole pattern: keep a table cell short and free of pipes. */
const cell = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}…` : s).replace(/\|/g, '¦');

/** Markdown lines for a profile: the hottest functions by self time. */
export function profileLines(title: string, hot: HotFunction[], file: string | null): string[] {
  return [
    `${title}${file ? ` (\`${file.replace(/^.*\/main\//, '')}\`)` : ''}, top self time as a share of busy (non-idle) time; line numbers of TypeScript files are those of tsx's output:`,
    '',
    '| self % | function | where |',
    '|---:|---|---|',
    ...hot.map((h) => `| ${h.selfPercent.toFixed(1)} | \`${cell(h.name)}\` | \`${cell(h.where)}\` |`),
    '',
  ];
}

/** Profiles work running in this process (the producer bench drives its code in-process). */
export async function profileInProcess<T>(work: () => Promise<T>): Promise<{ result: T; profile: Profile }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, n] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile.ts FILE.cpuprofile [N]');
  for (const h of await summarizeProfile(file, Number(n ?? 15)))
    process.stdout.write(`${h.selfPercent.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}\n`);
}
