import { TABLES } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPerson, newSecret, PASSWORD, totpCode } from '../support/accounts-fixture.ts';
import { Browser } from '../support/account-session.ts';
import { startMailServer, type MailServer } from '../support/mail-server.ts';
import {
  adminAuth,
  bearer,
  practice,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

let h: ReporterHarness;
let mail: MailServer;
const keys: Record<string, string> = {};
/** Signed-in people (sessions), by who they are in the matrix. */
const people: Partial<Record<Who, Browser>> = {};

async function signedIn(email: string, code = ''): Promise<Browser> {
  const browser = new Browser(h.app);
  const res = await browser.signIn(email, PASSWORD, code);
  expect(res.statusCode, res.body).toBe(303);
  return browser;
}

async function createKey(body: object): Promise<{ key: string; keyId: string }> {
  const res = await h.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: adminAuth, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

beforeAll(async () => {
  mail = await startMailServer();
  h = await startReporter('authz', { SMTP_URL: mail.url });
  await savePractices(h.control, practice('alpha'), practice('beta'));
  for (const id of ['acme', 'other']) {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/partners',
      headers: adminAuth,
      payload: { id, name: `Partner ${id}` },
    });
    expect(res.statusCode).toBe(201);
  }
  keys.admin = (await createKey({ role: 'admin', label: 'ops' })).key;
  keys.practiceOwn = (await createKey({ role: 'practice', scopeId: 'alpha' })).key;
  keys.practiceOther = (await createKey({ role: 'practice', scopeId: 'beta' })).key;
  keys.partnerOwn = (await createKey({ role: 'partner', scopeId: 'acme' })).key;
  keys.partnerOther = (await createKey({ role: 'partner', scopeId: 'other' })).key;
  const revoked = await createKey({ role: 'admin' });
  await h.app.inject({ method: 'DELETE', url: `/v1/admin/keys/${revoked.keyId}`, headers: adminAuth });
  keys.revoked = revoked.key;

  const operatorSecret = newSecret();
  await createPerson(h.control, 'operator@example.org', { operatorAdmin: true, totpSecret: operatorSecret });
  await createPerson(h.control, 'owner.alpha@example.org', { practices: { alpha: 'owner' } });
  await createPerson(h.control, 'viewer.alpha@example.org', { practices: { alpha: 'viewer' } });
  await createPerson(h.control, 'owner.beta@example.org', { practices: { beta: 'owner' } });
  await createPerson(h.control, 'partner.acme@example.org', { partners: ['acme'] });
  people.operatorUser = await signedIn('operator@example.org', totpCode(operatorSecret));
  people.ownerOwn = await signedIn('owner.alpha@example.org');
  people.viewerOwn = await signedIn('viewer.alpha@example.org');
  people.ownerOther = await signedIn('owner.beta@example.org');
  people.partnerUserOwn = await signedIn('partner.acme@example.org');
  const gone = await signedIn('owner.alpha@example.org');
  const goneCookie = gone.jar.header();
  expect((await gone.signOut()).statusCode).toBe(303);
  signedOutCookie = goneCookie;
});

let signedOutCookie: Record<string, string> = {};

afterAll(async () => {
  await h?.cleanup();
  await mail?.close();
});

type Who =
  | 'admin'
  | 'practiceOwn'
  | 'practiceOther'
  | 'partnerOwn'
  | 'partnerOther'
  | 'revoked'
  | 'forged'
  | 'none'
  | 'operatorUser'
  | 'ownerOwn'
  | 'viewerOwn'
  | 'ownerOther'
  | 'partnerUserOwn'
  | 'signedOut';
const WHO: Who[] = [
  'admin',
  'practiceOwn',
  'practiceOther',
  'partnerOwn',
  'partnerOther',
  'revoked',
  'forged',
  'none',
  'operatorUser',
  'ownerOwn',
  'viewerOwn',
  'ownerOther',
  'partnerUserOwn',
  'signedOut',
];
const UNAUTHENTICATED: Who[] = ['revoked', 'forged', 'none', 'signedOut'];

let serial = 0;
type Route = {
  name: string;
  kind: 'admin' | 'practice' | 'owner' | 'partner' | 'dashboard';
  /** The route as registered, when `request` fills in its parameters. */
  route: string;
  request: () => { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string; payload?: object };
};
const ROUTES: Route[] = [
  {
    name: 'list practices',
    route: 'GET /v1/admin/practices',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/practices' }),
  },
  {
    name: 'get practice',
    route: 'GET /v1/admin/practices/:id',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/practices/alpha' }),
  },
  {
    name: 'add practice',
    route: 'POST /v1/admin/practices',
    kind: 'admin',
    request: () => {
      const id = `new-${++serial}`;
      return {
        method: 'POST',
        url: '/v1/admin/practices',
        payload: { id, siteKey: `site-${id}`, name: id, domains: [`${id}.example`], timezone: 'Europe/Berlin' },
      };
    },
  },
  {
    name: 'update practice',
    route: 'PATCH /v1/admin/practices/:id',
    kind: 'admin',
    request: () => ({ method: 'PATCH', url: '/v1/admin/practices/alpha', payload: { name: `Alpha ${++serial}` } }),
  },
  {
    name: 'list partners',
    route: 'GET /v1/admin/partners',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/partners' }),
  },
  {
    name: 'add partner',
    route: 'POST /v1/admin/partners',
    kind: 'admin',
    request: () => ({ method: 'POST', url: '/v1/admin/partners', payload: { id: `p-${++serial}`, name: 'P' } }),
  },
  {
    name: 'list keys',
    route: 'GET /v1/admin/keys',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/keys' }),
  },
  {
    name: 'create key',
    route: 'POST /v1/admin/keys',
    kind: 'admin',
    request: () => ({ method: 'POST', url: '/v1/admin/keys', payload: { role: 'practice', scopeId: 'beta' } }),
  },
  {
    name: 'revoke key',
    route: 'DELETE /v1/admin/keys/:keyId',
    kind: 'admin',
    request: () => ({ method: 'DELETE', url: '/v1/admin/keys/00000000000000ff' }),
  },
  {
    name: 'privacy audit',
    route: 'GET /v1/admin/audit',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/audit' }),
  },
  {
    name: 'list users',
    route: 'GET /v1/admin/users',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/users' }),
  },
  {
    name: 'invite anyone',
    route: 'POST /v1/admin/invitations',
    kind: 'admin',
    request: () => ({
      method: 'POST',
      url: '/v1/admin/invitations',
      payload: { email: `admin-invitee-${++serial}@example.org`, partnerId: 'acme' },
    }),
  },
  {
    name: 'audit log',
    route: 'GET /v1/admin/audit-log',
    kind: 'admin',
    request: () => ({ method: 'GET', url: '/v1/admin/audit-log' }),
  },
  {
    name: 'practice users',
    route: 'GET /v1/practices/:id/users',
    kind: 'owner',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/users' }),
  },
  {
    name: 'invite to practice',
    route: 'POST /v1/practices/:id/invitations',
    kind: 'owner',
    request: () => ({
      method: 'POST',
      url: '/v1/practices/alpha/invitations',
      payload: { email: `invitee-${++serial}@example.org`, role: 'viewer' },
    }),
  },
  {
    name: 'change role',
    route: 'PATCH /v1/practices/:id/users/:userId',
    kind: 'owner',
    request: () => ({ method: 'PATCH', url: '/v1/practices/alpha/users/00000000000000ff', payload: { role: 'owner' } }),
  },
  {
    name: 'remove member',
    route: 'DELETE /v1/practices/:id/users/:userId',
    kind: 'owner',
    request: () => ({ method: 'DELETE', url: '/v1/practices/alpha/users/00000000000000ff' }),
  },
  {
    name: 'monthly report',
    route: 'GET /v1/practices/:id/reports/monthly',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/reports/monthly?month=2024-03' }),
  },
  {
    name: 'monthly report html',
    route: 'GET /v1/practices/:id/reports/monthly',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/reports/monthly?month=2024-03&format=html' }),
  },
  {
    name: 'timeseries',
    route: 'GET /v1/practices/:id/stats/timeseries',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-31' }),
  },
  {
    name: 'breakdown',
    route: 'GET /v1/practices/:id/stats/breakdown',
    kind: 'practice',
    request: () => ({
      method: 'GET',
      url: '/v1/practices/alpha/stats/breakdown?from=2024-03-01&to=2024-03-31&dimension=page',
    }),
  },
  {
    name: 'range summary',
    route: 'GET /v1/practices/:id/stats/summary',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/stats/summary?from=2024-03-01&to=2024-03-31' }),
  },
  {
    name: 'current visits',
    route: 'GET /v1/practices/:id/stats/current',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/stats/current' }),
  },
  {
    name: 'value series',
    route: 'GET /v1/practices/:id/stats/value-series',
    kind: 'practice',
    request: () => ({
      method: 'GET',
      url: '/v1/practices/alpha/stats/value-series?from=2024-03-01&to=2024-03-31&dimension=page&value=%2F',
    }),
  },
  {
    name: 'breakdown csv',
    route: 'GET /v1/practices/:id/stats/breakdown.csv',
    kind: 'practice',
    request: () => ({
      method: 'GET',
      url: '/v1/practices/alpha/stats/breakdown.csv?from=2024-03-01&to=2024-03-31&dimension=page',
    }),
  },
  {
    name: 'dashboard config',
    route: 'GET /v1/dashboard/config',
    kind: 'dashboard',
    request: () => ({ method: 'GET', url: '/v1/dashboard/config' }),
  },
  {
    name: 'dashboard page',
    route: 'GET /dashboard',
    kind: 'dashboard',
    request: () => ({ method: 'GET', url: '/dashboard' }),
  },
  {
    name: 'create share link',
    route: 'POST /v1/practices/:id/share-links',
    kind: 'owner',
    request: () => ({ method: 'POST', url: '/v1/practices/alpha/share-links', payload: { label: 'board' } }),
  },
  {
    name: 'list share links',
    route: 'GET /v1/practices/:id/share-links',
    kind: 'owner',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/share-links' }),
  },
  {
    name: 'revoke share link',
    route: 'DELETE /v1/practices/:id/share-links/:linkId',
    kind: 'owner',
    request: () => ({ method: 'DELETE', url: '/v1/practices/alpha/share-links/00000000000000ff' }),
  },
  {
    name: 'list goals',
    route: 'GET /v1/admin/practices/:id/goals',
    kind: 'owner',
    request: () => ({ method: 'GET', url: '/v1/admin/practices/alpha/goals' }),
  },
  {
    name: 'add goal',
    route: 'POST /v1/admin/practices/:id/goals',
    kind: 'owner',
    request: () => ({
      method: 'POST',
      url: '/v1/admin/practices/alpha/goals',
      payload: { id: `g-${++serial}`, name: 'Contact', kind: 'page', pattern: '/contact/thanks' },
    }),
  },
  {
    name: 'update goal',
    route: 'PUT /v1/admin/practices/:id/goals/:goalId',
    kind: 'owner',
    request: () => ({
      method: 'PUT',
      url: '/v1/admin/practices/alpha/goals/nope',
      payload: { name: 'Contact', kind: 'page', pattern: '/contact/thanks' },
    }),
  },
  {
    name: 'remove goal',
    route: 'DELETE /v1/admin/practices/:id/goals/:goalId',
    kind: 'owner',
    request: () => ({ method: 'DELETE', url: '/v1/admin/practices/alpha/goals/nope' }),
  },
  {
    name: 'goal stats',
    route: 'GET /v1/practices/:id/stats/goals',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/stats/goals?from=2024-03-01&to=2024-03-31' }),
  },
  {
    name: 'one goal stats',
    route: 'GET /v1/practices/:id/stats/goals/:goalId',
    kind: 'practice',
    request: () => ({ method: 'GET', url: '/v1/practices/alpha/stats/goals/nope?from=2024-03-01&to=2024-03-31' }),
  },
  {
    name: 'partner export',
    route: 'GET /v1/partners/:id/exports',
    kind: 'partner',
    request: () => ({ method: 'GET', url: '/v1/partners/acme/exports?month=2024-03&format=ndjson' }),
  },
];

function allowed(who: Who, kind: Route['kind']): boolean {
  if (who === 'admin' || who === 'operatorUser') return true;
  // Whoever may read a practice opens its dashboard: its own, for a practice key or member.
  if (kind === 'dashboard')
    return ['practiceOwn', 'practiceOther', 'ownerOwn', 'viewerOwn', 'ownerOther'].includes(who);
  if (kind === 'practice') return ['practiceOwn', 'ownerOwn', 'viewerOwn'].includes(who);
  if (kind === 'owner') return who === 'ownerOwn';
  if (kind === 'partner') return who === 'partnerOwn' || who === 'partnerUserOwn';
  return false;
}

async function headersFor(who: Who): Promise<Record<string, string>> {
  const person = people[who];
  // A person's session: its cookies and the CSRF token a page would give it.
  if (person) return person.apiHeaders();
  if (who === 'signedOut') return signedOutCookie;
  if (who === 'none') return {};
  if (who === 'forged') return bearer(keys.partnerOwn!.replace(/.$/, (c) => (c === '0' ? '1' : '0')));
  return bearer(keys[who]!);
}

/** Routes anyone may call: they carry no figures, or carry their own credential. */
const PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /dashboard/app.js',
  'GET /dashboard/app.css',
  // A share link's token is its own credential (tests/reporter/share-links.test.ts).
  'GET /share/:token',
  'POST /v1/share-links/unlock',
];
/** The pages for people, which look at the session themselves (tests/accounts). */
const isAccountPage = (route: string) => / \/account(\/|$)| \/v1\/session$| \/console$/.test(route);

describe('the authorization matrix', () => {
  test('lists every route the reporter serves', () => {
    // printRoutes draws a radix tree: a line's depth is its indent (4 columns a level), its
    // path the segments above it joined, and `(METHODS)` marks a route.
    const stack: string[] = [];
    const served = h.app
      .printRoutes()
      .split('\n')
      .flatMap((line) => {
        const at = line.search(/[^\s│├└─]/);
        if (at < 0) return [];
        const m = /^(.*?)(?: \(([^)]+)\))?$/.exec(line.slice(at))!;
        stack.length = at / 4;
        stack.push(m[1]!);
        const path = stack.join('');
        return m[2]
          ? m[2]
              .split(', ')
              .filter((verb) => verb !== 'HEAD')
              .map((verb) => `${verb} ${path}`)
          : [];
      })
      .filter((r) => !/ \/docs(\/|$)/.test(r) && !isAccountPage(r));
    const listed = new Set([...ROUTES.map((r) => r.route), ...PUBLIC]);
    expect(served.length).toBeGreaterThan(10);
    expect(served.filter((r) => !listed.has(r))).toEqual([]);
  });
});

describe('authorization matrix: every route × every key and every role of a person', () => {
  for (const route of ROUTES) {
    for (const who of WHO) {
      test(`${route.name} as ${who}`, async () => {
        const req = route.request();
        const res = await h.app.inject({ ...req, headers: await headersFor(who) });
        if (route.route === 'GET /dashboard' && (who === 'none' || who === 'signedOut')) {
          // A person without a session is sent to sign in.
          expect(res.statusCode).toBe(303);
          expect(res.headers.location).toBe('/account/sign-in');
        } else if (UNAUTHENTICATED.includes(who)) {
          expect(res.statusCode).toBe(401);
          expect(res.json().error.code).toBe('unauthorized');
        } else if (allowed(who, route.kind)) {
          // allowed: anything but an auth refusal or a server error (the revoke target and
          // the export's practice quorum legitimately answer 404 / 409)
          expect(res.statusCode, res.body).toBeLessThan(500);
          expect([401, 403]).not.toContain(res.statusCode);
        } else {
          expect(res.statusCode, res.body).toBe(403);
          expect(res.json().error.code).toBe('forbidden');
        }
      });
    }
  }
});

describe('keys', () => {
  test('the secret is shown once, never listed, and last use is recorded', async () => {
    const created = await createKey({ role: 'practice', scopeId: 'alpha', label: 'front desk' });
    expect(created.key).toMatch(/^cf_[0-9a-f]{16}_[0-9a-f]{64}$/);
    const list = await h.app.inject({ url: '/v1/admin/keys', headers: adminAuth });
    expect(list.body).not.toContain(created.key.split('_')[2]);
    expect(list.body).not.toMatch(/"hash"/);
    const used = await h.app.inject({
      url: '/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-02',
      headers: bearer(created.key),
    });
    expect(used.statusCode).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    await expect
      .poll(
        async () =>
          (await h.app.inject({ url: '/v1/admin/keys', headers: adminAuth }))
            .json()
            .keys.find((k: { keyId: string }) => k.keyId === created.keyId)?.lastUsedDay,
      )
      .toBe(today);
  });

  test('revocation applies to the very next request and survives later writes', async () => {
    const created = await createKey({ role: 'practice', scopeId: 'alpha' });
    const url = '/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-02';
    expect((await h.app.inject({ url, headers: bearer(created.key) })).statusCode).toBe(200);
    const revoke = await h.app.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.keyId}`, headers: adminAuth });
    expect(revoke.json()).toEqual({ keyId: created.keyId, revoked: true });
    expect((await h.app.inject({ url, headers: bearer(created.key) })).statusCode).toBe(401);
    // A last-used write from another process that read the key before it was revoked must not revive it.
    const { KeyStore } = await import('@confidant/reporter');
    const keys = new KeyStore(h.control);
    const stale = { ...(await keys.get(created.keyId))!, revoked: false, lastUsedDay: null };
    await keys.touch(stale, new Date(Date.now() + 86_400_000));
    expect((await keys.get(created.keyId))!.revoked).toBe(true);
    expect((await h.app.inject({ url, headers: bearer(created.key) })).statusCode).toBe(401);
  });

  test('key creation is validated', async () => {
    const cases: Array<[object, number, string]> = [
      [{ role: 'practice' }, 400, 'invalid_parameter'],
      [{ role: 'admin', scopeId: 'alpha' }, 400, 'invalid_parameter'],
      [{ role: 'root' }, 400, 'invalid_parameter'],
      [{ role: 'practice', scopeId: 'nobody' }, 404, 'not_found'],
      [{ role: 'partner', scopeId: 'nobody' }, 404, 'not_found'],
    ];
    for (const [payload, status, code] of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: adminAuth, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    const broken = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: { ...adminAuth, 'content-type': 'application/json' },
      payload: '{"role":',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_json');
  });

  test('practice admin: duplicate add is 409, bad update is 400, update is visible', async () => {
    const dup = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/practices',
      headers: adminAuth,
      payload: practice('alpha'),
    });
    expect(dup.statusCode).toBe(409);
    const bad = await h.app.inject({
      method: 'PATCH',
      url: '/v1/admin/practices/alpha',
      headers: adminAuth,
      payload: { timezone: 'Mars/Olympus' },
    });
    expect(bad.statusCode).toBe(400);
    const ok = await h.app.inject({
      method: 'PATCH',
      url: '/v1/admin/practices/alpha',
      headers: adminAuth,
      payload: { shareWithPartners: true, exitAllowlist: ['maps.google.com'] },
    });
    expect(ok.statusCode).toBe(200);
    const got = (await h.app.inject({ url: '/v1/admin/practices/alpha', headers: adminAuth })).json();
    expect(got.shareWithPartners).toBe(true);
    expect(got.exitAllowlist).toEqual(['maps.google.com']);
  });
});

describe('operations', () => {
  test('health, readiness, metrics and docs need no key; unknown routes are JSON 404s', async () => {
    expect((await h.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await h.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const metrics = await h.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(
      /reporter_http_requests_total\{route="\/v1\/practices\/:id\/reports\/monthly",method="GET",status="200"\}/,
    );
    const spec = (await h.app.inject({ url: '/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/practices/{id}/reports/monthly', '/v1/partners/{id}/exports', '/v1/admin/keys']),
    );
    expect((await h.app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
    const missing = await h.app.inject({ url: '/v1/nothing', headers: adminAuth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });

  test('rate limit is per key', async () => {
    const limited = await startReporter('ratelimit', { REPORTER_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      await savePractices(limited.control, practice('alpha'));
      const url = '/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-02';
      for (let i = 0; i < 3; i++) expect((await limited.app.inject({ url, headers: adminAuth })).statusCode).toBe(200);
      const over = await limited.app.inject({ url, headers: adminAuth });
      expect(over.statusCode).toBe(429);
      expect(over.json().error.code).toBe('rate_limited');
      const created = await limited.app.inject({
        method: 'POST',
        url: '/v1/admin/keys',
        headers: adminAuth,
        payload: { role: 'practice', scopeId: 'alpha' },
      });
      expect(created.statusCode).toBe(429);
      const { key } = await new (await import('@confidant/reporter')).KeyStore(limited.control).create(
        'practice',
        'alpha',
        '',
      );
      expect((await limited.app.inject({ url, headers: bearer(key) })).statusCode).toBe(200);
    } finally {
      await limited.cleanup();
    }
  });
});

describe('keys only in the Authorization header', () => {
  test('a browser can send the key as the Basic password; the query string never authenticates', async () => {
    const url = '/v1/practices/alpha/reports/monthly?month=2024-03&format=html';
    const basic = (key: string | undefined) => ({
      authorization: `Basic ${Buffer.from(`report:${key ?? ''}`).toString('base64')}`,
    });
    const challenge = await h.app.inject({ url });
    expect(challenge.statusCode).toBe(401);
    expect(challenge.headers['www-authenticate']).toMatch(/Basic realm=/);
    const ok = await h.app.inject({ url, headers: basic(keys.practiceOwn) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(
      (
        await h.app.inject({
          url: '/v1/practices/beta/reports/monthly?month=2024-03',
          headers: basic(keys.practiceOwn),
        })
      ).statusCode,
    ).toBe(403);
    expect((await h.app.inject({ url, headers: basic(keys.revoked) })).statusCode).toBe(401);
    expect((await h.app.inject({ url: `${url}&key=${keys.admin}` })).statusCode).toBe(401);
  });
});

describe('privacy audit endpoint', () => {
  test('answers 200 with the table inventory when clean and 409 with the finding when an identifier is stored', async () => {
    const clean = await h.app.inject({ url: '/v1/admin/audit', headers: adminAuth });
    expect(clean.statusCode, clean.body).toBe(200);
    expect(clean.json().tables.map((t: { table: string }) => t.table)).toEqual(
      expect.arrayContaining([TABLES.rollupDaily, 'processor_ledger']),
    );
    await h.db.command('CREATE TABLE audit_plant (note String) ENGINE = MergeTree() ORDER BY tuple()');
    await h.db.command("INSERT INTO audit_plant VALUES ('visitor from 198.51.100.23')");
    try {
      const dirty = await h.app.inject({ url: '/v1/admin/audit', headers: adminAuth });
      expect(dirty.statusCode).toBe(409);
      expect(dirty.json().findings).toEqual([
        expect.objectContaining({ kind: 'value-pattern', table: 'audit_plant', column: 'note' }),
      ]);
      expect(dirty.body).not.toContain('198.51.100.23');
    } finally {
      await h.db.command('DROP TABLE audit_plant');
    }
  });

  test('scans the control plane too: an email typed into a key label is a finding', async () => {
    const clean = await h.app.inject({ url: '/v1/admin/audit', headers: adminAuth });
    expect(clean.json().tables.map((t: { table: string }) => t.table)).toEqual(
      expect.arrayContaining(['control.api_keys', 'control.practices']),
    );
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: adminAuth,
      payload: { role: 'practice', scopeId: 'alpha', label: 'for jane.doe@example.org' },
    });
    expect(created.statusCode).toBe(201);
    try {
      const dirty = await h.app.inject({ url: '/v1/admin/audit', headers: adminAuth });
      expect(dirty.statusCode).toBe(409);
      expect(dirty.json().findings).toEqual([
        expect.objectContaining({ kind: 'value-pattern', table: 'control.api_keys', column: 'label' }),
      ]);
      expect(dirty.body).not.toContain('jane.doe');
    } finally {
      await h.control.query('DELETE FROM api_keys WHERE key_id = $1', [created.json().keyId]);
    }
  });
});
