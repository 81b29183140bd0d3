import type { PracticeInput } from '@confidant/shared';
import { ADVERSARIAL_ITEMS, DECLARED_EVENT } from './adversarial-items.ts';
import { PRACTICE_DOMAIN, type CorpusItem } from './corpus-item.ts';

export { ORDINARY_URLS, type OrdinaryUrl } from './ordinary-urls.ts';
export * from './corpus-item.ts';

/**
 * The practice every corpus item is sent for: the shipped default page classes (portal, booking,
 * forms, children's sections count-only; login and account dropped), one path template and
 * declared events, as a practice would register them.
 */
export const CORPUS_PRACTICE: PracticeInput = {
  id: 'corpus-clinic',
  siteKey: 'site-corpus',
  name: 'Corpus Clinic',
  domains: [PRACTICE_DOMAIN],
  timezone: 'UTC',
  pathTemplates: [{ pattern: '/providers/*', path: '/providers/:slug' }],
  events: [
    { name: DECLARED_EVENT, props: { plan: ['basic', 'premium'] } },
    { name: 'Call click', props: {} },
    { name: 'Newsletter signup', props: {} },
  ],
};

export const CORPUS: CorpusItem[] = ADVERSARIAL_ITEMS;

const ids = new Set<string>();
for (const item of CORPUS) {
  if (ids.has(item.id)) throw new Error(`corpus item id ${item.id} is used twice`);
  ids.add(item.id);
}
