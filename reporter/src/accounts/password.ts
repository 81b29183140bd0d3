import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { z } from 'zod';

// Algorithm.Argon2id: the package exports it as an ambient const enum, which isolated modules cannot read.
const ARGON2ID = 2 as Algorithm;
/** OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane). */
const OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const passwordSchema = z
  .string()
  .min(12, 'a password needs at least 12 characters')
  .max(256, 'a password has at most 256 characters');

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

// Verified against when there is no account (or no password yet), so that an unknown email costs as much time as a known one.
let placeholder: Promise<string> | undefined;

/** True when `password` matches the stored argon2id hash; a missing hash costs the same time and fails. */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (!stored) {
    placeholder ??= hashPassword('placeholder password for unknown accounts');
    await verify(await placeholder, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}
