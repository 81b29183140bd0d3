/**
 * Synthetic visits for the demo practices, sent through the real collector: today's as
 * beacons from made-up addresses (the demo stack trusts X-Forwarded-For from loopback), the
 * past weeks as a web-server access log posted to `/v1/logs`, whose lines carry their own times.
 */
import type { PracticeInput } from '@confidant/shared';

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
];
const PAGES = [
  '/',
  '/services.html',
  '/physicians/',
  '/contact.html',
  '/privacy.html',
  '/appointments/',
  '/services.html',
];
const REFERRERS = [
  '',
  '',
  'https://www.google.com/search?q=family+doctor',
  'https://duckduckgo.com/',
  'https://www.facebook.com/',
  'https://www.bing.com/',
];
const IPS = ['81.2.69.', '89.160.20.', '2.125.160.', '175.16.199.', '216.160.83.', '67.43.156.'];

/** Deterministic PRNG so the demo looks the same on every machine. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function sendDemoTraffic(
  collectorUrl: string,
  practices: PracticeInput[],
  visitorsPerPractice = 120,
): Promise<number> {
  const random = mulberry32(42);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  let sent = 0;
  for (const practice of practices) {
    const origin = `https://${practice.domains.at(-1)}`;
    for (let v = 0; v < visitorsPerPractice; v++) {
      const headers = {
        'content-type': 'text/plain',
        'user-agent': pick(USER_AGENTS),
        'x-forwarded-for': `${pick(IPS)}${1 + Math.floor(random() * 250)}`,
      };
      const post = async (body: Record<string, unknown>) => {
        const res = await fetch(`${collectorUrl}/e`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ site: practice.siteKey, ...body }),
        });
        if (res.status === 202) sent++;
      };
      let referrer: string | null = pick(REFERRERS) || null;
      const pages = 1 + Math.floor(random() * 4);
      for (let p = 0; p < pages; p++) {
        const url = `${origin}${pick(PAGES)}`;
        await post({ type: 'pageview', url, referrer, width: 390 + Math.floor(random() * 1500) });
        await post({ type: 'engagement', url, engagedMs: Math.floor(random() * 90_000) });
        referrer = url;
      }
      if (random() < 0.2)
        await post({ type: 'outbound', url: `${origin}/contact/`, target: 'https://www.cdc.gov/vaccines/' });
      if (random() < 0.1) await post({ type: 'event', url: `${origin}/contact/`, name: 'call-clicked' });
    }
  }
  return sent;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
const clfTime = (d: Date) =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

/**
 * Posts `days` days of combined-format access log (ending yesterday) for one practice to the
 * collector's `/v1/logs`, authenticated with the practice's ingest key. Returns page views sent.
 */
export async function sendDemoLogs(
  collectorUrl: string,
  ingestKey: string,
  domain: string,
  days: number,
  seed: number,
): Promise<number> {
  const random = mulberry32(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const lines: string[] = [];
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  for (let d = days; d >= 1; d--) {
    const dayStart = today - d * 86_400_000;
    const weekday = new Date(dayStart).getUTCDay();
    const visits = (weekday === 0 || weekday === 6 ? 12 : 30) + Math.floor(random() * 15);
    for (let v = 0; v < visits; v++) {
      const ip = `${pick(IPS)}${1 + Math.floor(random() * 250)}`;
      const ua = pick(USER_AGENTS);
      let t = dayStart + (7 + random() * 14) * 3_600_000;
      let referrer = pick(REFERRERS) || '-';
      for (let p = 1 + Math.floor(random() * 4); p > 0; p--) {
        const page = pick(PAGES);
        lines.push(
          `${ip} - - [${clfTime(new Date(t))}] "GET ${page} HTTP/1.1" 200 ${2000 + Math.floor(random() * 9000)} "${referrer}" "${ua}"`,
        );
        lines.push(`${ip} - - [${clfTime(new Date(t + 200))}] "GET /site.css HTTP/1.1" 200 1200 "${referrer}" "${ua}"`);
        referrer = `https://${domain}${page}`;
        t += 20_000 + random() * 120_000;
      }
      if (random() < 0.05)
        lines.push(`${ip} - - [${clfTime(new Date(t))}] "GET /old-page.html HTTP/1.1" 404 512 "-" "${ua}"`);
    }
  }
  const res = await fetch(`${collectorUrl}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'text/plain', 'x-log-format': 'combined' },
    body: `${lines.join('\n')}\n`,
  });
  if (!res.ok) throw new Error(`demo log import failed: ${res.status} ${await res.text()}`);
  const summary = (await res.json()) as { pageviews?: number };
  return summary.pageviews ?? 0;
}
