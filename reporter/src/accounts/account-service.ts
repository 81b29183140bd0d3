import { ApiError, ErrorCode, type ControlDb, type PracticeStore } from '@confidant/shared';
import type { UserPrincipal } from '../auth/authenticate.ts';
import type { PartnerStore } from '../auth/partner-store.ts';
import type { AccountsConfig } from '../reporter.config.ts';
import { AccountLinkStore, LinkRefused, type Invitation } from './account-link-store.ts';
import { AccountStore, type PracticeRole } from './account-store.ts';
import { tokenHash } from './account-token.ts';
import { AuditLog } from './audit-log.ts';
import type { Mailer } from './mailer.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { SessionStore } from './session-store.ts';
import { SignInThrottle } from './sign-in-throttle.ts';
import { newTotpSecret, totpStep, totpUri, TwoFactorStore } from './two-factor.ts';

export type SignInAttempt = { email: string; password: string; code: string; address: string };
export type SignInResult =
  { ok: true; token: string; needsTotp: boolean } | { ok: false; reason: 'invalid' | 'locked' | 'code_required' };

export type AccountServiceDeps = {
  control: ControlDb;
  practices: PracticeStore;
  partners: PartnerStore;
  config: AccountsConfig;
  mailer: Mailer | null;
  now: () => Date;
};

/** An invitation for an email without an account, accepted without choosing a password. */
export class PasswordRequired extends Error {
  override name = 'PasswordRequired';
}

/** The stored form of a client address: its SHA-256 (throttling and the audit log never keep the address). */
export const addressHash = (address: string): string => tokenHash(`address:${address}`);

const mailUnavailable = () =>
  new ApiError(503, ErrorCode.unavailable, 'account mail is not configured (SMTP_URL); no link can be sent');

/** Sign-in, sessions, invitations, password resets and two-factor, over the control plane. */
export class AccountService {
  readonly accounts: AccountStore;
  readonly sessions: SessionStore;
  readonly links: AccountLinkStore;
  readonly twoFactor: TwoFactorStore;
  readonly audit: AuditLog;
  private readonly throttle: SignInThrottle;

  constructor(private readonly deps: AccountServiceDeps) {
    const { control, config } = deps;
    this.accounts = new AccountStore(control);
    this.sessions = new SessionStore(control, config.session);
    this.links = new AccountLinkStore(control);
    this.twoFactor = new TwoFactorStore(control);
    this.audit = new AuditLog(control);
    this.throttle = new SignInThrottle(control, config.signIn);
  }

  /**
   * Checks an email, password and (when enrolled) a two-factor or recovery code, in that order, after
   * counting the attempt. Every refusal looks the same from outside, whichever part was wrong.
   */
  async signIn(attempt: SignInAttempt): Promise<SignInResult> {
    const address = addressHash(attempt.address);
    const email = attempt.email;
    const fail = async (reason: SignInResult & { ok: false }, why: string, userId?: string) => {
      await this.audit.record({
        action: 'sign_in_failed',
        target: userId ? `user:${userId}` : null,
        addressHash: address,
        detail: { reason: why },
      });
      return reason;
    };
    if (!(await this.throttle.admit(email, address))) return fail({ ok: false, reason: 'locked' }, 'locked');
    const account = await this.accounts.byEmail(email);
    const passwordOk = await verifyPassword(account?.passwordHash ?? null, attempt.password);
    if (!account || !passwordOk || account.disabled) return fail({ ok: false, reason: 'invalid' }, 'password');
    if (account.totpSecret) {
      const code = attempt.code.trim();
      if (!code) return fail({ ok: false, reason: 'code_required' }, 'code missing', account.userId);
      if (!(await this.checkSecondFactor(account.userId, account.email, account.totpSecret, code)))
        return fail({ ok: false, reason: 'invalid' }, 'code', account.userId);
    }
    await this.throttle.succeeded(email);
    const needsTotp = this.deps.config.operatorTwoFactorRequired && account.operatorAdmin && !account.totpSecret;
    const token = await this.sessions.create(account.userId, needsTotp);
    await this.audit.record({ action: 'sign_in', actor: `user:${account.userId}`, addressHash: address });
    return { ok: true, token, needsTotp };
  }

  private async checkSecondFactor(userId: string, email: string, secret: string, code: string): Promise<boolean> {
    if (/^\d{6}$/.test(code)) {
      const step = totpStep(secret, email, code, this.deps.now());
      // A step is claimed once: the same code (or another of its step) replayed within the window fails.
      return step !== null && (await this.twoFactor.claimStep(userId, step));
    }
    const used = await this.twoFactor.useRecoveryCode(userId, code);
    if (used) await this.audit.record({ action: 'recovery_code_used', actor: `user:${userId}` });
    return used;
  }

  /** The person behind a session token, with their grants; null when the session is unknown or expired. */
  async principalFor(token: string): Promise<UserPrincipal | null> {
    const session = await this.sessions.resolve(token);
    if (!session) return null;
    const account = await this.accounts.byId(session.userId);
    if (!account) return null;
    const grants = await this.accounts.grants(account.userId);
    return {
      kind: 'user',
      userId: account.userId,
      email: account.email,
      sessionHash: session.tokenHash,
      needsTotp: session.needsTotp,
      ...grants,
    };
  }

  async signOut(user: UserPrincipal, address: string): Promise<void> {
    await this.sessions.end(user.sessionHash);
    await this.audit.record({ action: 'sign_out', actor: `user:${user.userId}`, addressHash: addressHash(address) });
  }

  /** Sends an invitation to a practice (with a role) or a partner; returns when it expires. */
  async invite(invitation: Invitation, actor: string, invitedBy: string | null): Promise<{ expiresAt: string }> {
    const mailer = this.deps.mailer;
    if (!mailer) throw mailUnavailable();
    if (invitation.practiceId && !(await this.deps.practices.get(invitation.practiceId)))
      throw new ApiError(404, ErrorCode.notFound, `no practice ${invitation.practiceId}`);
    if (invitation.partnerId && !(await this.deps.partners.get(invitation.partnerId)))
      throw new ApiError(404, ErrorCode.notFound, `no partner ${invitation.partnerId}`);
    const { token, expiresAt } = await this.deps.control.transaction(async (tx) => {
      const link = await this.links.create('invitation', invitation, this.deps.config.invitationTtlMs, invitedBy, tx);
      await this.audit.record(
        {
          action: 'invitation_sent',
          actor,
          target: `invitation:${tokenHash(link.token).slice(0, 16)}`,
          practiceId: invitation.practiceId ?? null,
          detail: { role: invitation.role ?? null, partnerId: invitation.partnerId ?? null },
        },
        tx,
      );
      return link;
    });
    const where = invitation.practiceId
      ? `practice ${invitation.practiceId} as ${invitation.role}`
      : `partner ${invitation.partnerId}`;
    await mailer.send({
      to: invitation.email,
      subject: 'Your invitation to Confidant',
      text: [
        `You have been invited to Confidant (${where}).`,
        '',
        'Choose a password and accept the invitation here:',
        `${this.deps.config.publicUrl}/account/invitation?token=${token}`,
        '',
        `The link works once, until ${expiresAt.toISOString()}.`,
      ].join('\n'),
    });
    return { expiresAt: expiresAt.toISOString() };
  }

  /** Accepts an invitation: the account (with `password` when it has none yet) and its new role, at once. */
  async acceptInvitation(token: string, password: string | null): Promise<void> {
    const passwordHash = password ? await hashPassword(password) : null;
    await this.deps.control.transaction(async (tx) => {
      const link = await this.links.redeem(token, 'invitation', tx);
      const userId = await this.accounts.ensure(link.email, tx);
      const account = await this.accounts.byId(userId, tx);
      if (!account?.passwordHash) {
        if (!passwordHash) throw new PasswordRequired('choose a password');
        await this.accounts.setPassword(userId, passwordHash, tx);
      }
      if (link.practiceId && link.role) await this.accounts.grantPractice(userId, link.practiceId, link.role, tx);
      if (link.partnerId) await this.accounts.grantPartner(userId, link.partnerId, tx);
      await this.audit.record(
        {
          action: 'invitation_accepted',
          actor: `user:${userId}`,
          practiceId: link.practiceId,
          detail: { role: link.role, partnerId: link.partnerId },
        },
        tx,
      );
    });
  }

  /** Whether accepting this invitation needs a new password (the email has no account yet). */
  async invitationNeedsPassword(token: string): Promise<boolean> {
    const link = await this.links.peek(token, 'invitation');
    return !(await this.accounts.byEmail(link.email))?.passwordHash;
  }

  /** Mails a reset link when the email has an account; says nothing either way. */
  async requestPasswordReset(email: string, address: string): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) throw mailUnavailable();
    // Reset requests count against the address's sign-in allowance: no mail bombing from one address.
    if (!(await this.throttle.admitAddress(addressHash(address)))) return;
    const account = await this.accounts.byEmail(email);
    if (!account?.passwordHash || account.disabled) return;
    const { token, expiresAt } = await this.links.create(
      'password_reset',
      { email },
      this.deps.config.passwordResetTtlMs,
      null,
    );
    await this.audit.record({
      action: 'password_reset_requested',
      target: `user:${account.userId}`,
      addressHash: addressHash(address),
    });
    await mailer.send({
      to: email,
      subject: 'Reset your Confidant password',
      text: [
        'Someone asked to reset the password of this Confidant account. If it was you, choose a new one here:',
        `${this.deps.config.publicUrl}/account/reset?token=${token}`,
        '',
        `The link works once, until ${expiresAt.toISOString()}. If it was not you, ignore this mail.`,
      ].join('\n'),
    });
  }

  /** Sets the new password and ends every session of the account, with the link's use, in one transaction. */
  async resetPassword(token: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    await this.deps.control.transaction(async (tx) => {
      const link = await this.links.redeem(token, 'password_reset', tx);
      const account = await this.accounts.byEmail(link.email, tx);
      if (!account) throw new LinkRefused('unknown');
      await this.accounts.setPassword(account.userId, passwordHash, tx);
      await this.sessions.endAll(account.userId, tx);
      await this.audit.record({ action: 'password_reset', actor: `user:${account.userId}` }, tx);
    });
  }

  /** Starts (or restarts) two-factor enrolment: a pending secret, and the URI to give an authenticator. */
  async startTwoFactor(
    user: UserPrincipal,
  ): Promise<{ enabled: true } | { enabled: false; secret: string; uri: string }> {
    const account = await this.accounts.byId(user.userId);
    if (account?.totpSecret) return { enabled: true };
    const secret = account?.totpPendingSecret ?? newTotpSecret();
    if (!account?.totpPendingSecret) await this.twoFactor.setPending(user.userId, secret);
    return { enabled: false, secret, uri: totpUri(secret, user.email) };
  }

  /** Confirms enrolment with a code from the pending secret; returns the recovery codes, or null when the code is wrong. */
  async confirmTwoFactor(user: UserPrincipal, code: string): Promise<string[] | null> {
    const account = await this.accounts.byId(user.userId);
    if (!account?.totpPendingSecret || account.totpSecret) return null;
    const step = totpStep(account.totpPendingSecret, account.email, code.trim(), this.deps.now());
    if (step === null) return null;
    return this.deps.control.transaction(async (tx) => {
      if (!(await this.twoFactor.claimStep(user.userId, step, tx))) return null;
      const codes = await this.twoFactor.enable(user.userId, tx);
      await this.sessions.clearTotpRequirement(user.userId, tx);
      await this.audit.record({ action: 'two_factor_enabled', actor: `user:${user.userId}` }, tx);
      return codes;
    });
  }

  /** An operator admin with a password (`confidant user create --admin`); they enrol two-factor at first sign-in. */
  async createOperatorAdmin(email: string, password: string, actor: string): Promise<{ userId: string }> {
    const passwordHash = await hashPassword(password);
    return this.deps.control.transaction(async (tx) => {
      const userId = await this.accounts.ensure(email, tx);
      await this.accounts.setPassword(userId, passwordHash, tx);
      await this.accounts.grantOperatorAdmin(userId, tx);
      await this.audit.record({ action: 'operator_admin_created', actor, target: `user:${userId}` }, tx);
      return { userId };
    });
  }

  async changeRole(practiceId: string, userId: string, role: PracticeRole, actor: string): Promise<boolean> {
    return this.deps.control.transaction(async (tx) => {
      if (!(await this.accounts.changeRole(userId, practiceId, role, tx))) return false;
      await this.audit.record(
        { action: 'role_changed', actor, target: `user:${userId}`, practiceId, detail: { role } },
        tx,
      );
      return true;
    });
  }

  async removeMember(practiceId: string, userId: string, actor: string): Promise<boolean> {
    return this.deps.control.transaction(async (tx) => {
      if (!(await this.accounts.removeMembership(userId, practiceId, tx))) return false;
      await this.audit.record({ action: 'membership_removed', actor, target: `user:${userId}`, practiceId }, tx);
      return true;
    });
  }
}
