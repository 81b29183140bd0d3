import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `cf_<keyId>_<secret>`: the key id (16 hex) finds the stored row, the
 * secret (64 hex, 256 bits) is checked against its SHA-256. Only the hash is stored; the
 * full key is shown once, at creation.
 */
export const ROLES = ['admin', 'practice', 'partner'] as const;
export type Role = (typeof ROLES)[number];

const KEY_RE = /^cf_([0-9a-f]{16})_([0-9a-f]{64})$/;

export type ParsedKey = { keyId: string; secret: string };

export function parseApiKey(text: string): ParsedKey | null {
  const m = KEY_RE.exec(text);
  return m ? { keyId: m[1]!, secret: m[2]! } : null;
}

export function generateApiKey(): { keyId: string; secret: string; key: string; hash: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { keyId, secret, key: `cf_${keyId}_${secret}`, hash: hashSecret(secret) };
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Constant-time comparison of two hex SHA-256 digests. */
export function hashesMatch(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

/**
 * The key from `Authorization: Bearer <key>`, or from `Basic base64(<any user>:<key>)` — the
 * form a browser sends after its login prompt, so a practice manager can open the HTML report.
 */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer[ ]+(\S+)$/i.exec(header.trim());
  if (bearer) return bearer[1]!;
  const basic = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  return password.length > 0 ? password : null;
}
