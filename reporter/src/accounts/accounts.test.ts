import { createHash } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { auditLogCsv } from '../routes/admin.route.ts';
import { ACCOUNT_CSP, signInPage } from '../render/account-html.ts';
import { emailField, signInForm } from './account-forms.ts';
import { newAccountToken, TOKEN_RE } from './account-token.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { newTotpSecret, totpStep } from './two-factor.ts';

describe('account inputs', () => {
  it('normalises emails the way the database requires, and refuses what is not one', () => {
    expect(emailField.parse('  Jane.Doe@Example.ORG ')).toBe('jane.doe@example.org');
    for (const bad of ['jane', 'jane@', '@x.org', 'a b@x.org', 'a@b', 'a@@b.org'])
      expect(emailField.safeParse(bad).success, bad).toBe(false);
    expect(signInForm.parse({ email: 'A@B.io', password: 'x' })).toMatchObject({ email: 'a@b.io', code: '' });
  });

  it('tokens are 256-bit base64url and match the shape the routes accept', () => {
    const t = newAccountToken();
    expect(t).toMatch(TOKEN_RE);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(newAccountToken()).not.toBe(t);
  });
});

describe('passwords', () => {
  it('argon2id: the right password verifies, a wrong one and a missing hash do not', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(hash, 'Correct horse battery staple')).toBe(false);
    expect(await verifyPassword(null, 'correct horse battery staple')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });
});

describe('TOTP steps', () => {
  const secret = newTotpSecret();
  const code = (at: number) =>
    new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });
  const now = new Date('2026-01-01T12:00:10Z');
  const step = Math.floor(now.getTime() / 30_000);

  it('names the step of a code within one step of now, and refuses others', () => {
    expect(totpStep(secret, 'a@b.io', code(now.getTime()), now)).toBe(step);
    expect(totpStep(secret, 'a@b.io', code(now.getTime() - 30_000), now)).toBe(step - 1);
    expect(totpStep(secret, 'a@b.io', code(now.getTime() + 30_000), now)).toBe(step + 1);
    expect(totpStep(secret, 'a@b.io', code(now.getTime() - 90_000), now)).toBeNull();
    expect(totpStep(secret, 'a@b.io', '12345', now)).toBeNull();
    expect(totpStep(secret, 'a@b.io', 'abcdef', now)).toBeNull();
  });
});

describe('pages and exports', () => {
  it('the sign-in page escapes what it echoes and its CSP allows only its own stylesheet', () => {
    const html = signInPage({ csrf: '"><x', email: '"><script>alert(1)</script>', error: '<b>' });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
    expect(ACCOUNT_CSP).not.toMatch(/unsafe-inline/);
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(ACCOUNT_CSP).toContain(`'sha256-${createHash('sha256').update(css).digest('base64')}'`);
  });

  it('the audit log CSV neutralises formulas', () => {
    const csv = auditLogCsv([
      {
        seq: 1,
        at: '2026-01-01T00:00:00.000Z',
        action: 'sign_in_failed',
        actor: null,
        target: '=HYPERLINK("x")',
        practiceId: null,
        addressHash: 'ab',
        detail: { reason: 'password' },
      },
    ]);
    expect(csv.split('\n')[1]).toBe(
      `1,2026-01-01T00:00:00.000Z,sign_in_failed,,"'=HYPERLINK(""x"")",,ab,"{""reason"":""password""}"`,
    );
  });
});
