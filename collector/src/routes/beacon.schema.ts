import { z } from 'zod';
import { EVENT_TYPES } from '@confidant/shared';

/** What the tracking snippet POSTs to `/e` (at most 4 KiB). Everything else in a body is ignored. */
export const BEACON_MAX_BYTES = 4096;

export const beaconSchema = z.object({
  site: z.string().min(1).max(64),
  type: z.enum(EVENT_TYPES),
  url: z.string().min(1).max(2048),
  referrer: z.string().max(2048).nullish(),
  engagedMs: z.number().int().min(0).max(86_400_000).nullish(),
  target: z.string().max(2048).nullish(),
  name: z.string().max(200).nullish(),
  width: z.number().int().min(0).max(100_000).nullish(),
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
