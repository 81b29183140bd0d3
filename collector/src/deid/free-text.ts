import { registrableDomain } from './site-domain.ts';
import { decodeToFixedPoint } from './canonical-path.ts';
import { classifyText } from './url-scrubber.ts';

/** What a free-text value (campaign, ref, property) that is not of a safe shape is stored as. */
export const OTHER_VALUE = '(other)';

const MAX_VALUE_CHARS = 100;
/** A safe shape: one lower-case slug-like token (`newsletter`, `spring-2026`, `cpc`), no spaces, no capitals kept. */
const SAFE_SHAPE = /^[a-z0-9][a-z0-9._-]{0,60}$/;

/**
 * Common given names of many cultures, as they appear in slugs (`jane-doe`, `maria_garcia`): a value
 * with one of them as a word is not of a safe shape. Names that are ordinary English words (may, mark,
 * grace, hope, will…) are left out, since campaign values use those words.
 */
const GIVEN_NAMES = new Set(
  (
    'aaliyah aarav abdul abdullah adam adriana ahmed aisha akira alejandro alex alexander alice ali amanda ' +
    'amara amir amy ana andrea andrew angela anna anthony arjun ashley barbara ben benjamin brian carlos carmen ' +
    'catherine charles chen chloe chris christopher daniel david deborah deepak diana diego dmitri elena ' +
    'elizabeth emily emma eric fatima fatuma francisco gabriel george hana hannah haruto hassan hiroshi ' +
    'ibrahim igor isabella ivan jacob james jane jasmine jason javier jennifer jessica jin john jonathan jorge ' +
    'jose joseph joshua juan julia karen kenji kevin kim kimberly kofi kwame laura layla leila li lin linda ' +
    'lisa lucas luis maria mariam matthew mei melissa michael michelle mohamed mohammad mohammed muhammad ' +
    'nadia nancy natalia nicole noah olga olivia omar oluwaseun pablo patricia paul pedro pooja priya rahul ' +
    'raj rajesh ravi rebecca richard robert rohan ryan sakura samantha sandra santiago sara sarah sergei ' +
    'sofia sophia stephanie steven susan thomas timothy valentina vikram wang wei william xin yan yuki yusuf ' +
    'zainab zhang'
  ).split(' '),
);

function hasGivenName(value: string): boolean {
  for (const word of value.split(/[._-]+/)) if (GIVEN_NAMES.has(word)) return true;
  return false;
}

/**
 * A free-text value (`utm_*`, `ref`, `source`, a property value) as it may be stored: its placeholder
 * when any part of it identifies (`:email`, `:phone`…), itself in lower case when it has a safe shape,
 * else OTHER_VALUE. A safe shape is one slug-like token; a dotted value must be a domain name under a
 * public (ICANN) suffix and is reduced to its registrable domain (`m.facebook.com` → `facebook.com`,
 * `jane.doe` → `(other)`); a value with a common given name as a word is not safe (`jane-doe`). Null
 * when the value is empty.
 */
export function freeTextValue(raw: string): string | null {
  const decoded = decodeToFixedPoint(raw);
  if (decoded === null) return OTHER_VALUE;
  const text = decoded.trim();
  if (!text) return null;
  const placeholder = classifyText(text);
  if (placeholder) return placeholder;
  const value = text.toLowerCase();
  if (value.length > MAX_VALUE_CHARS || !SAFE_SHAPE.test(value) || hasGivenName(value)) return OTHER_VALUE;
  if (value.includes('.')) return registrableDomain(value) ?? OTHER_VALUE;
  return value;
}
