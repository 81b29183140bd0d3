import { randomBytes } from 'node:crypto';
import { hashSecret } from '../auth/api-key.ts';

/** A 256-bit secret for a session cookie or a link, URL-safe; only its SHA-256 is stored. */
export const newAccountToken = (): string => randomBytes(32).toString('base64url');

export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** The stored form of a token: SHA-256, hex. */
export const tokenHash = (token: string): string => hashSecret(token);

/** The email an account is known by: trimmed and lower-cased (the database refuses any other form). */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
