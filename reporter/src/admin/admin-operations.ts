// Admin operations shared by the admin API and the CLI: domain code, so it throws domain errors and
// leaves the HTTP answer (or the exit code) to its caller.
import { z } from 'zod';
import { DomainError, practiceSchema, type PracticeStore } from '@confidant/shared';
import { ROLES } from '../auth/api-key.ts';
import { publicKey, type KeyStore } from '../auth/key-store.ts';
import type { PartnerStore } from '../auth/partner-store.ts';

export type AdminStores = { practices: PracticeStore; partners: PartnerStore; keys: KeyStore };

const practiceFields = practiceSchema.omit({ id: true, updatedAt: true }).shape;
/**
 * A partial practice: only the fields given change. The practice schema's defaults are unwrapped, since
 * a default filled into a patch would reset that field of the current practice (its page classes, declared
 * events or path templates) whenever an update leaves it out.
 */
export const practiceUpdateSchema = z
  .object({
    ...practiceFields,
    cookieMode: practiceFields.cookieMode.unwrap(),
    pageClasses: practiceFields.pageClasses.unwrap(),
    exitAllowlist: practiceFields.exitAllowlist.unwrap(),
    propsAllowlist: practiceFields.propsAllowlist.unwrap(),
    events: practiceFields.events.unwrap(),
    pathTemplates: practiceFields.pathTemplates.unwrap(),
    shareWithPartners: practiceFields.shareWithPartners.unwrap(),
    shareIdentity: practiceFields.shareIdentity.unwrap(),
    markNotFound: practiceFields.markNotFound.unwrap(),
  })
  .partial()
  .strict();
export const keyCreateSchema = z
  .object({ role: z.enum(ROLES), scopeId: z.string().optional(), label: z.string().max(200).default('') })
  .strict()
  .refine((k) => (k.role === 'admin') === (k.scopeId === undefined), {
    message: 'practice and partner keys need a scopeId; admin keys take none',
    path: ['scopeId'],
  });

/** Creates an API key once its scope (practice or partner) is known to exist. */
export async function createKey(stores: AdminStores, input: z.output<typeof keyCreateSchema>) {
  if (input.role === 'practice' && !(await stores.practices.get(input.scopeId!)))
    throw new DomainError('not-found', `no practice ${input.scopeId}`);
  if (input.role === 'partner' && !(await stores.partners.get(input.scopeId!)))
    throw new DomainError('not-found', `no partner ${input.scopeId}`);
  const { key, stored } = await stores.keys.create(input.role, input.scopeId ?? '', input.label);
  return { key, ...publicKey(stored) };
}

/** Applies a partial update to an existing practice; the result must still be a valid practice. */
export async function updatePractice(
  practices: PracticeStore,
  id: string,
  patch: z.output<typeof practiceUpdateSchema>,
) {
  const current = await practices.get(id);
  if (!current) throw new DomainError('not-found', `no practice ${id}`);
  const next = practiceSchema.safeParse({ ...current, ...patch, id });
  if (!next.success) throw new DomainError('invalid-input', next.error.issues[0]!.message);
  return practices.save(next.data);
}
