/**
 * Access-log line parsers: Combined / Common Log Format (nginx and Apache defaults), any
 * nginx `log_format` string, and JSON lines. A format compiles once into a list of
 * literals and fields; a line is scanned left to right with `indexOf`, so there is no
 * regex backtracking and malformed lines cost no more than good ones. Parsers never throw.
 */

/** One request as the web server logged it. Identifying fields (ip, userAgent) live only in memory. */
export type LogHit = {
  ip: string;
  /** Epoch ms, from the line's own timestamp including its UTC offset. */
  time: number;
  method: string;
  /** Request target as logged (path and query), still URL-encoded. */
  path: string;
  status: number;
  referrer: string | null;
  /** null when the line has none ('-' or empty); undefined when the format records none (Common Log Format). */
  userAgent: string | null | undefined;
};

export type MalformedReason = 'empty' | 'layout' | 'ip' | 'time' | 'request' | 'status' | 'json';

export type ParseResult = { ok: true; hit: LogHit } | { ok: false; reason: MalformedReason };

export type LineParser = (line: string) => ParseResult;

export type LogFormat =
  { kind: 'combined' } | { kind: 'common' } | { kind: 'json' } | { kind: 'nginx'; format: string } | { kind: 'auto' };

/** nginx's predefined `combined`; Apache's `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"` writes the same layout. */
export const COMBINED_FORMAT =
  '$remote_addr $remote_ident $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
export const COMMON_FORMAT =
  '$remote_addr $remote_ident $remote_user [$time_local] "$request" $status $body_bytes_sent';

/** Parses the `X-Log-Format` / `--format` value: combined | common | json | auto | nginx:<log_format>. */
export function parseFormatSpec(spec: string | undefined): LogFormat | null {
  const s = (spec ?? 'auto').trim();
  if (s === 'combined' || s === 'common' || s === 'json' || s === 'auto') return { kind: s };
  if (s.startsWith('nginx:')) {
    const format = s.slice('nginx:'.length).trim();
    return compileNginxFormat(format).ok ? { kind: 'nginx', format } : null;
  }
  return null;
}

const ok = (hit: LogHit): ParseResult => ({ ok: true, hit });
const bad = (reason: MalformedReason): ParseResult => ({ ok: false, reason });

// ---------------------------------------------------------------------------------------
// Field values
// ---------------------------------------------------------------------------------------

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function offsetMs(sign: string, hh: number, mm: number): number | null {
  if (hh < 0 || mm < 0 || hh > 14 || mm > 59) return null;
  const ms = (hh * 60 + mm) * 60_000;
  return sign === '+' ? ms : sign === '-' ? -ms : null;
}

function validDate(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (y < 1970 || mo < 0 || mo > 11 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return false;
  return d <= new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
}

/** `10/Oct/2000:13:55:36 -0700` → epoch ms, or null. */
export function parseTimeLocal(s: string): number | null {
  if (s.length !== 26 || s[2] !== '/' || s[6] !== '/' || s[11] !== ':' || s[20] !== ' ') return null;
  const d = digits(s, 0, 2);
  const mo = MONTHS[s.slice(3, 6)];
  const y = digits(s, 7, 4);
  const h = digits(s, 12, 2);
  const mi = digits(s, 15, 2);
  const sec = digits(s, 18, 2);
  if (mo === undefined || !validDate(y, mo, d, h, mi, sec)) return null;
  const off = offsetMs(s[21]!, digits(s, 22, 2), digits(s, 24, 2));
  return off === null ? null : Date.UTC(y, mo, d, h, mi, sec) - off;
}

/** `2000-10-10T13:55:36-07:00` (nginx `$time_iso8601`), also with `Z` or fractional seconds → epoch ms, or null. */
export function parseTimeIso(s: string): number | null {
  if (
    s.length < 20 ||
    s[4] !== '-' ||
    s[7] !== '-' ||
    (s[10] !== 'T' && s[10] !== ' ') ||
    s[13] !== ':' ||
    s[16] !== ':'
  )
    return null;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2) - 1;
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (!validDate(y, mo, d, h, mi, sec)) return null;
  let i = 19;
  let ms = 0;
  if (s[i] === '.') {
    let j = i + 1;
    while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
    if (j === i + 1) return null;
    ms = Math.floor(Number(`0${s.slice(i, j)}`) * 1000);
    i = j;
  }
  let off: number | null;
  if (s[i] === 'Z' && i + 1 === s.length) off = 0;
  else if (i + 6 === s.length && s[i + 3] === ':') off = offsetMs(s[i]!, digits(s, i + 1, 2), digits(s, i + 4, 2));
  else if (i + 5 === s.length) off = offsetMs(s[i]!, digits(s, i + 1, 2), digits(s, i + 3, 2));
  else return null;
  return off === null ? null : Date.UTC(y, mo, d, h, mi, sec, ms) - off;
}

/** nginx `$msec`: seconds with millisecond resolution. */
function parseMsec(s: string): number | null {
  if (!/^\d{9,11}(\.\d{1,3})?$/.test(s)) return null;
  return Math.round(Number(s) * 1000);
}

function parseStatus(s: string): number | null {
  if (s.length !== 3) return null;
  const n = digits(s, 0, 3);
  return n >= 100 && n <= 599 ? n : null;
}

function validIp(s: string): boolean {
  // Addresses only (v4, v6, v4-mapped); a hostname or `-` means the line cannot be attributed.
  if (s.length < 2 || s.length > 45) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
    if (!ok) return false;
  }
  return s.includes('.') || s.includes(':');
}

const METHOD_RE = /^[A-Z]{3,10}$/;

/** `GET /path?q HTTP/1.1` (or HTTP/0.9 `GET /path`) → method and target, or null. */
function splitRequest(r: string): { method: string; path: string } | null {
  const sp = r.indexOf(' ');
  if (sp < 3) return null;
  const method = r.slice(0, sp);
  if (!METHOD_RE.test(method)) return null;
  const last = r.lastIndexOf(' ');
  const path = last > sp && r.startsWith('HTTP/', last + 1) ? r.slice(sp + 1, last) : r.slice(sp + 1);
  if (path.length === 0) return null;
  return { method, path };
}

/** Undoes the escaping nginx (`\x22`) and Apache (`\"`, `\\`) apply inside quoted fields. */
export function unescapeField(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[i + 1]!;
    if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (n === '"' || n === '\\') {
      out += n;
      i += 1;
    } else if (n === 'n' || n === 't' || n === 'r') {
      out += ' ';
      i += 1;
    } else {
      out += c;
    }
  }
  return out;
}

const dash = (s: string): string | null => (s === '' || s === '-' ? null : s);

// ---------------------------------------------------------------------------------------
// nginx log_format compiler
// ---------------------------------------------------------------------------------------

const KNOWN = [
  'remote_addr',
  'time_local',
  'time_iso8601',
  'msec',
  'request',
  'request_method',
  'request_uri',
  'status',
  'http_referer',
  'http_user_agent',
] as const;
type Known = (typeof KNOWN)[number];

type Field = { name: string; slot: number; quoted: boolean; after: string };
type Compiled = { head: string; fields: Field[] };

/** Splits a `log_format` string into literals and `$variables` (also `${variable}`). */
export function compileNginxFormat(format: string): { ok: true; compiled: Compiled } | { ok: false; reason: string } {
  const fields: Field[] = [];
  let head = '';
  let literal = '';
  let i = 0;
  while (i < format.length) {
    if (format[i] !== '$') {
      literal += format[i++];
      continue;
    }
    const braced = format[i + 1] === '{';
    const start = i + (braced ? 2 : 1);
    let j = start;
    while (j < format.length && /[A-Za-z0-9_]/.test(format[j]!)) j++;
    if (j === start || (braced && format[j] !== '}')) return { ok: false, reason: `bad variable at ${i}` };
    if (fields.length === 0) head = literal;
    else fields[fields.length - 1]!.after = literal;
    if (fields.length > 0 && literal === '') return { ok: false, reason: 'two variables without a separator' };
    const name = format.slice(start, j).toLowerCase();
    fields.push({ name, slot: (KNOWN as readonly string[]).indexOf(name), quoted: literal.endsWith('"'), after: '' });
    literal = '';
    i = braced ? j + 1 : j;
  }
  if (fields.length === 0) return { ok: false, reason: 'no variables' };
  fields[fields.length - 1]!.after = literal;
  const names = new Set(fields.map((f) => f.name));
  if (!names.has('remote_addr')) return { ok: false, reason: 'needs $remote_addr' };
  if (!names.has('status')) return { ok: false, reason: 'needs $status' };
  if (!names.has('time_local') && !names.has('time_iso8601') && !names.has('msec'))
    return { ok: false, reason: 'needs $time_local, $time_iso8601 or $msec' };
  if (!names.has('request') && !(names.has('request_method') && names.has('request_uri')))
    return { ok: false, reason: 'needs $request or $request_method and $request_uri' };
  return { ok: true, compiled: { head, fields } };
}

/** Finds `lit` from `from`, skipping occurrences whose quote is backslash-escaped inside a quoted field. */
function findDelimiter(line: string, lit: string, from: number, quoted: boolean): number {
  let at = line.indexOf(lit, from);
  if (!quoted) return at;
  while (at >= 0) {
    let backslashes = 0;
    for (let k = at - 1; k >= from && line.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = line.indexOf(lit, at + 1);
  }
  return at;
}

function buildParser(compiled: Compiled): LineParser {
  const { head, fields } = compiled;
  const n = fields.length;
  const agentRecorded = fields.some((f) => f.slot === S.ua);
  const values: string[] = new Array<string>(KNOWN.length);
  let lastTimeText = '';
  let lastTime: number | null = null;
  return (line) => {
    if (line.length === 0) return bad('empty');
    if (!line.startsWith(head)) return bad('layout');
    values.fill('');
    let pos = head.length;
    for (let f = 0; f < n; f++) {
      const field = fields[f]!;
      let end: number;
      if (f === n - 1) {
        // The last field runs to the final literal at the end of the line (a stray quote inside it is tolerated).
        if (!line.endsWith(field.after) || line.length - field.after.length < pos) return bad('layout');
        end = line.length - field.after.length;
      } else {
        end = findDelimiter(line, field.after, pos, field.quoted);
        if (end < 0) return bad('layout');
      }
      if (field.slot >= 0)
        values[field.slot] = field.quoted ? unescapeField(line.slice(pos, end)) : line.slice(pos, end);
      pos = end + field.after.length;
    }
    return toHit(
      values,
      (text, kind) => {
        if (text === lastTimeText) return lastTime;
        lastTimeText = text;
        lastTime = kind === 'local' ? parseTimeLocal(text) : kind === 'iso' ? parseTimeIso(text) : parseMsec(text);
        return lastTime;
      },
      agentRecorded,
    );
  };
}

const slot = (name: Known): number => KNOWN.indexOf(name);
const S = {
  ip: slot('remote_addr'),
  local: slot('time_local'),
  iso: slot('time_iso8601'),
  msec: slot('msec'),
  request: slot('request'),
  method: slot('request_method'),
  uri: slot('request_uri'),
  status: slot('status'),
  referrer: slot('http_referer'),
  ua: slot('http_user_agent'),
};

function toHit(
  v: string[],
  time: (text: string, kind: 'local' | 'iso' | 'msec') => number | null,
  agentRecorded: boolean,
): ParseResult {
  const ip = v[S.ip]!;
  if (!validIp(ip)) return bad('ip');
  const t = v[S.local]
    ? time(v[S.local]!, 'local')
    : v[S.iso]
      ? time(v[S.iso]!, 'iso')
      : v[S.msec]
        ? time(v[S.msec]!, 'msec')
        : null;
  if (t === null) return bad('time');
  let request: { method: string; path: string } | null;
  if (v[S.request]) request = splitRequest(v[S.request]!);
  else request = METHOD_RE.test(v[S.method]!) && v[S.uri] ? { method: v[S.method]!, path: v[S.uri]! } : null;
  if (!request) return bad('request');
  const status = parseStatus(v[S.status]!);
  if (status === null) return bad('status');
  return ok({
    ip,
    time: t,
    method: request.method,
    path: request.path,
    status,
    referrer: dash(v[S.referrer]!),
    userAgent: agentRecorded ? dash(v[S.ua]!) : undefined,
  });
}

// ---------------------------------------------------------------------------------------
// JSON lines
// ---------------------------------------------------------------------------------------

const str = (x: unknown): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');

/** One JSON object per line with nginx variable names as keys (`escape=json` output). */
export function parseJsonLine(line: string): ParseResult {
  if (line.length === 0) return bad('empty');
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return bad('json');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return bad('json');
  const r = o as Record<string, unknown>;
  const v = new Array<string>(KNOWN.length).fill('');
  v[S.ip] = str(r.remote_addr);
  v[S.local] = str(r.time_local);
  v[S.iso] = str(r.time_iso8601 ?? r.time);
  v[S.msec] = str(r.msec);
  v[S.request] = str(r.request);
  v[S.method] = str(r.request_method ?? r.method);
  v[S.uri] = str(r.request_uri ?? r.uri);
  v[S.status] = str(r.status);
  v[S.referrer] = str(r.http_referer ?? r.referer ?? r.referrer);
  const agent = r.http_user_agent ?? r.user_agent;
  v[S.ua] = str(agent);
  return toHit(
    v,
    (text, kind) => (kind === 'local' ? parseTimeLocal(text) : kind === 'iso' ? parseTimeIso(text) : parseMsec(text)),
    agent !== undefined,
  );
}

// ---------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------

/** A parser for `format`; each call gets its own (the nginx parsers keep a one-entry time cache). */
export function createLineParser(format: LogFormat): LineParser {
  switch (format.kind) {
    case 'json':
      return parseJsonLine;
    case 'combined':
      return combinedParser();
    case 'common':
      return nginxParser(COMMON_FORMAT);
    case 'nginx':
      return nginxParser(format.format);
    case 'auto':
      return autoParser();
  }
}

function nginxParser(format: string): LineParser {
  const compiled = compileNginxFormat(format);
  if (!compiled.ok) throw new Error(`invalid log_format: ${compiled.reason}`);
  return buildParser(compiled.compiled);
}

/**
 * Combined, also with fields appended after the user agent: nginx's packaged `main` format
 * (`"$http_x_forwarded_for"`), Apache `combinedio` or `%D`, a trailing space. Appended fields are
 * ignored. A plain combined line keeps the strict reading, which tolerates a stray quote in the
 * user agent; a quote followed by a space there means a field was appended after it.
 */
function combinedParser(): LineParser {
  const strict = nginxParser(COMBINED_FORMAT);
  const extended = nginxParser(`${COMBINED_FORMAT} $combined_extra`);
  return (line) => {
    const r = strict(line);
    if (r.ok ? !r.hit.userAgent?.includes('" ') : r.reason !== 'layout') return r;
    const e = extended(line);
    return e.ok ? e : r;
  };
}

/**
 * Each line is read as JSON when it starts with `{`, otherwise as combined, then as common.
 * Not settled once on the first line: a combined log whose first line was cut off before its
 * referrer would otherwise be read as common throughout, and its bots counted as visitors.
 */
function autoParser(): LineParser {
  const text = [combinedParser(), nginxParser(COMMON_FORMAT)];
  return (line) => {
    if (line.startsWith('{')) return parseJsonLine(line);
    let first: ParseResult | null = null;
    for (const p of text) {
      const r = p(line);
      if (r.ok) return r;
      first ??= r;
    }
    return first!;
  };
}
