import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApiError, ErrorCode, practiceSchema, type PracticeStore } from '@confidant/shared';
import { requireAdmin } from '../auth/authenticate.ts';
import { ROLES } from '../auth/api-key.ts';
import { publicKey, type KeyStore } from '../auth/key-store.ts';
import { partnerSchema, type PartnerStore } from '../auth/partner-store.ts';
import { idParam, openApi, parseInput } from './validate.ts';

export type AdminStores = { practices: PracticeStore; partners: PartnerStore; keys: KeyStore };
/** Runs the privacy audit (`confidant audit`) over the stored data. */
export type AuditRunner = () => Promise<{ findings: unknown[] }>;

export const practiceUpdateSchema = practiceSchema.omit({ id: true, updatedAt: true }).partial().strict();
export const keyCreateSchema = z
  .object({ role: z.enum(ROLES), scopeId: z.string().optional(), label: z.string().max(200).default('') })
  .strict()
  .refine((k) => (k.role === 'admin') === (k.scopeId === undefined), {
    message: 'practice and partner keys need a scopeId; admin keys take none',
    path: ['scopeId'],
  });
const keyIdParam = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex key id') }).strict();

/** Validates that a key's scope exists; shared by the API and the CLI. */
export async function createKey(stores: AdminStores, input: z.output<typeof keyCreateSchema>) {
  if (input.role === 'practice' && !(await stores.practices.get(input.scopeId!)))
    throw new ApiError(404, ErrorCode.notFound, `no practice ${input.scopeId}`);
  if (input.role === 'partner' && !(await stores.partners.get(input.scopeId!)))
    throw new ApiError(404, ErrorCode.notFound, `no partner ${input.scopeId}`);
  const { key, stored } = await stores.keys.create(input.role, input.scopeId ?? '', input.label);
  return { key, ...publicKey(stored) };
}

/** Applies a partial update to an existing practice; shared by the API and the CLI. */
export async function updatePractice(
  practices: PracticeStore,
  id: string,
  patch: z.output<typeof practiceUpdateSchema>,
) {
  const current = await practices.get(id);
  if (!current) throw new ApiError(404, ErrorCode.notFound, `no practice ${id}`);
  const next = practiceSchema.safeParse({ ...current, ...patch, id });
  if (!next.success) throw new ApiError(400, ErrorCode.invalidBody, next.error.issues[0]!.message);
  return practices.save(next.data);
}

/** The admin API: practices, partners and keys. Admin keys only. */
export function adminRoutes(app: FastifyInstance, stores: AdminStores, audit: AuditRunner): void {
  const tags = ['admin'];
  const security = [{ bearerAuth: [] }];
  app.addHook('preHandler', async (req) => requireAdmin(req.principal!));

  app.get('/v1/admin/practices', { schema: { tags, security, summary: 'List practices' } }, async () => ({
    practices: await stores.practices.list(),
  }));

  app.get(
    '/v1/admin/practices/:id',
    { schema: { tags, security, summary: 'One practice', params: openApi(idParam) } },
    async (req) => {
      const { id } = parseInput(idParam, req.params, 'path');
      const p = await stores.practices.get(id);
      if (!p) throw new ApiError(404, ErrorCode.notFound, `no practice ${id}`);
      return p;
    },
  );

  app.post(
    '/v1/admin/practices',
    { schema: { tags, security, summary: 'Register a practice', body: openApi(practiceSchema) } },
    async (req, reply) => {
      const input = parseInput(practiceSchema.omit({ updatedAt: true }).strict(), req.body, 'body');
      if (await stores.practices.get(input.id))
        throw new ApiError(409, ErrorCode.conflict, `practice ${input.id} exists; use PATCH to change it`);
      return reply.code(201).send(await stores.practices.save(input));
    },
  );

  app.patch(
    '/v1/admin/practices/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change a practice',
        params: openApi(idParam),
        body: openApi(practiceUpdateSchema),
      },
    },
    async (req) => {
      const { id } = parseInput(idParam, req.params, 'path');
      return updatePractice(stores.practices, id, parseInput(practiceUpdateSchema, req.body, 'body'));
    },
  );

  app.get('/v1/admin/partners', { schema: { tags, security, summary: 'List partners' } }, async () => ({
    partners: await stores.partners.list(),
  }));

  app.post(
    '/v1/admin/partners',
    { schema: { tags, security, summary: 'Register a partner', body: openApi(partnerSchema) } },
    async (req, reply) => {
      const input = parseInput(partnerSchema.strict(), req.body, 'body');
      if (await stores.partners.get(input.id))
        throw new ApiError(409, ErrorCode.conflict, `partner ${input.id} exists`);
      return reply.code(201).send(await stores.partners.save(input));
    },
  );

  app.get(
    '/v1/admin/keys',
    { schema: { tags, security, summary: 'List API keys (never their secrets)' } },
    async () => ({ keys: (await stores.keys.list()).map(publicKey) }),
  );

  app.post(
    '/v1/admin/keys',
    {
      schema: {
        tags,
        security,
        summary: 'Create an API key; the key is shown only in this response',
        body: openApi(keyCreateSchema),
      },
    },
    async (req, reply) => reply.code(201).send(await createKey(stores, parseInput(keyCreateSchema, req.body, 'body'))),
  );

  app.get(
    '/v1/admin/audit',
    {
      schema: {
        tags,
        security,
        summary:
          'Privacy audit: every table and column, identifier-like values, salt ages, retention; 200 when clean, 409 with the findings otherwise',
      },
    },
    async (_req, reply) => {
      const report = await audit();
      return reply.code(report.findings.length === 0 ? 200 : 409).send(report);
    },
  );

  app.delete(
    '/v1/admin/keys/:keyId',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke an API key (effective on the next request)',
        params: openApi(keyIdParam),
      },
    },
    async (req) => {
      const { keyId } = parseInput(keyIdParam, req.params, 'path');
      if (!(await stores.keys.revoke(keyId))) throw new ApiError(404, ErrorCode.notFound, `no key ${keyId}`);
      return { keyId, revoked: true };
    },
  );
}
