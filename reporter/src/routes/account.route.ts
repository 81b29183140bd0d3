import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ErrorCode } from '@confidant/shared';
import type { z } from 'zod';
import {
  codeForm,
  invitationForm,
  resetForm,
  resetRequestForm,
  signInForm,
  tokenQuery,
} from '../accounts/account-forms.ts';
import { LinkRefused } from '../accounts/account-link-store.ts';
import { PasswordRequired, type AccountService } from '../accounts/account-service.ts';
import { tokenHash } from '../accounts/account-token.ts';
import type { UserPrincipal } from '../auth/authenticate.ts';
import {
  ACCOUNT_CSP,
  accountPage,
  invitationPage,
  messagePage,
  recoveryCodesPage,
  resetPage,
  resetRequestPage,
  signInPage,
  twoFactorPage,
} from '../render/account-html.ts';

export const SESSION_COOKIE = 'confidant_session';

export type AccountRouteDeps = { accounts: AccountService; absoluteSessionMs: number; now: () => Date };

const SIGN_IN_REFUSED = 'The email, password or code is not right.';
const LINK_MESSAGES: Record<LinkRefused['reason'], string> = {
  unknown: 'This link is not valid.',
  used: 'This link has already been used.',
  expired: 'This link has expired. Ask for a new one.',
};

/**
 * The pages people use to sign in and out, accept invitations, reset passwords and turn on two-factor.
 * Plain HTML forms (no script); every POST carries the CSRF token the page was given.
 */
export const accountRoutes: FastifyPluginAsync<AccountRouteDeps> = async (app, deps) => {
  const { accounts } = deps;
  // These pages post plain HTML forms, read as a flat object (a repeated field keeps its last value). Only
  // here: elsewhere a form body stays a 415, so a cross-site form cannot reach the JSON API.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type('text/html; charset=utf-8').header('content-security-policy', ACCOUNT_CSP).send(body);
  const user = (req: FastifyRequest): UserPrincipal | null => (req.principal?.kind === 'user' ? req.principal : null);
  const form = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> | null => {
    const parsed = schema.safeParse(body ?? {});
    return parsed.success ? parsed.data : null;
  };
  const linkRefused = (reply: FastifyReply, error: LinkRefused) =>
    html(
      reply,
      410,
      messagePage('Link not valid', LINK_MESSAGES[error.reason], { href: '/account/sign-in', label: 'Sign in' }),
    );
  const setSession = (reply: FastifyReply, token: string) =>
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      maxAge: Math.floor(deps.absoluteSessionMs / 1000),
    });
  const clearSession = (reply: FastifyReply) =>
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' });

  app.get('/account/sign-in', { schema: { hide: true } }, async (req, reply) => {
    if (user(req)) return reply.redirect('/account', 303);
    const notice =
      (req.query as Record<string, unknown>)['signed-out'] !== undefined ? 'You are signed out.' : undefined;
    return html(reply, 200, signInPage({ csrf: reply.generateCsrf(), notice }));
  });

  app.post('/account/sign-in', { schema: { hide: true } }, async (req, reply) => {
    const input = form(signInForm, req.body);
    if (!input) return html(reply, 400, signInPage({ csrf: reply.generateCsrf(), error: SIGN_IN_REFUSED }));
    const result = await accounts.signIn({ ...input, address: req.ip });
    if (!result.ok) {
      const locked = result.reason === 'locked';
      const error = locked ? 'Too many sign-in attempts. Wait a while, then try again.' : SIGN_IN_REFUSED;
      return html(reply, locked ? 429 : 401, signInPage({ csrf: reply.generateCsrf(), error, email: input.email }));
    }
    // Whatever session the browser brought is ended; the new one is always freshly made (no fixation).
    const brought = req.cookies[SESSION_COOKIE];
    if (brought) await accounts.sessions.end(tokenHash(brought));
    setSession(reply, result.token);
    return reply.redirect(result.needsTotp ? '/account/two-factor' : '/account', 303);
  });

  app.post('/account/sign-out', { schema: { hide: true } }, async (req, reply) => {
    const signedIn = user(req);
    if (signedIn) await accounts.signOut(signedIn, req.ip);
    clearSession(reply);
    return reply.redirect('/account/sign-in?signed-out', 303);
  });

  app.get('/account', { schema: { hide: true } }, async (req, reply) => {
    const signedIn = user(req);
    if (!signedIn) return reply.redirect('/account/sign-in', 303);
    if (signedIn.needsTotp) return reply.redirect('/account/two-factor', 303);
    return html(
      reply,
      200,
      accountPage({
        csrf: reply.generateCsrf(),
        month: deps.now().toISOString().slice(0, 7),
        account: {
          email: signedIn.email,
          operatorAdmin: signedIn.operatorAdmin,
          practices: [...signedIn.practices].map(([id, role]) => ({ id, role })).sort((a, b) => (a.id < b.id ? -1 : 1)),
          partners: [...signedIn.partners].sort(),
        },
      }),
    );
  });

  /** The signed-in person and a CSRF token, for scripts (the dashboard) that call the JSON API with the session. */
  app.get(
    '/v1/session',
    { schema: { tags: ['account'], summary: 'The signed-in person and a CSRF token' } },
    async (req, reply) => {
      const signedIn = user(req);
      if (!signedIn) throw new ApiError(401, ErrorCode.unauthorized, 'not signed in');
      return reply.send({
        userId: signedIn.userId,
        email: signedIn.email,
        operatorAdmin: signedIn.operatorAdmin,
        twoFactorRequired: signedIn.needsTotp,
        practices: [...signedIn.practices].map(([id, role]) => ({ id, role })),
        partners: [...signedIn.partners],
        csrfToken: reply.generateCsrf(),
      });
    },
  );

  app.get('/account/invitation', { schema: { hide: true } }, async (req, reply) => {
    const q = form(tokenQuery, req.query);
    if (!q) return linkRefused(reply, new LinkRefused('unknown'));
    try {
      const needsPassword = await accounts.invitationNeedsPassword(q.token);
      return html(reply, 200, invitationPage({ csrf: reply.generateCsrf(), token: q.token, needsPassword }));
    } catch (error) {
      if (error instanceof LinkRefused) return linkRefused(reply, error);
      throw error;
    }
  });

  app.post('/account/invitation', { schema: { hide: true } }, async (req, reply) => {
    const input = form(invitationForm, req.body);
    if (!input) {
      const token = form(tokenQuery, req.body)?.token;
      if (!token) return linkRefused(reply, new LinkRefused('unknown'));
      return html(
        reply,
        400,
        invitationPage({
          csrf: reply.generateCsrf(),
          token,
          needsPassword: true,
          error: 'Choose a password of 12 to 256 characters.',
        }),
      );
    }
    try {
      await accounts.acceptInvitation(input.token, input.password || null);
    } catch (error) {
      if (error instanceof LinkRefused) return linkRefused(reply, error);
      if (!(error instanceof PasswordRequired)) throw error;
      return html(
        reply,
        400,
        invitationPage({
          csrf: reply.generateCsrf(),
          token: input.token,
          needsPassword: true,
          error: 'Choose a password of 12 to 256 characters.',
        }),
      );
    }
    return html(
      reply,
      200,
      messagePage('Invitation accepted', 'You can sign in now.', { href: '/account/sign-in', label: 'Sign in' }),
    );
  });

  app.get('/account/password-reset', { schema: { hide: true } }, async (_req, reply) =>
    html(reply, 200, resetRequestPage({ csrf: reply.generateCsrf() })),
  );

  app.post('/account/password-reset', { schema: { hide: true } }, async (req, reply) => {
    const input = form(resetRequestForm, req.body);
    if (!input)
      return html(reply, 400, resetRequestPage({ csrf: reply.generateCsrf(), error: 'Enter your email address.' }));
    await accounts.requestPasswordReset(input.email, req.ip);
    // The same answer whether or not the email has an account.
    return html(
      reply,
      200,
      resetRequestPage({
        csrf: reply.generateCsrf(),
        notice: 'If an account has this email, a reset link is on its way.',
      }),
    );
  });

  app.get('/account/reset', { schema: { hide: true } }, async (req, reply) => {
    const q = form(tokenQuery, req.query);
    if (!q) return linkRefused(reply, new LinkRefused('unknown'));
    try {
      await accounts.links.peek(q.token, 'password_reset');
    } catch (error) {
      if (error instanceof LinkRefused) return linkRefused(reply, error);
      throw error;
    }
    return html(reply, 200, resetPage({ csrf: reply.generateCsrf(), token: q.token }));
  });

  app.post('/account/reset', { schema: { hide: true } }, async (req, reply) => {
    const input = form(resetForm, req.body);
    if (!input) {
      const token = form(tokenQuery, req.body)?.token;
      if (!token) return linkRefused(reply, new LinkRefused('unknown'));
      return html(
        reply,
        400,
        resetPage({ csrf: reply.generateCsrf(), token, error: 'Choose a password of 12 to 256 characters.' }),
      );
    }
    try {
      await accounts.resetPassword(input.token, input.password);
    } catch (error) {
      if (error instanceof LinkRefused) return linkRefused(reply, error);
      throw error;
    }
    clearSession(reply);
    return html(
      reply,
      200,
      messagePage('Password changed', 'Sign in with your new password. Every other session has been ended.', {
        href: '/account/sign-in',
        label: 'Sign in',
      }),
    );
  });

  app.get('/account/two-factor', { schema: { hide: true } }, async (req, reply) => {
    const signedIn = user(req);
    if (!signedIn) return reply.redirect('/account/sign-in', 303);
    const state = await accounts.startTwoFactor(signedIn);
    const notice = signedIn.needsTotp ? 'Operator admins must turn on two-factor authentication first.' : undefined;
    return html(reply, 200, twoFactorPage({ csrf: reply.generateCsrf(), notice, ...state }));
  });

  app.post('/account/two-factor', { schema: { hide: true } }, async (req, reply) => {
    const signedIn = user(req);
    if (!signedIn) return reply.redirect('/account/sign-in', 303);
    const input = form(codeForm, req.body);
    const codes = input ? await accounts.confirmTwoFactor(signedIn, input.code) : null;
    if (!codes) {
      const state = await accounts.startTwoFactor(signedIn);
      return html(
        reply,
        400,
        twoFactorPage({ csrf: reply.generateCsrf(), error: 'That code is not right. Try the current one.', ...state }),
      );
    }
    return html(reply, 200, recoveryCodesPage(codes));
  });
};
