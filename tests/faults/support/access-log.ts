import { prng } from '../../support/event-stream.ts';
import { BROWSER_UA } from './pipeline.ts';

const DAY_MS = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const clf = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
};

/**
 * A combined log over the six past UTC days (inside the pipeline's window whenever a test runs): page
 * views mixed with assets, a crawler and POSTs. The truth counts its page-view lines per practice day
 * as they are generated, not as the importer reads them.
 */
export function generateAccessLog(
  practice: string,
  lines: number,
  seed: number,
): { text: string; truth: Record<string, number> } {
  const random = prng(seed);
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS - 6 * DAY_MS;
  const truth: Record<string, number> = {};
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const ts = start + Math.floor((i / lines) * 6 * DAY_MS);
    const ip = `203.0.${Math.floor(random() * 8)}.${Math.floor(random() * 250)}`;
    const r = random();
    if (r < 0.1) out.push(`${ip} - - [${clf(ts)}] "GET /js/app.js HTTP/1.1" 200 900 "-" "${BROWSER_UA}"`);
    else if (r < 0.16)
      out.push(
        `${ip} - - [${clf(ts)}] "GET /about HTTP/1.1" 200 900 "-" "Googlebot/2.1 (+http://www.google.com/bot.html)"`,
      );
    else if (r < 0.19) out.push(`${ip} - - [${clf(ts)}] "POST /contact HTTP/1.1" 200 120 "-" "${BROWSER_UA}"`);
    else {
      out.push(
        `${ip} - - [${clf(ts)}] "GET /page-${Math.floor(random() * 40)} HTTP/1.1" 200 5120 "https://www.example.org/" "${BROWSER_UA}"`,
      );
      const key = `${practice} ${new Date(ts).toISOString().slice(0, 10)} pageviews`;
      truth[key] = (truth[key] ?? 0) + 1;
    }
  }
  return { text: `${out.join('\n')}\n`, truth };
}
