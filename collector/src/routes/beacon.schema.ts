import { z } from 'zod';
import { EVENT_TYPES, type ActionKind } from '@confidant/shared';

/** What the tracking snippet POSTs to `/e` (at most 4 KiB). Everything else in a body is ignored. */
export const BEACON_MAX_BYTES = 4096;

/**
 * The snippet's built-in signals by the `type` it sends (a clicked link's scheme, so the snippet stays
 * small; it never sends the link itself). Directions come as outbound links, which the collector recognises.
 */
export const BEACON_ACTIONS = { 'tel:': 'call', 'mailto:': 'email', form: 'form' } as const satisfies Record<
  string,
  ActionKind
>;
const BEACON_TYPES = [...EVENT_TYPES, ...(Object.keys(BEACON_ACTIONS) as Array<keyof typeof BEACON_ACTIONS>)] as const;

export const beaconSchema = z.object({
  site: z.string().min(1).max(64),
  type: z.enum(BEACON_TYPES),
  url: z.string().min(1).max(2048),
  referrer: z.string().max(2048).nullish(),
  engagedMs: z.number().int().min(0).max(86_400_000).nullish(),
  target: z.string().max(2048).nullish(),
  name: z.string().max(200).nullish(),
  width: z.number().int().min(0).max(100_000).nullish(),
  /** Engagement: the deepest point seen, as a share of the page's height (a little over 1 with overscroll). */
  scroll: z.number().min(0).max(10).nullish(),
  /** Form submissions: the form's `data-confidant-form`. */
  form: z.string().max(200).nullish(),
});

export type Beacon = z.infer<typeof beaconSchema>;

/** The Plausible-compatible body accepted on `/api/event` (`n`, `u`, `d`, `r`, `w`, `p`). */
export const plausibleEventSchema = z.object({
  n: z.string().min(1).max(200),
  u: z.string().min(1).max(2048),
  d: z.string().min(1).max(253),
  r: z.string().max(2048).nullish(),
  w: z.number().int().min(0).max(100_000).nullish(),
  p: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
  m: z.unknown().optional(),
  h: z.unknown().optional(),
});

export type PlausibleEvent = z.infer<typeof plausibleEventSchema>;
