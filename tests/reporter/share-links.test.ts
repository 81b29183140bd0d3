import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  adminAuth,
  bearer,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

// Share links: one practice's figures, read-only, and nothing else; expiring, revocable, password-throttled.
let h: ReporterHarness;
const summary = (id: string) => `/v1/practices/${id}/stats/summary?from=2024-04-01&to=2024-04-30`;

async function createLink(practiceId: string, body: object = {}) {
  const res = await h.app.inject({
    method: 'POST',
    url: `/v1/practices/${practiceId}/share-links`,
    headers: adminAuth,
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { linkId: string; token: string; path: string; hasPassword: boolean; expiresAt: string };
}

const unlock = (token: string, password: string) =>
  h.app.inject({ method: 'POST', url: '/v1/share-links/unlock', payload: { token, password } });

beforeAll(async () => {
  h = await startReporter('share-links');
  await savePractices(h.control, practice('alpha'), practice('beta'));
  await new RollupFixture()
    .daily({ practiceId: 'alpha', day: '2024-04-02', dim: 'total', pageviews: 30, visits: 10 })
    .daily({ practiceId: 'beta', day: '2024-04-02', dim: 'total', pageviews: 70, visits: 20 })
    .flush(h.db);
});

afterAll(async () => h?.cleanup());

describe('a share link without a password', () => {
  test("reads its practice's figures and its dashboard, and nothing else", async () => {
    const link = await createLink('alpha', { label: 'board meeting' });
    expect(link.token).toMatch(/^cs_[0-9a-f]{16}_[0-9a-f]{64}$/);
    const page = await h.app.inject({ url: link.path });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");

    const own = await h.app.inject({ url: summary('alpha'), headers: bearer(link.token) });
    expect(own.statusCode).toBe(200);
    expect(own.json().totals.visits.value).toBe(10);
    const config = await h.app.inject({ url: '/v1/dashboard/config', headers: bearer(link.token) });
    expect(config.json().practices).toEqual([{ id: 'alpha', name: 'Practice alpha' }]);

    for (const url of [
      summary('beta'),
      '/v1/dashboard/config?practice=beta',
      '/v1/admin/practices',
      '/v1/practices/alpha/share-links',
      '/v1/partners/acme/exports?month=2024-04',
    ]) {
      const res = await h.app.inject({ url, headers: bearer(link.token) });
      expect([403, 404], `${url}: ${res.body}`).toContain(res.statusCode);
    }
    const mint = await h.app.inject({
      method: 'POST',
      url: '/v1/practices/alpha/share-links',
      headers: bearer(link.token),
      payload: {},
    });
    expect(mint.statusCode).toBe(403);
  });

  test('is listed without its token or hash; a tampered token opens nothing', async () => {
    const link = await createLink('alpha');
    const list = await h.app.inject({ url: '/v1/practices/alpha/share-links', headers: adminAuth });
    expect(list.body).toContain(link.linkId);
    expect(list.body).not.toContain(link.token.slice(20));
    expect(list.body).not.toMatch(/hash/);
    const flipped = link.token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect((await h.app.inject({ url: summary('alpha'), headers: bearer(flipped) })).statusCode).toBe(401);
    expect((await h.app.inject({ url: `/share/${flipped}` })).statusCode).toBe(404);
  });

  test('stops working when revoked or expired', async () => {
    const revoked = await createLink('alpha');
    const del = await h.app.inject({
      method: 'DELETE',
      url: `/v1/practices/alpha/share-links/${revoked.linkId}`,
      headers: adminAuth,
    });
    expect(del.statusCode).toBe(204);
    expect((await h.app.inject({ url: summary('alpha'), headers: bearer(revoked.token) })).statusCode).toBe(401);
    expect((await h.app.inject({ url: revoked.path })).statusCode).toBe(404);
    // Another practice's link id cannot be revoked through this practice.
    const betaLink = await createLink('beta');
    const cross = await h.app.inject({
      method: 'DELETE',
      url: `/v1/practices/alpha/share-links/${betaLink.linkId}`,
      headers: adminAuth,
    });
    expect(cross.statusCode).toBe(404);
    expect((await h.app.inject({ url: summary('beta'), headers: bearer(betaLink.token) })).statusCode).toBe(200);

    const expiring = await createLink('alpha');
    await h.control.query(
      "UPDATE share_links SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE link_id = $1",
      [expiring.linkId],
    );
    expect((await h.app.inject({ url: summary('alpha'), headers: bearer(expiring.token) })).statusCode).toBe(401);
    expect((await h.app.inject({ url: expiring.path })).statusCode).toBe(404);
  });

  test('refuses bad input with a machine-readable 400', async () => {
    for (const payload of [
      { expiresInDays: 0 },
      { expiresInDays: 367 },
      { password: 'short' },
      { role: 'admin' },
      // PostgreSQL text cannot hold NUL: refused up front rather than failing in the INSERT.
      { label: 'board\u0000meeting' },
    ]) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/practices/alpha/share-links',
        headers: adminAuth,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBeTypeOf('string');
    }
    const missing = await h.app.inject({
      method: 'POST',
      url: '/v1/practices/nobody/share-links',
      headers: adminAuth,
      payload: {},
    });
    expect(missing.statusCode).toBe(404);
  });
});

describe('a share link with a password', () => {
  test('grants nothing by its token alone; the password buys an access token that dies with the link', async () => {
    const link = await createLink('alpha', { password: 'correct horse battery' });
    expect(link.hasPassword).toBe(true);
    expect((await h.app.inject({ url: link.path })).statusCode).toBe(200);
    // The page of a protected link names no practice before the password.
    expect((await h.app.inject({ url: link.path })).body).not.toContain('Practice alpha');
    expect((await h.app.inject({ url: summary('alpha'), headers: bearer(link.token) })).statusCode).toBe(401);

    const wrong = await unlock(link.token, 'incorrect horse');
    expect(wrong.statusCode).toBe(401);
    const right = await unlock(link.token, 'correct horse battery');
    expect(right.statusCode).toBe(200);
    const { accessToken, expiresAt } = right.json();
    expect(accessToken).toMatch(/^cu_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.parse(link.expiresAt));
    expect((await h.app.inject({ url: summary('alpha'), headers: bearer(accessToken) })).statusCode).toBe(200);
    expect((await h.app.inject({ url: summary('beta'), headers: bearer(accessToken) })).statusCode).toBe(403);

    await h.app.inject({ method: 'DELETE', url: `/v1/practices/alpha/share-links/${link.linkId}`, headers: adminAuth });
    expect((await h.app.inject({ url: summary('alpha'), headers: bearer(accessToken) })).statusCode).toBe(401);
    expect((await unlock(link.token, 'correct horse battery')).statusCode).toBe(404);
  });

  test("revoking through another practice is a 404 and leaves that link's unlocks working", async () => {
    const betaLink = await createLink('beta', { password: 'correct horse battery' });
    const { accessToken } = (await unlock(betaLink.token, 'correct horse battery')).json();
    const cross = await h.app.inject({
      method: 'DELETE',
      url: `/v1/practices/alpha/share-links/${betaLink.linkId}`,
      headers: adminAuth,
    });
    expect(cross.statusCode).toBe(404);
    expect((await h.app.inject({ url: summary('beta'), headers: bearer(accessToken) })).statusCode).toBe(200);
  });

  test('throttles guesses per link, also when they arrive all at once', async () => {
    const link = await createLink('alpha', { password: 'correct horse battery' });
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => unlock(link.token, `guess number ${i}`)));
    const codes = guesses.map((g) => g.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
    // Past the limit even the right password waits for the window.
    const right = await unlock(link.token, 'correct horse battery');
    expect(right.statusCode).toBe(429);
    expect(right.headers['retry-after']).toBe('900');
    // Other links are not affected.
    const other = await createLink('alpha', { password: 'another good password' });
    expect((await unlock(other.token, 'another good password')).statusCode).toBe(200);
    // Only hashes at rest.
    const [row] = await h.control.query<{ password_hash: string; token_hash: string }>(
      'SELECT password_hash, token_hash FROM share_links WHERE link_id = $1',
      [other.linkId],
    );
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
    expect(row!.token_hash).not.toBe(other.token.split('_')[2]);
  });
});
