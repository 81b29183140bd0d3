import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError, ErrorCode, parseInput, type PracticeStore } from '@confidant/shared';
import type { AuditLog } from '../accounts/audit-log.ts';
import { actorOf, requirePracticeOwner } from '../auth/authenticate.ts';
import { SHARE_PASSWORD_WINDOW_MS, type ShareLinkStore } from '../auth/share-link-store.ts';
import { DASHBOARD_CSP, renderDashboardPage } from '../dashboard/dashboard-page.ts';
import { idParam, openApi } from './route-schemas.ts';

export const createShareLinkBody = z
  .object({
    label: z
      .string()
      .trim()
      .max(200)
      .refine((s) => !s.includes('\u0000'), 'a label cannot contain NUL')
      .default(''),
    expiresInDays: z.number().int().min(1).max(366).default(30),
    password: z.string().min(8, 'a share link password has at least 8 characters').max(256).optional(),
  })
  .strict();

const linkParams = z
  .object({ id: idParam.shape.id, linkId: z.string().regex(/^[0-9a-f]{16}$/, 'a link id of 16 hex digits') })
  .strict();
const tokenParams = z.object({ token: z.string().max(200) }).strict();
export const unlockBody = z.object({ token: z.string().max(200), password: z.string().max(256) }).strict();

export type ShareLinkRouteDeps = { practices: PracticeStore; shares: ShareLinkStore; audit: AuditLog };

/**
 * Share links: read-only, revocable, expiring access to one practice's dashboard, optionally behind
 * a password. The operator and the practice's owners manage them (each change in the audit log); the link's page and its unlock are public (the token is the
 * credential), and what they open is scoped by the authenticator to that practice's figures.
 */
export const shareLinkRoutes: FastifyPluginAsync<ShareLinkRouteDeps> = async (app, deps) => {
  const tags = ['share links'];
  const security = [{ bearerAuth: [] }];

  app.post(
    '/v1/practices/:id/share-links',
    {
      schema: {
        tags,
        security,
        summary: 'Create a share link (the token is shown once)',
        params: openApi(idParam),
        body: openApi(createShareLinkBody),
      },
    },
    async (req, reply) => {
      const { id } = parseInput(idParam, req.params, 'path');
      requirePracticeOwner(req.principal!, id);
      const body = parseInput(createShareLinkBody, req.body ?? {}, 'body');
      if (!(await deps.practices.get(id))) throw new ApiError(404, ErrorCode.notFound, `no practice ${id}`);
      const { link, token } = await deps.shares.create(id, {
        label: body.label,
        expiresInDays: body.expiresInDays,
        ...(body.password ? { password: body.password } : {}),
      });
      await deps.audit.record({
        action: 'share_link_created',
        actor: actorOf(req.principal!),
        target: `share:${link.linkId}`,
        practiceId: id,
        detail: { expiresAt: link.expiresAt, password: link.hasPassword },
      });
      return reply.code(201).send({ ...link, token, path: `/share/${token}` });
    },
  );

  app.get(
    '/v1/practices/:id/share-links',
    { schema: { tags, security, summary: "A practice's share links (never their tokens)", params: openApi(idParam) } },
    async (req) => {
      const { id } = parseInput(idParam, req.params, 'path');
      requirePracticeOwner(req.principal!, id);
      return { links: await deps.shares.list(id) };
    },
  );

  app.delete(
    '/v1/practices/:id/share-links/:linkId',
    { schema: { tags, security, summary: 'Revoke a share link at once', params: openApi(linkParams) } },
    async (req, reply) => {
      const { id, linkId } = parseInput(linkParams, req.params, 'path');
      requirePracticeOwner(req.principal!, id);
      if (!(await deps.shares.revoke(id, linkId)))
        throw new ApiError(404, ErrorCode.notFound, `no share link ${linkId} for practice ${id}`);
      await deps.audit.record({
        action: 'share_link_revoked',
        actor: actorOf(req.principal!),
        target: `share:${linkId}`,
        practiceId: id,
      });
      return reply.code(204).send();
    },
  );

  app.get('/share/:token', { schema: { hide: true } }, async (req, reply) => {
    const { token } = parseInput(tokenParams, req.params, 'path');
    const link = await deps.shares.resolve(token);
    if (!link)
      throw new ApiError(404, ErrorCode.notFound, 'this share link does not exist, has expired or was revoked');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', DASHBOARD_CSP)
      .send(renderDashboardPage({ kind: 'share', token, needsPassword: link.hasPassword }));
  });

  app.post(
    '/v1/share-links/unlock',
    {
      schema: {
        tags,
        summary: "Trade a protected share link's password for an access token (a few hours, never past the link)",
        body: openApi(unlockBody),
      },
    },
    async (req, reply) => {
      const body = parseInput(unlockBody, req.body ?? {}, 'body');
      const result = await deps.shares.unlock(body.token, body.password);
      reply.header('cache-control', 'no-store');
      if (result.kind === 'unlocked') return { accessToken: result.accessToken, expiresAt: result.expiresAt };
      if (result.kind === 'throttled')
        throw new ApiError(429, ErrorCode.rateLimited, 'too many wrong passwords for this link; try again later', {
          'retry-after': String(SHARE_PASSWORD_WINDOW_MS / 1000),
        });
      if (result.kind === 'wrong-password') throw new ApiError(401, ErrorCode.unauthorized, 'wrong password');
      throw new ApiError(404, ErrorCode.notFound, 'this share link does not exist, has expired or was revoked');
    },
  );
};
