import { ApiError, ErrorCode, type Logger } from '@confidant/shared';
import { bearerToken, hashesMatch, hashSecret, parseApiKey, type Role } from './api-key.ts';
import type { KeyStore } from './key-store.ts';
import type { ShareLinkStore } from './share-link-store.ts';

/** `share`: a share link's reader, scoped to one practice's figures and nothing else. */
export type Principal = { keyId: string; role: Role | 'share'; scopeId: string };

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

  async authenticate(header: string | undefined): Promise<Principal> {
    const token = bearerToken(header);
    if (!token)
      throw new ApiError(401, ErrorCode.unauthorized, 'an API key is required: Authorization: Bearer <key>', CHALLENGE);
    if (this.bootstrapHash && hashesMatch(hashSecret(token), this.bootstrapHash))
      return { keyId: BOOTSTRAP_ID, role: 'admin', scopeId: '' };
    if (token.startsWith('cs_') || token.startsWith('cu_')) {
      const link = await this.shares.authorize(token);
      if (!link) throw new ApiError(401, ErrorCode.unauthorized, 'invalid, expired or revoked share link');
      return { keyId: `share:${link.linkId}`, role: 'share', scopeId: link.practiceId };
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
    return { keyId: stored.keyId, role: stored.role, scopeId: stored.scopeId };
  }
}

const forbidden = (what: string): ApiError => new ApiError(403, ErrorCode.forbidden, `this key may not ${what}`);

export function requireAdmin(p: Principal): void {
  if (p.role !== 'admin') throw forbidden('use the admin API');
}

/** Admins, or the practice's own key or share link. Partner keys never see a single practice's figures. */
export function requirePracticeAccess(p: Principal, practiceId: string): void {
  if (p.role === 'admin' || ((p.role === 'practice' || p.role === 'share') && p.scopeId === practiceId)) return;
  throw forbidden(`read practice ${practiceId}`);
}

export function requirePartnerAccess(p: Principal, partnerId: string): void {
  if (p.role === 'admin' || (p.role === 'partner' && p.scopeId === partnerId)) return;
  throw forbidden(`read partner ${partnerId} exports`);
}
