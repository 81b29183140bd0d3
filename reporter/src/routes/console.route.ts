import type { FastifyPluginAsync } from 'fastify';
import type { PracticeStore } from '@confidant/shared';
import type { AccountService } from '../accounts/account-service.ts';
import { requireAdmin } from '../auth/authenticate.ts';
import type { KeyStore } from '../auth/key-store.ts';
import { publicKey } from '../auth/key-store.ts';
import type { PartnerStore } from '../auth/partner-store.ts';
import { ACCOUNT_CSP, consolePage, type ConsoleData } from '../render/account-html.ts';
import type { AuditRunner } from './admin.route.ts';

export type ConsoleRouteDeps = {
  practices: PracticeStore;
  partners: PartnerStore;
  keys: KeyStore;
  accounts: AccountService;
  audit: AuditRunner;
};

/** `/console`: the operator's overview in the browser, for operator admins signed in (with two-factor). */
export const consoleRoutes: FastifyPluginAsync<ConsoleRouteDeps> = async (app, deps) => {
  app.get('/console', { schema: { hide: true } }, async (req, reply) => {
    const user = req.principal?.kind === 'user' ? req.principal : null;
    if (!user) return reply.redirect('/account/sign-in', 303);
    if (user.needsTotp) return reply.redirect('/account/two-factor', 303);
    requireAdmin(user);
    const [practices, partners, keys, users] = await Promise.all([
      deps.practices.list(),
      deps.partners.list(),
      deps.keys.list(),
      deps.accounts.accounts.list(),
    ]);
    // The audit reads every table: a failure is shown on the page rather than failing it.
    const audit: ConsoleData['audit'] = await deps.audit().then(
      (r) => ({ findings: r.findings as Array<{ kind: string; table?: string; column?: string; detail?: string }> }),
      (error: Error) => ({ error: error.message }),
    );
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', ACCOUNT_CSP)
      .send(consolePage({ practices, partners, keys: keys.map(publicKey), users, audit }));
  });
};
