import { compileGlob, matchGlob, type PageClassRule, type PathGlob, type PathTemplate } from '@confidant/shared';

const compiled = new Map<string, PathGlob>();

function globOf(pattern: string): PathGlob {
  let glob = compiled.get(pattern);
  if (!glob) {
    glob = compileGlob(pattern);
    compiled.set(pattern, glob);
  }
  return glob;
}

/** The first rule whose pattern matches the canonical path's segments (lower-cased here), or null. */
export function matchPageClass(segments: readonly string[], rules: readonly PageClassRule[]): PageClassRule | null {
  if (rules.length === 0) return null;
  const lower = segments.map((s) => s.toLowerCase());
  for (const rule of rules) if (matchGlob(globOf(rule.pattern), lower)) return rule;
  return null;
}

/** The first path template whose pattern matches the canonical path's segments, or null. */
export function matchPathTemplate(
  segments: readonly string[],
  templates: readonly PathTemplate[],
): PathTemplate | null {
  if (templates.length === 0) return null;
  const lower = segments.map((s) => s.toLowerCase());
  for (const template of templates) if (matchGlob(globOf(template.pattern), lower)) return template;
  return null;
}
