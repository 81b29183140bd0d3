import { z } from 'zod';
import { compileGlob, matchGlob } from '../paths/path-glob.ts';
import { EVENT_NAME_RE, PROP_KEY_RE, pathPatternProblem, type Practice } from './practice.ts';

/**
 * A practice's goal: what counts as a conversion. A page pattern (matched like page classes, on the
 * stored path), a count-only page class (its events carry no visitor, so it has conversions but no
 * converting visits nor breakdowns), or a declared custom event, optionally with one property value.
 */
export const GOAL_ID_RE = /^[a-z0-9][a-z0-9-]{0,40}$/;
/** Goals per practice: each adds up to seven rows per day and value to the rollups. */
export const MAX_GOALS_PER_PRACTICE = 20;

const goalBase = {
  id: z.string().regex(GOAL_ID_RE, 'a goal id of lowercase letters, digits and - (at most 41)'),
  name: z.string().min(1).max(100),
};

export const goalSchema = z.discriminatedUnion('kind', [
  z
    .object({
      ...goalBase,
      kind: z.literal('page'),
      pattern: z.string().superRefine((pattern, ctx) => {
        const problem = pathPatternProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: `a path pattern such as /contact/thanks: ${problem}` });
      }),
    })
    .strict(),
  z
    .object({ ...goalBase, kind: z.literal('page-class'), pageClass: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/) })
    .strict(),
  z
    .object({
      ...goalBase,
      kind: z.literal('event'),
      event: z.string().regex(EVENT_NAME_RE, '1-64 letters, digits, space and _ . : / -'),
      prop: z
        .object({ key: z.string().regex(PROP_KEY_RE), value: z.string().min(1).max(100) })
        .strict()
        .optional(),
    })
    .strict(),
]);
export type Goal = z.infer<typeof goalSchema>;

/**
 * Why `goal` can never match anything this practice records, or null when it can: a page class the
 * practice does not count, an event it has not declared (undeclared names are stored as one name), a
 * property key it does not keep, or a declared value list without the goal's value.
 */
export function goalProblem(goal: Goal, practice: Practice): string | null {
  if (goal.kind === 'page-class') {
    const rule = practice.pageClasses.find((c) => c.name === goal.pageClass);
    if (!rule) return `practice ${practice.id} has no page class ${goal.pageClass}`;
    if (rule.mode !== 'count-only') return `page class ${goal.pageClass} is dropped, never recorded`;
    return null;
  }
  if (goal.kind === 'page') return null;
  const declared = practice.events.find((e) => e.name === goal.event);
  if (!declared) return `event ${goal.event} is not declared for practice ${practice.id}: declare it first`;
  if (!goal.prop) return null;
  const values = declared.props[goal.prop.key];
  if (values === undefined && !practice.propsAllowlist.includes(goal.prop.key))
    return `property ${goal.prop.key} is not kept for event ${goal.event}`;
  if (values && values.length > 0 && !values.includes(goal.prop.value))
    return `property ${goal.prop.key} of event ${goal.event} has no declared value ${goal.prop.value}`;
  return null;
}

/** What a goal matcher looks at: a subset of the event envelope. */
export type GoalInput = {
  type: string;
  page: string;
  countOnly: boolean;
  name: string | null;
  props?: Readonly<Record<string, string>> | undefined;
};

/** A practice's goals compiled once: `matches` lists the ids of the goals an event reaches. */
export type GoalMatcher = { readonly ids: readonly string[]; matches(event: GoalInput): string[] };

const isPageView = (type: string) => type === 'pageview' || type === 'notfound';

export function compileGoals(goals: readonly Goal[]): GoalMatcher {
  const tests = goals.map((goal): ((e: GoalInput) => boolean) => {
    switch (goal.kind) {
      case 'page': {
        const glob = compileGlob(goal.pattern);
        return (e) =>
          isPageView(e.type) && !e.countOnly && matchGlob(glob, e.page.toLowerCase().split('/').filter(Boolean));
      }
      case 'page-class':
        return (e) => isPageView(e.type) && e.countOnly && e.page === goal.pageClass;
      case 'event':
        return (e) =>
          e.type === 'event' && e.name === goal.event && (!goal.prop || e.props?.[goal.prop.key] === goal.prop.value);
    }
  });
  const ids = goals.map((g) => g.id);
  return {
    ids,
    matches(event) {
      const out: string[] = [];
      for (let i = 0; i < tests.length; i++) if (tests[i]!(event)) out.push(ids[i]!);
      return out;
    },
  };
}
