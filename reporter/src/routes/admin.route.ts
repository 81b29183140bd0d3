import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError, ErrorCode, parseInput, practiceSchema } from '@confidant/shared';
import {
  createKey,
  keyCreateSchema,
  practiceUpdateSchema,
  updatePractice,
  type AdminStores,
} from '../admin/admin-operations.ts';
import { requireAdmin } from '../auth/authenticate.ts';
import { publicKey } from '../auth/key-store.ts';
import { partnerSchema } from '../auth/partner-store.ts';
import { idParam, openApi } from './route-schemas.ts';

/** Runs the privacy audit (`confidant audit`) over the stored data. */
export type AuditRunner = () => Promise<{ findings: unknown[] }>;
export type AdminRouteDeps = AdminStores & { audit: AuditRunner };

const keyIdParam = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex key id') }).strict();

/** The admin API: practices, partners and keys. Admin keys only. */
export const adminRoutes: FastifyPluginAsync<AdminRouteDeps> = async (app, deps) => {
  const { audit, ...stores } = deps;
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
      const created = await stores.practices.create(input);
      if (!created) throw new ApiError(409, ErrorCode.conflict, `practice ${input.id} exists; use PATCH to change it`);
      return reply.code(201).send(created);
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
      const created = await stores.partners.create(input);
      if (!created) throw new ApiError(409, ErrorCode.conflict, `partner ${input.id} exists`);
      return reply.code(201).send(created);
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
          'Privacy audit: every table and column, identifier-like values, retention (salt ages are `confidant audit`’s: the reporter has no access to salts); 200 when clean, 409 with the findings otherwise',
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
};
