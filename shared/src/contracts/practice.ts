import { z } from 'zod';

/**
 * Path patterns (page classes and path templates) are matched segment by segment on the canonical
 * path (`paths/path-glob.ts`): a segment is literal text with `*` wildcards inside it (each
 * matches any run within that one segment), `*` alone is one whole segment, and `**` (last segment
 * only) is any rest, including nothing. Matching is case-insensitive and never backtracks across
 * segments. A pattern this grammar does not describe is refused when the practice is registered.
 */
const PATH_PATTERN_SEGMENT = /^(\*\*|[a-z0-9_.\-*]+)$/i;
export const MAX_PATH_PATTERN_CHARS = 120;

/** Why the matcher cannot take `pattern`, or null when it can. */
export function pathPatternProblem(pattern: string): string | null {
  if (!pattern.startsWith('/')) return 'must start with /';
  if (pattern.length > MAX_PATH_PATTERN_CHARS) return `at most ${MAX_PATH_PATTERN_CHARS} characters`;
  if (pattern === '/') return null;
  const segments = pattern.replace(/\/$/, '').slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    if (!PATH_PATTERN_SEGMENT.test(segment)) return `segment ${i + 1}: letters, digits, _ . - and * only, not empty`;
    if (segment.includes('**') && segment !== '**') return `segment ${i + 1}: ** must be a whole segment`;
    if (segment === '**' && i !== segments.length - 1) return '** only as the last segment';
    // The canonical path has no dot segments and no segment ending in a dot: such a pattern never matches.
    if (segment.endsWith('.')) return `segment ${i + 1}: cannot end with . (canonical paths never do)`;
  }
  return null;
}

const pathPattern = z.string().superRefine((pattern, ctx) => {
  const problem = pathPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `a path pattern such as /portal/**: ${problem}` });
});

/** A path-pattern rule: `*` matches within one segment, `**` any rest. */
export const pageClassRuleSchema = z.object({
  pattern: pathPattern,
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/),
  /** count-only: stored as the class name, no referrer, no visitor value. drop: never recorded. */
  mode: z.enum(['count-only', 'drop']),
});
export type PageClassRule = z.infer<typeof pageClassRuleSchema>;

/**
 * A per-practice path template: a canonical path matching `pattern` is stored as `path`
 * (`/providers/*` → `/providers/:slug`), before scrubbing. A pattern ending in `**` folds the
 * whole subtree into `path`.
 */
export const pathTemplateSchema = z.object({
  pattern: pathPattern,
  path: z
    .string()
    .regex(
      /^\/(?:(?:[a-z0-9_.-]+|:[a-z][a-z0-9_]{0,30})(?:\/(?:[a-z0-9_.-]+|:[a-z][a-z0-9_]{0,30}))*)?$/,
      'a path such as /providers/:slug',
    ),
});
export type PathTemplate = z.infer<typeof pathTemplateSchema>;

/** Custom event names the snippet and the Plausible endpoint may send (Plausible's goals). */
export const EVENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,63}$/;
export const PROP_KEY_RE = /^[a-z0-9_]{1,40}$/;
const propValue = z.string().min(1).max(100);

/**
 * A declared custom event: only declared names reach storage (any other name is counted as
 * UNDECLARED_EVENT_NAME), only declared property keys are kept, and a property value is kept when it
 * is one of the key's declared values, or else has a safe shape (collector `deid/free-text.ts`).
 */
export const eventDeclarationSchema = z.object({
  name: z.string().regex(EVENT_NAME_RE, '1-64 letters, digits, space and _ . : / -'),
  /** Property key → its declared values ([]: none declared, values of a safe shape are kept). */
  props: z.record(z.string().regex(PROP_KEY_RE), z.array(propValue).max(200)).default({}),
});
export type EventDeclaration = z.infer<typeof eventDeclarationSchema>;

/** The one name under which every undeclared custom event is counted. */
export const UNDECLARED_EVENT_NAME = '(undeclared)';

/**
 * Shipped defaults for the paths practices use for portals, booking, forms and symptom tools, and
 * for children's sections: the policy accepts no personal information from children under 13, so
 * their pages are counted, never linked to a visitor.
 */
export const DEFAULT_PAGE_CLASSES: PageClassRule[] = [
  { pattern: '/portal/**', name: 'patient-portal', mode: 'count-only' },
  { pattern: '/appointments/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/booking/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/book/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/schedule/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/request-appointment/**', name: 'appointments', mode: 'count-only' },
  { pattern: '/forms/**', name: 'forms', mode: 'count-only' },
  { pattern: '/intake/**', name: 'forms', mode: 'count-only' },
  { pattern: '/patient-forms/**', name: 'forms', mode: 'count-only' },
  { pattern: '/pediatrics/**', name: 'children', mode: 'count-only' },
  { pattern: '/kids/**', name: 'children', mode: 'count-only' },
  { pattern: '/children/**', name: 'children', mode: 'count-only' },
  { pattern: '/teen*/**', name: 'children', mode: 'count-only' },
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
  /** Property keys kept for every declared event (the older, event-independent allowlist). */
  propsAllowlist: z.array(z.string().regex(PROP_KEY_RE)).default([]),
  events: z.array(eventDeclarationSchema).max(200).default([]),
  pathTemplates: z.array(pathTemplateSchema).max(200).default([]),
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
