import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPerson, PASSWORD, totpCode } from '../support/accounts-fixture.ts';
import { Browser, csrfIn } from '../support/account-session.ts';
import { linkIn, startMailServer, type MailServer } from '../support/mail-server.ts';
import {
  ADMIN_KEY,
  adminAuth,
  practice,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

const PUBLIC_URL = 'http://reporter.test';
const ALPHA_STATS = '/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-02';
const BETA_STATS = '/v1/practices/beta/stats/timeseries?from=2024-03-01&to=2024-03-02';

let h: ReporterHarness;
let mail: MailServer;
let address = 0;
/** Each test's browser comes from its own address, so that the per-address limit is tested on its own. */
const browser = () => new Browser(h.app, `192.0.2.${++address}`);
const path = (url: URL) => `${url.pathname}${url.search}`;

beforeAll(async () => {
  mail = await startMailServer();
  h = await startReporter('accounts', {
    SMTP_URL: mail.url,
    REPORTER_PUBLIC_URL: PUBLIC_URL,
    SIGN_IN_ATTEMPTS_PER_ACCOUNT: '5',
    SIGN_IN_ATTEMPTS_PER_ADDRESS: '12',
  });
  await savePractices(h.control, practice('alpha'), practice('beta'));
  await h.app.inject({
    method: 'POST',
    url: '/v1/admin/partners',
    headers: adminAuth,
    payload: { id: 'acme', name: 'Acme' },
  });
});

afterAll(async () => {
  await h?.cleanup();
  await mail?.close();
});

async function sessionRow(cookieValue: string) {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256').update(cookieValue).digest('hex');
  const [row] = await h.control.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE token_hash = $1', [
    hash,
  ]);
  return { hash, exists: row!.n > 0 };
}

describe('sign-in and sessions', () => {
  test('signing in sets an HttpOnly, Secure, SameSite=Strict session that reads only the own practice', async () => {
    await createPerson(h.control, 'owner.one@example.org', { practices: { alpha: 'owner' } });
    const b = browser();
    const page = await b.get('/account/sign-in');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(page.body).toMatch(/<label for="email">/);
    const res = await b.signIn('owner.one@example.org', PASSWORD);
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/account');
    const cookie = (res.cookies as Array<Record<string, unknown>>).find((c) => c.name === 'confidant_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    const home = await b.get('/account');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('owner.one@example.org');
    expect(home.body).toContain('/v1/practices/alpha/reports/monthly');
    expect((await b.get(ALPHA_STATS)).statusCode).toBe(200);
    const other = await b.get(BETA_STATS);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('forbidden');
  });

  test('a wrong password, an unknown email and a malformed form are refused alike, never with a 5xx', async () => {
    await createPerson(h.control, 'refused@example.org');
    const b = browser();
    const wrong = await b.signIn('refused@example.org', 'not the password');
    const unknown = await b.signIn('nobody@example.org', PASSWORD);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.body.replace(/value="[^"]*"/g, '')).toBe(unknown.body.replace(/value="[^"]*"/g, ''));
    for (const fields of [{}, { email: 'x' }, { email: 'a@b.c', password: 'p'.repeat(5000) }]) {
      const res = await b.submit('/account/sign-in', '/account/sign-in', fields as Record<string, string>);
      expect(res.statusCode, JSON.stringify(fields)).toBe(400);
    }
    const json = await h.app.inject({
      method: 'POST',
      url: '/account/sign-in',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(json.statusCode).toBeLessThan(500);
  });

  test('sign-out ends the session on the server: the old cookie no longer works', async () => {
    await createPerson(h.control, 'leaver@example.org', { practices: { alpha: 'viewer' } });
    const b = browser();
    await b.signIn('leaver@example.org', PASSWORD);
    const token = b.jar.cookies.get('confidant_session')!;
    expect((await sessionRow(token)).exists).toBe(true);
    const out = await b.signOut();
    expect(out.statusCode).toBe(303);
    expect(b.jar.cookies.has('confidant_session')).toBe(false);
    expect((await sessionRow(token)).exists).toBe(false);
    const replay = await h.app.inject({ url: ALPHA_STATS, headers: { cookie: `confidant_session=${token}` } });
    expect(replay.statusCode).toBe(401);
  });

  test('session fixation: a session id planted before sign-in is never adopted', async () => {
    await createPerson(h.control, 'fixated@example.org', { practices: { alpha: 'viewer' } });
    const attacker = browser();
    await attacker.signIn('fixated@example.org', 'wrong password entirely');
    const planted = 'A'.repeat(43);
    const victim = browser();
    victim.jar.cookies.set('confidant_session', planted);
    const res = await victim.signIn('fixated@example.org', PASSWORD);
    expect(res.statusCode).toBe(303);
    const issued = victim.jar.cookies.get('confidant_session')!;
    expect(issued).not.toBe(planted);
    expect((await sessionRow(planted)).exists).toBe(false);
    expect(
      (await h.app.inject({ url: ALPHA_STATS, headers: { cookie: `confidant_session=${planted}` } })).statusCode,
    ).toBe(401);
    // A session the browser already had (someone else's, planted) is ended by signing in.
    const other = browser();
    await other.signIn('fixated@example.org', PASSWORD);
    const stolen = other.jar.cookies.get('confidant_session')!;
    const again = browser();
    again.jar.cookies.set('confidant_session', stolen);
    const relog = await again.submit('/account', '/account/sign-in', {
      email: 'fixated@example.org',
      password: PASSWORD,
    });
    expect(relog.statusCode).toBe(303);
    expect(again.jar.cookies.get('confidant_session')).not.toBe(stolen);
    expect((await sessionRow(stolen)).exists).toBe(false);
  });

  test('idle and absolute expiry end a session', async () => {
    await createPerson(h.control, 'idle@example.org', { practices: { alpha: 'viewer' } });
    const idle = browser();
    await idle.signIn('idle@example.org', PASSWORD);
    expect((await idle.get(ALPHA_STATS)).statusCode).toBe(200);
    const { hash } = await sessionRow(idle.jar.cookies.get('confidant_session')!);
    await h.control.query(`UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE token_hash = $1`, [
      hash,
    ]);
    expect((await idle.get(ALPHA_STATS)).statusCode).toBe(401);
    expect((await sessionRow(idle.jar.cookies.get('confidant_session')!)).exists).toBe(false);

    const old = browser();
    await old.signIn('idle@example.org', PASSWORD);
    const { hash: oldHash } = await sessionRow(old.jar.cookies.get('confidant_session')!);
    await h.control.query(
      `UPDATE sessions SET created_at = now() - interval '13 hours', absolute_expires_at = now() - interval '1 hour' WHERE token_hash = $1`,
      [oldHash],
    );
    expect((await old.get(ALPHA_STATS)).statusCode).toBe(401);
  });
});

describe('CSRF', () => {
  test('a form post without the token, or with a token of another browser, is refused', async () => {
    await createPerson(h.control, 'csrf@example.org', { practices: { alpha: 'owner' } });
    const b = browser();
    await b.get('/account/sign-in');
    const missing = await b.submit(
      '/account/sign-in',
      '/account/sign-in',
      { email: 'csrf@example.org', password: PASSWORD },
      '',
    );
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error.code).toBe('forbidden');
    const other = browser();
    const foreign = csrfIn((await other.get('/account/sign-in')).body);
    const mismatched = await b.submit(
      '/account/sign-in',
      '/account/sign-in',
      { email: 'csrf@example.org', password: PASSWORD },
      foreign,
    );
    expect(mismatched.statusCode).toBe(403);
    expect(b.jar.cookies.has('confidant_session')).toBe(false);
  });

  test('a state change with the session cookie needs the CSRF token; a key in the header does not', async () => {
    const b = browser();
    await b.signIn('csrf@example.org', PASSWORD);
    const payload = { email: 'csrf.invitee@example.org', role: 'viewer' };
    const without = await h.app.inject({
      method: 'POST',
      url: '/v1/practices/alpha/invitations',
      headers: b.jar.header(),
      payload,
    });
    expect(without.statusCode).toBe(403);
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/v1/practices/alpha/invitations',
      headers: { ...b.jar.header(), 'csrf-token': 'forged-token' },
      payload,
    });
    expect(wrong.statusCode).toBe(403);
    const signOutWithout = await b.submit('/account', '/account/sign-out', {}, '');
    expect(signOutWithout.statusCode).toBe(403);
    expect((await b.get(ALPHA_STATS)).statusCode).toBe(200);
    const ok = await b.api('POST', '/v1/practices/alpha/invitations', payload);
    expect(ok.statusCode, ok.body).toBe(201);
    await mail.next('csrf.invitee@example.org');
    const byKey = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/partners',
      headers: adminAuth,
      payload: { id: 'csrf-partner', name: 'P' },
    });
    expect(byKey.statusCode).toBe(201);
  });
});

describe('throttling and lockout', () => {
  test('five wrong passwords lock the account, whatever case or spaces the email is typed with', async () => {
    await createPerson(h.control, 'locked@example.org', { practices: { alpha: 'viewer' } });
    const variants = [
      'locked@example.org',
      'LOCKED@example.org',
      '  Locked@Example.org ',
      'locked@EXAMPLE.ORG',
      'locked@example.org',
    ];
    for (const email of variants) expect((await browser().signIn(email, 'wrong password')).statusCode).toBe(401);
    const right = await browser().signIn('  LOCKED@example.org', PASSWORD);
    expect(right.statusCode).toBe(429);
    expect(right.body).toMatch(/Too many sign-in attempts/);
    expect((await browser().signIn('locked@example.org', PASSWORD)).statusCode).toBe(429);
    // After the lockout window, the right password works again.
    await h.control.query(
      `UPDATE sign_in_throttle SET window_started_at = now() - interval '16 minutes' WHERE kind = 'account' AND subject = sign_in_account($1)`,
      ['locked@example.org'],
    );
    expect((await browser().signIn('locked@example.org', PASSWORD)).statusCode).toBe(303);
  });

  test('parallel guesses are counted one by one: no more than the limit is ever checked', async () => {
    await createPerson(h.control, 'parallel@example.org');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => browser().signIn('parallel@example.org', 'wrong password')),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  test('one address guessing at many accounts is locked out too', async () => {
    const b = browser();
    for (let i = 0; i < 12; i++) expect((await b.signIn(`spray${i}@example.org`, 'guess')).statusCode).toBe(401);
    await createPerson(h.control, 'sprayed@example.org');
    expect((await b.signIn('sprayed@example.org', PASSWORD)).statusCode).toBe(429);
    expect((await browser().signIn('sprayed@example.org', PASSWORD)).statusCode).toBe(303);
  });
});

describe('invitations and password reset, by mail', () => {
  test('an owner invites a viewer: the mail arrives, the link sets a password once, the viewer reads the practice', async () => {
    await createPerson(h.control, 'inviter@example.org', { practices: { alpha: 'owner' } });
    const owner = browser();
    await owner.signIn('inviter@example.org', PASSWORD);
    const sent = await owner.api('POST', '/v1/practices/alpha/invitations', {
      email: ' New.Viewer@Example.org ',
      role: 'viewer',
    });
    expect(sent.statusCode, sent.body).toBe(201);
    const invitation = await mail.next('new.viewer@example.org');
    expect(invitation.subject).toMatch(/invitation/i);
    const link = linkIn(invitation, PUBLIC_URL);
    const [stored] = await h.control.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM account_links WHERE token_hash = $1',
      [link.searchParams.get('token')],
    );
    expect(stored!.n).toBe(0); // only the hash is stored
    const invitee = browser();
    const page = await invitee.get(path(link));
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/Choose a password/);
    const short = await invitee.submit(path(link), '/account/invitation', {
      token: link.searchParams.get('token')!,
      password: 'short',
    });
    expect(short.statusCode).toBe(400);
    const accepted = await invitee.submit(path(link), '/account/invitation', {
      token: link.searchParams.get('token')!,
      password: 'a brand new password',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    const reused = await invitee.submit('/account/sign-in', '/account/invitation', {
      token: link.searchParams.get('token')!,
      password: 'another new password',
    });
    expect(reused.statusCode).toBe(410);
    expect(reused.body).toMatch(/already been used/);
    expect((await invitee.signIn('new.viewer@example.org', 'a brand new password')).statusCode).toBe(303);
    expect((await invitee.get(ALPHA_STATS)).statusCode).toBe(200);
    expect((await invitee.get(BETA_STATS)).statusCode).toBe(403);
    const members = (await owner.api('GET', '/v1/practices/alpha/users')).json().users;
    expect(members).toEqual(
      expect.arrayContaining([expect.objectContaining({ email: 'new.viewer@example.org', role: 'viewer' })]),
    );
  });

  test('an expired invitation is refused, by the page and by the database', async () => {
    const sent = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/invitations',
      headers: adminAuth,
      payload: { email: 'late@example.org', practiceId: 'alpha', role: 'viewer' },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    const link = linkIn(await mail.next('late@example.org'), PUBLIC_URL);
    await h.control.query(
      `UPDATE account_links SET expires_at = now() - interval '1 second' WHERE email = 'late@example.org'`,
    );
    const b = browser();
    const page = await b.get(path(link));
    expect(page.statusCode).toBe(410);
    expect(page.body).toMatch(/expired/);
    const post = await b.submit('/account/sign-in', '/account/invitation', {
      token: link.searchParams.get('token')!,
      password: 'a brand new password',
    });
    expect(post.statusCode).toBe(410);
    expect(post.body).toMatch(/expired/);
    // The rule is the table's: marking it used after its expiry is refused whoever tries.
    await expect(
      h.control.query(`UPDATE account_links SET used_at = now() WHERE email = 'late@example.org'`),
    ).rejects.toThrow(/check constraint/);
    const [user] = await h.control.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users WHERE email = 'late@example.org'`,
    );
    expect(user!.n).toBe(0);
  });

  test('a password reset link works once and ends every session; a second use is refused', async () => {
    await createPerson(h.control, 'forgetful@example.org', { practices: { alpha: 'viewer' } });
    const elsewhere = browser();
    await elsewhere.signIn('forgetful@example.org', PASSWORD);
    const b = browser();
    const asked = await b.submit('/account/password-reset', '/account/password-reset', {
      email: 'Forgetful@example.org',
    });
    expect(asked.statusCode).toBe(200);
    const unknown = await b.submit('/account/password-reset', '/account/password-reset', {
      email: 'nobody.here@example.org',
    });
    expect(unknown.body.replace(/value="[^"]*"/g, '')).toBe(asked.body.replace(/value="[^"]*"/g, ''));
    const link = linkIn(await mail.next('forgetful@example.org'), PUBLIC_URL);
    expect((await b.get(path(link))).statusCode).toBe(200);
    const token = link.searchParams.get('token')!;
    const done = await b.submit(path(link), '/account/reset', { token, password: 'my new long password' });
    expect(done.statusCode, done.body).toBe(200);
    expect((await elsewhere.get(ALPHA_STATS)).statusCode).toBe(401);
    const again = await b.submit('/account/sign-in', '/account/reset', { token, password: 'an attacker password' });
    expect(again.statusCode).toBe(410);
    expect(again.body).toMatch(/already been used/);
    expect((await b.get(path(link))).statusCode).toBe(410);
    expect((await browser().signIn('forgetful@example.org', 'an attacker password')).statusCode).toBe(401);
    expect((await browser().signIn('forgetful@example.org', 'my new long password')).statusCode).toBe(303);
    // The single use is the table's rule: a second UPDATE is refused by its trigger.
    await expect(
      h.control.query(`UPDATE account_links SET used_at = now() WHERE email = 'forgetful@example.org'`),
    ).rejects.toThrow(/already used/);
  });
});

describe('two-factor', () => {
  test('enrolment, sign-in with a code, a replayed code refused, a recovery code once', async () => {
    await createPerson(h.control, 'careful@example.org', { practices: { alpha: 'viewer' } });
    const b = browser();
    await b.signIn('careful@example.org', PASSWORD);
    const enrol = await b.get('/account/two-factor');
    expect(enrol.statusCode).toBe(200);
    const secret = /Key: <code>([A-Z2-7 ]+)<\/code>/.exec(enrol.body)![1]!.replace(/ /g, '');
    const wrong = await b.submit('/account/two-factor', '/account/two-factor', {
      code: '000000' === totpCode(secret) ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(400);
    const on = await b.submit('/account/two-factor', '/account/two-factor', { code: totpCode(secret) });
    expect(on.statusCode, on.body).toBe(200);
    const codes = /<pre>([\s\S]*?)<\/pre>/.exec(on.body)![1]!.split('\n');
    expect(codes).toHaveLength(10);
    await b.signOut();

    expect((await browser().signIn('careful@example.org', PASSWORD)).statusCode).toBe(401);
    // Wait for a fresh step so that the code is not the one enrolment used.
    const used = totpCode(secret);
    while (totpCode(secret) === used) await new Promise((r) => setTimeout(r, 500));
    const code = totpCode(secret);
    expect((await browser().signIn('careful@example.org', PASSWORD, code)).statusCode).toBe(303);
    const replay = await browser().signIn('careful@example.org', PASSWORD, code);
    expect(replay.statusCode).toBe(401);
    expect((await browser().signIn('careful@example.org', PASSWORD, codes[0]!)).statusCode).toBe(303);
    expect((await browser().signIn('careful@example.org', PASSWORD, codes[0]!)).statusCode).toBe(401);
    expect((await browser().signIn('careful@example.org', PASSWORD, ` ${codes[1]!.toUpperCase()} `)).statusCode).toBe(
      303,
    );
  });

  test('an operator admin must enrol before reaching anything else', async () => {
    await createPerson(h.control, 'operator@example.org', { operatorAdmin: true });
    const b = browser();
    const res = await b.signIn('operator@example.org', PASSWORD);
    expect(res.headers.location).toBe('/account/two-factor');
    const blocked = await b.get('/v1/admin/practices');
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().error.message).toMatch(/two-factor/);
    const secret = /Key: <code>([A-Z2-7 ]+)<\/code>/
      .exec((await b.get('/account/two-factor')).body)![1]!
      .replace(/ /g, '');
    const on = await b.submit('/account/two-factor', '/account/two-factor', { code: totpCode(secret) });
    expect(on.statusCode).toBe(200);
    expect((await b.get('/v1/admin/practices')).statusCode).toBe(200);
  });
});

describe('roles', () => {
  test('a viewer cannot use owner routes; an owner manages only their own practice', async () => {
    const viewerId = await createPerson(h.control, 'viewer.a@example.org', { practices: { alpha: 'viewer' } });
    const betaMember = await createPerson(h.control, 'member.b@example.org', { practices: { beta: 'viewer' } });
    await createPerson(h.control, 'owner.a@example.org', { practices: { alpha: 'owner' } });
    const viewer = browser();
    await viewer.signIn('viewer.a@example.org', PASSWORD);
    for (const [method, url, payload] of [
      ['GET', '/v1/practices/alpha/users', undefined],
      ['POST', '/v1/practices/alpha/invitations', { email: 'x@example.org', role: 'owner' }],
      ['PATCH', `/v1/practices/alpha/users/${viewerId}`, { role: 'owner' }],
      ['DELETE', `/v1/practices/alpha/users/${viewerId}`, undefined],
      ['GET', '/v1/admin/practices', undefined],
      ['GET', '/v1/admin/audit-log', undefined],
    ] as const) {
      const res = await viewer.api(method, url, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    const owner = browser();
    await owner.signIn('owner.a@example.org', PASSWORD);
    expect((await owner.api('DELETE', `/v1/practices/beta/users/${betaMember}`)).statusCode).toBe(403);
    expect((await owner.api('PATCH', `/v1/practices/alpha/users/${betaMember}`, { role: 'owner' })).statusCode).toBe(
      404,
    );
    expect((await owner.api('GET', '/v1/practices/beta/users')).statusCode).toBe(403);
    expect((await owner.api('PATCH', `/v1/practices/alpha/users/${viewerId}`, { role: 'owner' })).statusCode).toBe(200);
    expect((await owner.api('DELETE', `/v1/practices/alpha/users/${viewerId}`)).statusCode).toBe(200);
    // Removal applies to the viewer's very next request.
    expect((await viewer.get(ALPHA_STATS)).statusCode).toBe(403);
  });

  test('a person in two practices reads both; a partner user sees no practice', async () => {
    await createPerson(h.control, 'both@example.org', { practices: { alpha: 'viewer', beta: 'owner' } });
    const both = browser();
    await both.signIn('both@example.org', PASSWORD);
    expect((await both.get(ALPHA_STATS)).statusCode).toBe(200);
    expect((await both.get(BETA_STATS)).statusCode).toBe(200);
    await createPerson(h.control, 'partner.user@example.org', { partners: ['acme'] });
    const partner = browser();
    await partner.signIn('partner.user@example.org', PASSWORD);
    expect((await partner.get(ALPHA_STATS)).statusCode).toBe(403);
    expect((await partner.get('/v1/practices/alpha/reports/monthly?month=2024-03')).statusCode).toBe(403);
    const own = await partner.get('/v1/partners/acme/exports?month=2024-03&format=ndjson');
    expect([401, 403]).not.toContain(own.statusCode);
    expect(own.statusCode).toBeLessThan(500);
    expect((await partner.get('/v1/partners/csrf-partner/exports?month=2024-03')).statusCode).toBe(403);
  });
});

describe('audit log', () => {
  test('records access changes; the operator reads and exports it; nobody can change it', async () => {
    const key = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: adminAuth,
      payload: { role: 'practice', scopeId: 'alpha' },
    });
    await h.app.inject({ method: 'DELETE', url: `/v1/admin/keys/${key.json().keyId}`, headers: adminAuth });
    const log = await h.app.inject({ url: '/v1/admin/audit-log?limit=10000', headers: adminAuth });
    expect(log.statusCode).toBe(200);
    const actions = new Set(log.json().entries.map((e: { action: string }) => e.action));
    for (const action of [
      'sign_in',
      'sign_in_failed',
      'sign_out',
      'invitation_sent',
      'invitation_accepted',
      'password_reset_requested',
      'password_reset',
      'role_changed',
      'membership_removed',
      'two_factor_enabled',
      'recovery_code_used',
      'key_created',
      'key_revoked',
    ])
      expect(actions, action).toContain(action);
    expect(log.body).not.toMatch(/192\.0\.2\./);
    expect(log.body).not.toMatch(/@example\.org/);
    const csv = await h.app.inject({ url: '/v1/admin/audit-log?format=csv', headers: adminAuth });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\n')[0]).toBe('seq,at,action,actor,target,practiceId,addressHash,detail');
    await expect(h.control.query(`UPDATE audit_log SET action = 'nothing'`)).rejects.toThrow(/append-only/);
    await expect(h.control.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(h.control.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  test('the privacy audit stays clean with accounts stored (their emails are exempt, visitors are not)', async () => {
    const report = await h.app.inject({ url: '/v1/admin/audit', headers: adminAuth });
    expect(report.statusCode, JSON.stringify(report.json().findings)).toBe(200);
    expect(report.json().exemptions).toEqual(
      expect.arrayContaining([expect.objectContaining({ table: 'control.users', column: 'email' })]),
    );
  });
});

describe('abuse', () => {
  test('reset requests from one address stop sending mail at the address limit', async () => {
    await createPerson(h.control, 'flooded@example.org');
    const b = browser();
    for (let i = 0; i < 12; i++)
      expect(
        (await b.submit('/account/password-reset', '/account/password-reset', { email: 'flooded@example.org' }))
          .statusCode,
      ).toBe(200);
    for (let i = 0; i < 12; i++) await mail.next('flooded@example.org');
    const over = await b.submit('/account/password-reset', '/account/password-reset', { email: 'flooded@example.org' });
    expect(over.statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(mail.received.filter((m) => m.to === 'flooded@example.org')).toHaveLength(12);
  });

  test('bad input to every account page is a 4xx or a page, never a 5xx', async () => {
    const token = 'A'.repeat(43);
    const bodies: unknown[] = [
      {},
      [],
      'x',
      { email: ['a@b.c', 'd@e.f'], password: { $ne: 1 } },
      { token: [token, token], password: 'p'.repeat(300) },
      { token: `${token}\u0000`, password: 'a long enough password' },
      { email: `${'a'.repeat(400)}@example.org`, password: 'x', code: '1'.repeat(100) },
      { code: null },
    ];
    for (const action of [
      '/account/sign-in',
      '/account/invitation',
      '/account/password-reset',
      '/account/reset',
      '/account/two-factor',
    ]) {
      for (const payload of bodies) {
        const b = browser();
        const csrf = csrfIn((await b.get('/account/sign-in')).body);
        const res = await h.app.inject({
          method: 'POST',
          url: action,
          remoteAddress: '198.51.100.7',
          headers: { ...b.jar.header(), 'csrf-token': csrf, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        expect(res.statusCode, `${action} ${JSON.stringify(payload)}`).toBeLessThan(500);
      }
    }
    for (const url of [
      '/account/invitation',
      '/account/invitation?token=short',
      `/account/invitation?token=${token}&token=${token}`,
      `/account/reset?token=${encodeURIComponent('<script>')}`,
      '/account/reset?token[a]=1',
    ]) {
      const res = await h.app.inject({ url });
      expect(res.statusCode, url).toBe(410);
      expect(res.body).not.toContain('<script>');
    }
    const forged = await h.app.inject({ url: ALPHA_STATS, headers: { cookie: 'confidant_session=../../etc' } });
    expect(forged.statusCode).toBe(401);
  });

  test('without OPERATOR_TWO_FACTOR_REQUIRED (the demo) an operator admin may work without two-factor', async () => {
    const demo = await startReporter('accountsdemo', { OPERATOR_TWO_FACTOR_REQUIRED: 'false' });
    try {
      await createPerson(demo.control, 'demo.admin@example.org', { operatorAdmin: true });
      const b = new Browser(demo.app);
      const res = await b.signIn('demo.admin@example.org', PASSWORD);
      expect(res.headers.location).toBe('/account');
      expect((await b.get('/v1/admin/practices')).statusCode).toBe(200);
    } finally {
      await demo.cleanup();
    }
  });
});

describe('cross-site forms', () => {
  test('a form body reaches only the account pages; Basic credentials a browser remembers need the CSRF token', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`x:${ADMIN_KEY}`).toString('base64')}` };
    const form = new URLSearchParams({ id: 'forged-partner', name: 'Forged' }).toString();
    const asForm = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/partners',
      headers: { ...adminAuth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });
    expect(asForm.statusCode).toBe(415);
    const withBasic = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/partners',
      headers: { ...basic, 'content-type': 'text/plain' },
      payload: JSON.stringify({ id: 'forged-partner', name: 'Forged' }),
    });
    expect(withBasic.statusCode).toBe(403);
    expect((await h.app.inject({ url: '/v1/admin/partners', headers: adminAuth })).body).not.toContain(
      'forged-partner',
    );
  });
});
