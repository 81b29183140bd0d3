import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError, csvField, ErrorCode, parseInput, practiceSchema } from '@confidant/shared';
import { emailField } from '../accounts/account-forms.ts';
import { PRACTICE_ROLES } from '../accounts/account-store.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { AUDIT_CSV_COLUMNS, type AuditRow } from '../accounts/audit-log.ts';
import {
  createKey,
  keyCreateSchema,
  practiceUpdateSchema,
  updatePractice,
  type AdminStores,
} from '../admin/admin-operations.ts';
import { actorOf, requireAdmin } from '../auth/authenticate.ts';
import { publicKey } from '../auth/key-store.ts';
import { partnerSchema } from '../auth/partner-store.ts';
import { idParam, openApi } from './route-schemas.ts';

/** Runs the privacy audit (`confidant audit`) over the stored data. */
export type AuditRunner = () => Promise<{ findings: unknown[] }>;
export type AdminRouteDeps = AdminStores & { audit: AuditRunner; accounts: AccountService };

const auditLogQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

const adminInvitationBody = z
  .object({
    email: emailField,
    practiceId: idParam.shape.id.optional(),
    role: z.enum(PRACTICE_ROLES).optional(),
    partnerId: idParam.shape.id.optional(),
  })
  .strict()
  .refine((b) => (b.practiceId === undefined) === (b.role === undefined), 'a practice invitation names a role')
  .refine((b) => (b.practiceId === undefined) !== (b.partnerId === undefined), 'invite to one practice or one partner');

/** The audit log as CSV: one line per entry, detail as JSON. */
export function auditLogCsv(rows: AuditRow[]): string {
  const lines = rows.map((r) =>
    [r.seq, r.at, r.action, r.actor, r.target, r.practiceId, r.addressHash, JSON.stringify(r.detail)]
      .map(csvField)
      .join(','),
  );
  return `${[AUDIT_CSV_COLUMNS.join(','), ...lines].join('\n')}\n`;
}

const keyIdParam = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex key id') }).strict();

/** The admin API: practices, partners and keys. Admin keys only. */
export const adminRoutes: FastifyPluginAsync<AdminRouteDeps> = async (app, deps) => {
  const { audit, accounts, ...stores } = deps;
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
    async (req, reply) => {
      const created = await createKey(stores, parseInput(keyCreateSchema, req.body, 'body'));
      await accounts.audit.record({
        action: 'key_created',
        actor: actorOf(req.principal!),
        target: `key:${created.keyId}`,
        practiceId: created.role === 'practice' ? created.scopeId : null,
        detail: { role: created.role, scopeId: created.scopeId },
      });
      return reply.code(201).send(created);
    },
  );

  app.get('/v1/admin/users', { schema: { tags, security, summary: 'List people with accounts' } }, async () => ({
    users: await accounts.accounts.list(),
  }));

  app.post(
    '/v1/admin/invitations',
    {
      schema: {
        tags,
        security,
        summary: 'Invite someone to a practice (with a role) or a partner, by a single-use link in a mail',
        body: openApi(adminInvitationBody),
      },
    },
    async (req, reply) => {
      const body = parseInput(adminInvitationBody, req.body, 'body');
      const principal = req.principal!;
      const invitedBy = principal.kind === 'user' ? principal.userId : null;
      return reply.code(201).send({ ...body, ...(await accounts.invite(body, actorOf(principal), invitedBy)) });
    },
  );

  app.get(
    '/v1/admin/audit-log',
    {
      schema: {
        tags,
        security,
        summary: 'The append-only audit log of access changes (JSON, or CSV to export), from sequence `after` on',
        querystring: openApi(auditLogQuery),
      },
    },
    async (req, reply) => {
      const q = parseInput(auditLogQuery, req.query, 'query');
      const entries = await accounts.audit.list({ afterSeq: q.after, limit: q.limit });
      if (q.format === 'csv')
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="audit-log.csv"')
          .send(auditLogCsv(entries));
      return { entries, next: entries.at(-1)?.seq ?? q.after };
    },
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
      await accounts.audit.record({ action: 'key_revoked', actor: actorOf(req.principal!), target: `key:${keyId}` });
      return { keyId, revoked: true };
    },
  );
};
