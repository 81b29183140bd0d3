import { ApiError, ErrorCode, type Logger } from '@confidant/shared';
import { bearerToken, hashesMatch, hashSecret, parseApiKey, type Role } from './api-key.ts';
import type { Grants } from '../accounts/account-store.ts';
import type { KeyStore } from './key-store.ts';
import type { ShareLinkStore } from './share-link-store.ts';

/** A machine with an API key, scoped to one role and practice or partner. */
export type KeyPrincipal = { kind: 'key'; keyId: string; role: Role; scopeId: string };
/** A person signed in with a session: whatever their grants allow. */
export type UserPrincipal = Grants & {
  kind: 'user';
  userId: string;
  email: string;
  sessionHash: string;
  /** An operator admin without two-factor yet: may only enrol it. */
  needsTotp: boolean;
};
export type Principal = KeyPrincipal | UserPrincipal;

/** Who did something, as the audit log names them. */
export const actorOf = (p: Principal): string => (p.kind === 'key' ? `key:${p.keyId}` : `user:${p.userId}`);

const BOOTSTRAP_ID = 'bootstrap-admin';
/** A Basic challenge makes a browser ask for the key (as the password); API clients send Bearer. */
const CHALLENGE = { 'www-authenticate': 'Basic realm="Confidant reports", charset="UTF-8"' };

/** Resolves `Authorization: Bearer cf_…` to a principal; throws 401 otherwise. */
export class Authenticator {
  private readonly bootstrapHash: string | null;
  /** Last-used writes are not awaited by requests; shutdown waits for them. */
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly keys: KeyStore,
    private readonly shares: ShareLinkStore,
    bootstrapAdminKey: string | undefined,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.bootstrapHash = bootstrapAdminKey ? hashSecret(bootstrapAdminKey) : null;
  }

  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  async authenticate(header: string | undefined): Promise<KeyPrincipal> {
    const token = bearerToken(header);
    if (!token)
      throw new ApiError(401, ErrorCode.unauthorized, 'an API key is required: Authorization: Bearer <key>', CHALLENGE);
    if (this.bootstrapHash && hashesMatch(hashSecret(token), this.bootstrapHash))
      return { kind: 'key', keyId: BOOTSTRAP_ID, role: 'admin', scopeId: '' };
    // A share link reads like its practice's own key, and like a key it manages nothing.
    if (token.startsWith('cs_') || token.startsWith('cu_')) {
      const link = await this.shares.authorize(token);
      if (!link) throw new ApiError(401, ErrorCode.unauthorized, 'invalid, expired or revoked share link');
      return { kind: 'key', keyId: `share:${link.linkId}`, role: 'practice', scopeId: link.practiceId };
    }
    const parsed = parseApiKey(token);
    const stored = parsed ? await this.keys.get(parsed.keyId) : null;
    if (!parsed || !stored || stored.revoked || !hashesMatch(hashSecret(parsed.secret), stored.hash)) {
      throw new ApiError(401, ErrorCode.unauthorized, 'invalid or revoked API key', CHALLENGE);
    }
    const touch = this.keys
      .touch(stored, this.now())
      .catch((error: unknown) => this.logger.warn({ err: error, keyId: stored.keyId }, 'could not record key use'))
      .finally(() => this.inflight.delete(touch));
    this.inflight.add(touch);
    return { kind: 'key', keyId: stored.keyId, role: stored.role, scopeId: stored.scopeId };
  }
}

const forbidden = (p: Principal, what: string): ApiError =>
  new ApiError(403, ErrorCode.forbidden, `this ${p.kind === 'key' ? 'key' : 'account'} may not ${what}`);

const isAdmin = (p: Principal): boolean => (p.kind === 'key' ? p.role === 'admin' : p.operatorAdmin);

export function requireAdmin(p: Principal): void {
  if (!isAdmin(p)) throw forbidden(p, 'use the admin API');
}

/** Admins, the practice's own key, and the practice's members. Partners never see a single practice's figures. */
export function requirePracticeAccess(p: Principal, practiceId: string): void {
  if (isAdmin(p)) return;
  if (p.kind === 'key' ? p.role === 'practice' && p.scopeId === practiceId : p.practices.has(practiceId)) return;
  throw forbidden(p, `read practice ${practiceId}`);
}

/** Admins and the practice's owners: inviting and removing its people. Keys are for reading figures. */
export function requirePracticeOwner(p: Principal, practiceId: string): void {
  if (isAdmin(p) || (p.kind === 'user' && p.practices.get(practiceId) === 'owner')) return;
  throw forbidden(p, `manage practice ${practiceId}`);
}

export function requirePartnerAccess(p: Principal, partnerId: string): void {
  if (isAdmin(p)) return;
  if (p.kind === 'key' ? p.role === 'partner' && p.scopeId === partnerId : p.partners.has(partnerId)) return;
  throw forbidden(p, `read partner ${partnerId} exports`);
}
