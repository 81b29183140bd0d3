import { z } from 'zod';

/**
 * The Kafka event envelope, version 1: a de-identified event as the collector hands it
 * to the processor. Within a version only additive, optional fields may be added; a
 * breaking change is a new version (and topic). Validated on produce and on consume.
 *
 * Nothing here identifies a person: `visitor` is a keyed hash whose salt is destroyed
 * within 48 h after its period, pages are scrubbed, the IP and user agent are gone.
 */
export const ENVELOPE_VERSION = 1 as const;

export const EVENT_TYPES = ['pageview', 'engagement', 'outbound', 'download', 'event', 'notfound'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_SOURCES = ['snippet', 'logs'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const DEVICE_CLASSES = ['desktop', 'mobile', 'tablet', 'unknown'] as const;

/**
 * Built-in events (`type: 'event'`, no name): a call (`tel:`), email (`mailto:`) or directions (map
 * host) link clicked, or a form submitted. Each records only its kind (and a form its name), never the
 * number, address, destination or content.
 */
export const ACTION_KINDS = ['call', 'email', 'directions', 'form'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Screen classes by viewport width in CSS pixels: below 576 mobile, 992 tablet, 1440 laptop, else desktop. */
export const SCREEN_CLASSES = ['mobile', 'tablet', 'laptop', 'desktop'] as const;
export type ScreenClass = (typeof SCREEN_CLASSES)[number];

/** Scroll depth buckets: the largest of these percentages the page view reached. */
export const SCROLL_BUCKETS = [0, 25, 50, 75, 100] as const;
export type ScrollBucket = (typeof SCROLL_BUCKETS)[number];

const label = z.string().max(200);

const DAY_MS = 86_400_000;

/**
 * How far back an event's `ts` may lie when it is produced: the 25-month rollup retention
 * (the current month and the 24 before it: at most 775 days) plus slack. An older event would only be stored
 * until the next retention run.
 */
export const ENVELOPE_MAX_AGE_MS = 800 * DAY_MS;
/** How far ahead of the producer's clock `ts` may lie: clock skew and log timestamps with a wrong zone. */
export const ENVELOPE_MAX_AHEAD_MS = DAY_MS;
/**
 * The consumer accepts this much more on both sides than the producer: an event valid when produced
 * may be read up to Kafka's 48 h retention later (more after a processor outage or a replay), and the
 * two hosts' clocks may differ. Without it, retained events that were valid would be dead-lettered.
 */
export const ENVELOPE_CONSUME_SLACK_MS = 7 * DAY_MS;
/**
 * Whatever the window: the practice-local day of `ts` must fit ClickHouse `Date` (UInt16 days since
 * 1970-01-01, so up to 2149-06-06) in every time zone (UTC-12 to UTC+14), and stay far from day 0,
 * which ClickHouse treats (and 18.16 prints) as the empty date 0000-00-00. No page view predates 2000.
 */
export const ENVELOPE_TS_FLOOR_MS = Date.UTC(2000, 0, 1);
export const ENVELOPE_TS_CEILING_MS = Date.UTC(2149, 0, 1);
/** Custom-event properties per event (Plausible's own limit is 30). */
export const ENVELOPE_MAX_PROPS = 30;

/** `now` (default: the clock) and how far back `ts` may lie (default ENVELOPE_MAX_AGE_MS; the processor widens it to its retention). */
export type EnvelopeWindowOptions = { now?: number; maxAgeMs?: number };

/** The accepted range of `ts`, inclusive, on produce or (wider, see ENVELOPE_CONSUME_SLACK_MS) on consume. */
export function envelopeTsWindow(
  side: 'produce' | 'consume',
  { now = Date.now(), maxAgeMs = ENVELOPE_MAX_AGE_MS }: EnvelopeWindowOptions = {},
): { min: number; max: number } {
  const slack = side === 'consume' ? ENVELOPE_CONSUME_SLACK_MS : 0;
  return {
    min: Math.max(ENVELOPE_TS_FLOOR_MS, now - maxAgeMs - slack),
    max: Math.min(ENVELOPE_TS_CEILING_MS, now + ENVELOPE_MAX_AHEAD_MS + slack),
  };
}

export const eventEnvelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  /** Random per accepted event; lets the processor drop a message Kafka holds twice. */
  id: z.string().regex(/^[0-9a-f]{32}$/),
  practiceId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  source: z.enum(EVENT_SOURCES),
  type: z.enum(EVENT_TYPES),
  /**
   * Epoch ms of receipt (snippet) or of the hit (logs). Only the raw topic holds it; storage gets day and hour.
   * Besides these fixed bounds it must lie in `envelopeTsWindow` around the checking host's clock.
   */
  ts: z.number().int().min(ENVELOPE_TS_FLOOR_MS).max(ENVELOPE_TS_CEILING_MS),
  /**
   * Keyed visitor hash (hex); meaningless once its salt is deleted. Absent exactly when `countOnly`:
   * a count-only event carries no visitor value at all (checked by `checkEnvelope`).
   */
  visitor: z
    .string()
    .regex(/^[0-9a-f]{16,64}$/)
    .optional(),
  /**
   * The period of the salt `visitor` was keyed with: `month` for a cookie-mode visitor with a cookie,
   * else `day` (also when absent). Its states are sealed into counts when that period closes.
   */
  visitorPeriod: z.enum(['day', 'month']).optional(),
  /** Scrubbed path, or the page class name for count-only pages. */
  page: label,
  /** Set when the page matched a count-only class: no referrer, no campaign, no visitor value. */
  countOnly: z.boolean(),
  referrerDomain: label.nullable(),
  utmSource: label.nullable(),
  utmMedium: label.nullable(),
  utmCampaign: label.nullable(),
  /** Free text like utmCampaign, scrubbed the same way (added in v1, optional). */
  utmTerm: label.nullable().optional(),
  utmContent: label.nullable().optional(),
  /** The landing URL carried a paid-click id (gclid, msclkid, fbclid, ...): only this flag, never the id (added in v1, optional). */
  paid: z.literal(true).optional(),
  /** Outbound: destination domain; download: scrubbed file path. */
  target: label.nullable(),
  /** Custom event name. */
  name: label.nullable(),
  engagedMs: z.number().int().min(0).max(86_400_000).nullable(),
  country: z.string().regex(/^[A-Z]{2}$/),
  browser: label,
  os: label,
  device: z.enum(DEVICE_CLASSES),
  /** Custom-event properties under keys the practice allowlisted, values scrubbed (added in v1, optional). */
  props: z
    .record(z.string().regex(/^[a-z0-9_]{1,40}$/), label)
    .refine((props) => Object.keys(props).length <= ENVELOPE_MAX_PROPS, `at most ${ENVELOPE_MAX_PROPS} properties`)
    .optional(),
  /** A built-in event's kind (on `type: 'event'` with no name; added in v1, optional). */
  action: z.enum(ACTION_KINDS).optional(),
  /** `action: 'form'`: the form's declared name (scrubbed) or its page. */
  form: label.optional(),
  /** Engagement: the page view's deepest scroll so far, bucketed (added in v1, optional). */
  scroll: z
    .number()
    .int()
    .refine((n) => (SCROLL_BUCKETS as readonly number[]).includes(n), `one of ${SCROLL_BUCKETS.join(', ')}`)
    .optional(),
  /** The viewport's class, from its width (the width itself is not kept; added in v1, optional). */
  screen: z.enum(SCREEN_CLASSES).optional(),
});

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

export type DecodeResult = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

/** The validated event as the JSON text of a Kafka message value. */
export function eventJson(event: EventEnvelope, window: EnvelopeWindowOptions = {}): string {
  return JSON.stringify(checkedForProduce(event, '', envelopeTsWindow('produce', window)));
}

/** The event as the schema outputs it, or an error naming what is wrong (`where`: its place in a batch). */
function checkedForProduce(event: EventEnvelope, where: string, window: { min: number; max: number }): EventEnvelope {
  const checked = checkEnvelope(event, window, 'produce');
  if (!checked.ok) throw new Error(`refusing to produce an invalid envelope${where}: ${checked.reason}`);
  return checked.event;
}

export const encodeEvent = (event: EventEnvelope, window: EnvelopeWindowOptions = {}): Buffer =>
  Buffer.from(eventJson(event, window));

/** The JSON of a Kafka message value, or why there is none. */
function parseMessage(value: Buffer | null): { ok: true; parsed: unknown } | { ok: false; reason: string } {
  if (!value) return { ok: false, reason: 'empty message' };
  try {
    return { ok: true, parsed: JSON.parse(value.toString('utf8')) };
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
}

/**
 * Schema, the visitor rule, then the time window (the reason names the window so a dead letter explains
 * itself). A producer never writes a visitor on a count-only event; a consumer drops one that an older
 * collector wrote (still in Kafka's retention), so that none is stored either.
 */
function checkEnvelope(
  raw: unknown,
  window: { min: number; max: number },
  side: 'produce' | 'consume',
): { ok: true; event: EventEnvelope } | { ok: false; reason: string } {
  const checked = eventEnvelopeSchema.safeParse(raw);
  if (!checked.success) return { ok: false, reason: summarize(checked.error) };
  const event = checked.data;
  if (!event.countOnly && event.visitor === undefined) return { ok: false, reason: 'visitor: required' };
  if (event.countOnly && (event.visitor !== undefined || event.visitorPeriod !== undefined)) {
    if (side === 'produce') return { ok: false, reason: 'visitor: a count-only event carries none' };
    delete event.visitor;
    delete event.visitorPeriod;
  }
  const shape = signalProblem(event);
  if (shape) return { ok: false, reason: shape };
  const { ts } = event;
  if (ts < window.min || ts > window.max)
    return { ok: false, reason: `ts: ${ts} outside [${window.min}, ${window.max}]` };
  return { ok: true, event };
}

/** The built-in signals only where they mean something: an action on a nameless event, a form name on a form, scroll on engagement. */
function signalProblem(event: EventEnvelope): string | null {
  if (event.action !== undefined && (event.type !== 'event' || event.name !== null))
    return 'action: only on a nameless event';
  if (event.form !== undefined && event.action !== 'form') return 'form: only with action form';
  if (event.scroll !== undefined && event.type !== 'engagement') return 'scroll: only on engagement';
  return null;
}

function checkEvent(raw: unknown, window: { min: number; max: number }): DecodeResult {
  const checked = checkEnvelope(raw, window, 'consume');
  return checked.ok ? checked : { ok: false, reason: `invalid envelope: ${checked.reason}` };
}

export function decodeEvent(value: Buffer | null, window: EnvelopeWindowOptions = {}): DecodeResult {
  const message = parseMessage(value);
  if (!message.ok) return message;
  const { parsed } = message;
  if (typeof parsed === 'object' && parsed !== null && 'v' in parsed && parsed.v !== ENVELOPE_VERSION) {
    return { ok: false, reason: `unsupported envelope version ${String(parsed.v)}` };
  }
  return checkEvent(parsed, envelopeTsWindow('consume', window));
}

/**
 * Log hits travel in batches (topic `event-batches.v1`): one Kafka message carries up to
 * EVENT_BATCH_MAX_EVENTS v1 events, because a bulk import of millions of lines would
 * otherwise pay Kafka's per-message cost millions of times. The envelope of each event is
 * exactly the v1 event above and is validated one by one, so one bad event never costs the
 * others. A batch only holds events whose visitors share a partition key (`batchKey`): a
 * visitor's events stay in order on one partition, as sessions need.
 */
// An event's labels are bounded (scrubbed paths 200 characters, query values 100), so a
// batch stays near 0.5 MB at worst, under a broker's default 1 MiB `message.max.bytes`.
export const EVENT_BATCH_MAX_EVENTS = 200;

/** Buckets per practice: bounds how many partitions one practice's imports spread over. */
export const EVENT_BATCH_KEY_BUCKETS = 32;

/** The Kafka key of a batch: the practice and one of EVENT_BATCH_KEY_BUCKETS buckets, which all of a visitor's events share. */
export function batchKey(practiceId: string, bucket: number): string {
  return `${practiceId}:${bucket % EVENT_BATCH_KEY_BUCKETS}`;
}

/**
 * A bucket from the keyed visitor hash. Log imports use a bucket of their own instead, keyed by
 * the import and the client (collector `import-ledger.ts`): the same line must go to the same
 * partition when a resumed import sends it again, after its day's salt, and so its visitor key, changed.
 */
export function visitorBucket(visitor: string): number {
  return Number.parseInt(visitor.slice(0, 8), 16) % EVENT_BATCH_KEY_BUCKETS;
}

/** The validated batch as the JSON text of a Kafka message value. */
export function eventBatchJson(events: readonly EventEnvelope[], window: EnvelopeWindowOptions = {}): string {
  if (events.length === 0 || events.length > EVENT_BATCH_MAX_EVENTS)
    throw new Error(`refusing to produce a batch of ${events.length} events (1 to ${EVENT_BATCH_MAX_EVENTS})`);
  const bounds = envelopeTsWindow('produce', window);
  return JSON.stringify({
    v: ENVELOPE_VERSION,
    events: events.map((event, i) => checkedForProduce(event, ` (batch index ${i})`, bounds)),
  });
}

export const encodeEventBatch = (events: readonly EventEnvelope[], window: EnvelopeWindowOptions = {}): Buffer =>
  Buffer.from(eventBatchJson(events, window));

/** Per event of a readable batch: the event, or why it is invalid (`raw` is kept for the dead-letter topic). */
export type BatchItem = { ok: true; event: EventEnvelope } | { ok: false; reason: string; raw: unknown };

export type BatchDecodeResult = { ok: true; items: BatchItem[] } | { ok: false; reason: string };

/** Decodes a batch message; a batch that is not one (not JSON, wrong version, no event list) fails whole. */
export function decodeEventBatch(value: Buffer | null, window: EnvelopeWindowOptions = {}): BatchDecodeResult {
  const message = parseMessage(value);
  if (!message.ok) return message;
  const { parsed } = message;
  if (typeof parsed !== 'object' || parsed === null || !('v' in parsed))
    return { ok: false, reason: 'invalid batch: not a versioned object' };
  if (parsed.v !== ENVELOPE_VERSION) return { ok: false, reason: `unsupported batch version ${String(parsed.v)}` };
  const events = (parsed as { events?: unknown }).events;
  // No upper bound here: producers keep to EVENT_BATCH_MAX_EVENTS, and raising it stays a compatible change.
  if (!Array.isArray(events) || events.length === 0)
    return { ok: false, reason: 'invalid batch: events must be a non-empty list' };
  const bounds = envelopeTsWindow('consume', window);
  return {
    ok: true,
    items: events.map((raw: unknown): BatchItem => {
      const checked = checkEvent(raw, bounds);
      return checked.ok ? checked : { ...checked, raw };
    }),
  };
}

function summarize(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
