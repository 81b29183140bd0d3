import { z } from 'zod';

/** A path-pattern rule: `*` matches one segment, `**` any rest. */
export const pageClassRuleSchema = z.object({
  pattern: z.string().regex(/^\/[A-Za-z0-9_\-./*]*$/, 'a path pattern such as /portal/**'),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/),
  /** count-only: stored as the class name, no referrer, no per-visitor linkage. drop: never recorded. */
  mode: z.enum(['count-only', 'drop']),
});
export type PageClassRule = z.infer<typeof pageClassRuleSchema>;

/** Shipped defaults for the paths practices use for portals, booking and symptom tools. */
export const DEFAULT_PAGE_CLASSES: PageClassRule[] = [
  { pattern: '/portal/**', name: 'patient-portal', mode: 'count-only' },
  { pattern: '/appointments/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/booking/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/symptom-checker/**', name: 'symptom-checker', mode: 'count-only' },
  { pattern: '/login/**', name: 'login', mode: 'drop' },
  { pattern: '/account/**', name: 'account', mode: 'drop' },
];

const domain = z
  .string()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}$/, 'a host name such as clinic.example');

export const practiceSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -'),
  siteKey: z.string().regex(/^[A-Za-z0-9_-]{4,64}$/),
  name: z.string().min(1).max(200),
  domains: z.array(domain).min(1),
  timezone: z.string().refine(isTimeZone, 'an IANA time zone such as America/New_York'),
  cookieMode: z.boolean().default(false),
  pageClasses: z.array(pageClassRuleSchema).default(DEFAULT_PAGE_CLASSES),
  exitAllowlist: z.array(domain).default([]),
  propsAllowlist: z.array(z.string().regex(/^[a-z0-9_]{1,40}$/)).default([]),
  shareWithPartners: z.boolean().default(false),
  shareIdentity: z.boolean().default(false),
  markNotFound: z.boolean().default(true),
  updatedAt: z.number().int().default(0),
});

export type Practice = z.infer<typeof practiceSchema>;
export type PracticeInput = z.input<typeof practiceSchema>;

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}
