import {
  ENVELOPE_MAX_PROPS,
  UNDECLARED_EVENT_NAME,
  ok,
  invalid,
  type EdgeResult,
  type EventDeclaration,
  type Practice,
} from '@confidant/shared';
import { freeTextValue } from './free-text.ts';

/** `freeTextProps`: the keys of `props` whose values are free text, not declared ones (the rare-value gate's). */
export type CustomEvent = {
  name: string | null;
  props: Record<string, string> | null;
  freeTextProps: readonly string[];
};

// Shared by every event that is not a custom event (a log import has millions).
const NOT_CUSTOM = Object.freeze(ok(Object.freeze({ name: null, props: null, freeTextProps: [] })));
const INVISIBLE = /[\p{Cf}\p{Cc}]/gu;
const plain = (text: string): string => text.replace(INVISIBLE, '').normalize('NFKC').trim();

/**
 * A custom event's name and properties as they may be stored. Only names the practice declared reach
 * storage; any other name is counted under UNDECLARED_EVENT_NAME, with no properties (a refusal
 * would lose the count, and a sender learns nothing from either). A declared event keeps the property
 * keys declared for it (and those of the practice's `propsAllowlist`); a value is kept when it is one
 * of its key's declared values, else only when it has a safe shape (`freeTextValue`) and, as free
 * text, once it is common (`rare-value-gate.ts`).
 */
export function customEventStep(
  type: string,
  rawName: string | null | undefined,
  rawProps: Record<string, unknown> | null | undefined,
  practice: Practice,
): EdgeResult<CustomEvent, never, 'invalid-name'> {
  if (type !== 'event') return NOT_CUSTOM;
  const name = rawName ? plain(rawName) : '';
  if (!name) return invalid('invalid-name');
  const declaration = practice.events.find((e) => e.name === name);
  if (!declaration) return ok({ name: UNDECLARED_EVENT_NAME, props: null, freeTextProps: [] });
  return ok({ name: declaration.name, ...declaredProps(rawProps, declaration, practice.propsAllowlist) });
}

function declaredProps(
  props: Record<string, unknown> | null | undefined,
  declaration: EventDeclaration,
  allowlist: readonly string[],
): Omit<CustomEvent, 'name'> {
  if (!props) return { props: null, freeTextProps: [] };
  const out: Record<string, string> = {};
  const freeTextProps: string[] = [];
  let kept = 0;
  for (const key of new Set([...Object.keys(declaration.props), ...allowlist])) {
    if (kept >= ENVELOPE_MAX_PROPS) break;
    if (!Object.hasOwn(props, key)) continue;
    const raw = props[key];
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') continue;
    const text = plain(String(raw));
    const declared = declaration.props[key]?.find((v) => v.toLowerCase() === text.toLowerCase());
    const value = declared ?? freeTextValue(text);
    if (value) {
      out[key] = value;
      if (declared === undefined) freeTextProps.push(key);
      kept++;
    }
  }
  return kept > 0 ? { props: out, freeTextProps } : { props: null, freeTextProps: [] };
}
