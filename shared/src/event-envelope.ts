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

const label = z.string().max(200);

export const eventEnvelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  /** Random per accepted event; lets the processor drop a message Kafka holds twice. */
  id: z.string().regex(/^[0-9a-f]{32}$/),
  practiceId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  source: z.enum(EVENT_SOURCES),
  type: z.enum(EVENT_TYPES),
  /** Epoch ms of receipt (snippet) or of the hit (logs). Only the raw topic holds it; storage gets day and hour. */
  ts: z.number().int().min(0),
  /** Keyed visitor hash (hex); meaningless once its salt is deleted. */
  visitor: z.string().regex(/^[0-9a-f]{16,64}$/),
  /** Scrubbed path, or the page class name for count-only pages. */
  page: label,
  /** Set when the page matched a count-only class: no referrer, no per-visitor linkage. */
  countOnly: z.boolean(),
  referrerDomain: label.nullable(),
  utmSource: label.nullable(),
  utmMedium: label.nullable(),
  utmCampaign: label.nullable(),
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
  props: z.record(z.string().regex(/^[a-z0-9_]{1,40}$/), label).optional(),
});

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

export type DecodeResult = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

export function encodeEvent(event: EventEnvelope): Buffer {
  const checked = eventEnvelopeSchema.safeParse(event);
  if (!checked.success) throw new Error(`refusing to produce an invalid envelope: ${summarize(checked.error)}`);
  return Buffer.from(JSON.stringify(checked.data));
}

export function decodeEvent(value: Buffer | null): DecodeResult {
  if (!value) return { ok: false, reason: 'empty message' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof parsed === 'object' && parsed !== null && 'v' in parsed && parsed.v !== ENVELOPE_VERSION) {
    return { ok: false, reason: `unsupported envelope version ${String(parsed.v)}` };
  }
  const checked = eventEnvelopeSchema.safeParse(parsed);
  return checked.success ? { ok: true, event: checked.data } : { ok: false, reason: `invalid envelope: ${summarize(checked.error)}` };
}

function summarize(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
