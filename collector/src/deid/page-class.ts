import type { PageClassRule } from '@confidant/shared';

/** Compiles `/portal/**` style patterns: `*` is one segment, `**` is the rest (including nothing). */
function compile(pattern: string): RegExp {
  const parts = pattern.replace(/\/+$/, '').split('/').slice(1);
  let source = '^';
  for (const part of parts) {
    if (part === '**') return new RegExp(`${source}(?:/.*)?$`, 'i');
    source += '/' + (part === '*' ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '[^/]*'));
  }
  return new RegExp(`${source}/?$`, 'i');
}

const cache = new Map<string, RegExp>();

/** The first rule whose pattern matches the (scrubbed) path, or null. */
export function matchPageClass(path: string, rules: readonly PageClassRule[]): PageClassRule | null {
  for (const rule of rules) {
    let re = cache.get(rule.pattern);
    if (!re) {
      re = compile(rule.pattern);
      cache.set(rule.pattern, re);
    }
    if (re.test(path)) return rule;
  }
  return null;
}
