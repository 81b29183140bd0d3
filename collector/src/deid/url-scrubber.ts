/**
 * URL de-identification. Everything a visitor could have typed or a site could have put
 * into a URL (emails, phone numbers, record numbers, tokens) is removed before the URL
 * goes anywhere. Checks run on the fully decoded text, so `%40`, `%2540` and `+` tricks
 * do not hide a value.
 */
export const ALLOWED_QUERY_KEYS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'ref',
  'source',
] as const;
export type AllowedQueryKey = (typeof ALLOWED_QUERY_KEYS)[number];

export const PLACEHOLDERS = { email: ':email', phone: ':phone', id: ':id', token: ':token' } as const;

const MAX_DECODE_ROUNDS = 6;
const MAX_PATH_CHARS = 200;
const MAX_VALUE_CHARS = 100;

/** Decodes `+` and percent-escapes repeatedly until stable; malformed escapes are decoded one by one. */
export function fullyDecode(text: string): string {
  let current = text;
  for (let i = 0; i < MAX_DECODE_ROUNDS; i++) {
    const next = decodeOnce(current.replace(/\+/g, ' '));
    if (next === current) return current;
    current = next;
  }
  return current;
}

function decodeOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      }
    });
  }
}

const UUID = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;
const SSN = /(^|\D)\d{3}[\s.-]\d{2}[\s.-]\d{4}(\D|$)/;
// Digits with the separators people write phone numbers with (a bare digit run is an id).
const PHONE = /[+(]?\d[\d\s().-]{5,}\d/;
const DIGIT_RUN = /\d{6,}/;
const LONG_HEX = /[0-9a-f]{16,}/i;

/** The placeholder for a piece of decoded text that looks identifying, or null if it looks harmless. */
export function classifyText(decoded: string): string | null {
  const text = decoded.normalize('NFKC');
  if (text.includes('@')) return PLACEHOLDERS.email;
  if (UUID.test(text)) return PLACEHOLDERS.id;
  if (SSN.test(text)) return PLACEHOLDERS.id;
  const digits = text.replace(/\D/g, '').length;
  const phone = PHONE.exec(text)?.[0];
  if (digits >= 7 && phone && /[\s().+-]/.test(phone)) return PLACEHOLDERS.phone;
  if (DIGIT_RUN.test(text) || digits >= 9) return PLACEHOLDERS.id;
  if (LONG_HEX.test(text) && /\d/.test(text)) return PLACEHOLDERS.token;
  if (/^eyJ/.test(text)) return PLACEHOLDERS.token;
  // A long run without word separators that mixes letters and digits (or case) is a token, not a slug.
  for (const part of text.split(/[\s._~-]+/)) {
    if (part.length >= 16 && /\d/.test(part) && /[a-z]/i.test(part)) return PLACEHOLDERS.token;
    if (part.length >= 20 && /[a-z]/.test(part) && /[A-Z]/.test(part) && /[a-z][A-Z]|[A-Z]{2}[a-z]/.test(part.slice(1)))
      return PLACEHOLDERS.token;
  }
  return null;
}

function clean(text: string): string {
  // Control characters never belong in a label.
  return text.replace(/\p{Cc}/gu, '');
}

/** Scrubs a path: matrix parameters dropped, identifying segments replaced, length bounded. */
export function scrubPath(rawPath: string): string {
  const segments = rawPath.split('/').map((raw) => {
    const decoded = clean(fullyDecode(raw.split(';')[0]!));
    // A decoded segment may itself contain `/` (from %2F): judge the whole, keep it one segment.
    return classifyText(decoded) ?? decoded.replace(/\//g, '%2F');
  });
  let path = segments.join('/');
  if (!path.startsWith('/')) path = `/${path}`;
  if (path.length > MAX_PATH_CHARS) {
    const cut = path.slice(0, MAX_PATH_CHARS);
    path = cut.slice(0, Math.max(1, cut.lastIndexOf('/'))) + '/:truncated';
  }
  return path;
}

/** Scrubs an allowlisted query value: the whole value is replaced when any part of it looks identifying. */
export function scrubValue(raw: string): string | null {
  const decoded = clean(fullyDecode(raw)).trim();
  if (!decoded) return null;
  const placeholder = classifyText(decoded);
  if (placeholder) return placeholder;
  return decoded.slice(0, MAX_VALUE_CHARS).toLowerCase();
}

export type ScrubbedUrl = {
  host: string;
  path: string;
  query: Partial<Record<AllowedQueryKey, string>>;
};

/** Parses an absolute http(s) URL and keeps only its scrubbed path and allowlisted query; null when not a web URL. */
export function scrubUrl(raw: string): ScrubbedUrl | null {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const query: ScrubbedUrl['query'] = {};
  for (const pair of url.search.slice(1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = clean(fullyDecode(eq < 0 ? pair : pair.slice(0, eq)))
      .trim()
      .toLowerCase() as AllowedQueryKey;
    if (!ALLOWED_QUERY_KEYS.includes(key) || eq < 0 || query[key] !== undefined) continue;
    const value = scrubValue(pair.slice(eq + 1));
    if (value) query[key] = value;
  }
  return { host: url.hostname.toLowerCase().replace(/\.$/, ''), path: scrubPath(url.pathname), query };
}
