// People with accounts, made directly in the control plane (the flows that make them are tested on their own).
import { AccountStore, hashPassword, type PracticeRole } from '@confidant/reporter';
import type { ControlQueries } from '@confidant/shared';
import * as OTPAuth from 'otpauth';

export const PASSWORD = 'correct horse battery staple';

export type PersonGrants = {
  operatorAdmin?: boolean;
  practices?: Record<string, PracticeRole>;
  partners?: string[];
  /** A base32 TOTP secret to enrol (operator admins need one to get past enrolment). */
  totpSecret?: string;
};

export async function createPerson(control: ControlQueries, email: string, grants: PersonGrants = {}): Promise<string> {
  const store = new AccountStore(control);
  const userId = await store.ensure(email);
  await store.setPassword(userId, await hashPassword(PASSWORD));
  if (grants.operatorAdmin) await store.grantOperatorAdmin(userId);
  for (const [practiceId, role] of Object.entries(grants.practices ?? {}))
    await store.grantPractice(userId, practiceId, role);
  for (const partnerId of grants.partners ?? []) await store.grantPartner(userId, partnerId);
  if (grants.totpSecret)
    await control.query('UPDATE users SET totp_secret = $2 WHERE user_id = $1', [userId, grants.totpSecret]);
  return userId;
}

/** The current code of a TOTP secret, as an authenticator app shows it. */
export const totpCode = (secret: string, at = Date.now()): string =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at,
  });

export const newSecret = (): string => new OTPAuth.Secret({ size: 20 }).base32;
