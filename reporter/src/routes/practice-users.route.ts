import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError, ErrorCode, parseInput } from '@confidant/shared';
import { practiceInvitationBody, roleBody } from '../accounts/account-forms.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { actorOf, requirePracticeOwner } from '../auth/authenticate.ts';
import { idParam, openApi } from './route-schemas.ts';

const memberParam = idParam.extend({ userId: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex user id') }).strict();

/** A practice's people: its owners (and operator admins) invite, re-role and remove them. */
export const practiceUserRoutes: FastifyPluginAsync<{ accounts: AccountService }> = async (app, { accounts }) => {
  const tags = ['practice users'];

  app.get(
    '/v1/practices/:id/users',
    { schema: { tags, summary: "The practice's people and their roles", params: openApi(idParam) } },
    async (req) => {
      const { id } = parseInput(idParam, req.params, 'path');
      requirePracticeOwner(req.principal!, id);
      return { practiceId: id, users: await accounts.accounts.members(id) };
    },
  );

  app.post(
    '/v1/practices/:id/invitations',
    {
      schema: {
        tags,
        summary: 'Invite someone to the practice (a single-use link by email)',
        params: openApi(idParam),
        body: openApi(practiceInvitationBody),
      },
    },
    async (req, reply) => {
      const { id } = parseInput(idParam, req.params, 'path');
      const principal = req.principal!;
      requirePracticeOwner(principal, id);
      const body = parseInput(practiceInvitationBody, req.body, 'body');
      const invitedBy = principal.kind === 'user' ? principal.userId : null;
      const { expiresAt } = await accounts.invite({ ...body, practiceId: id }, actorOf(principal), invitedBy);
      return reply.code(201).send({ practiceId: id, email: body.email, role: body.role, expiresAt });
    },
  );

  app.patch(
    '/v1/practices/:id/users/:userId',
    {
      schema: { tags, summary: "Change a member's role", params: openApi(memberParam), body: openApi(roleBody) },
    },
    async (req) => {
      const { id, userId } = parseInput(memberParam, req.params, 'path');
      requirePracticeOwner(req.principal!, id);
      const { role } = parseInput(roleBody, req.body, 'body');
      if (!(await accounts.changeRole(id, userId, role, actorOf(req.principal!))))
        throw new ApiError(404, ErrorCode.notFound, `no member ${userId} in practice ${id}`);
      return { practiceId: id, userId, role };
    },
  );

  app.delete(
    '/v1/practices/:id/users/:userId',
    { schema: { tags, summary: 'Remove someone from the practice', params: openApi(memberParam) } },
    async (req) => {
      const { id, userId } = parseInput(memberParam, req.params, 'path');
      requirePracticeOwner(req.principal!, id);
      if (!(await accounts.removeMember(id, userId, actorOf(req.principal!))))
        throw new ApiError(404, ErrorCode.notFound, `no member ${userId} in practice ${id}`);
      return { practiceId: id, userId, removed: true };
    },
  );
};
