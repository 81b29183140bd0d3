import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Browser } from '../support/account-session.ts';
import { linkIn, startMailServer, type MailServer } from '../support/mail-server.ts';
import { practice, savePractices, startReporter, type ReporterHarness } from '../support/reporter-fixture.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PUBLIC_URL = 'http://reporter.test';
let h: ReporterHarness;
let mail: MailServer;

type Run = { code: number; stdout: string; stderr: string };

async function confidant(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['admin/src/confidant.ts', ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          CLICKHOUSE_DATABASE: h.config.clickhouse.database,
          POSTGRES_URL: h.config.controlPlane.url,
          SMTP_URL: mail.url,
          REPORTER_PUBLIC_URL: PUBLIC_URL,
          LOG_LEVEL: 'silent',
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  mail = await startMailServer();
  h = await startReporter('userscli', { SMTP_URL: mail.url, REPORTER_PUBLIC_URL: PUBLIC_URL });
  await savePractices(h.control, practice('alpha'));
});
afterAll(async () => {
  await h?.cleanup();
  await mail?.close();
});

describe('confidant user and audit-log', () => {
  test('create an operator admin, sign in with the printed password, and be sent to two-factor enrolment', async () => {
    const created = await confidant('user', 'create', '--admin', '--email', ' Ops@Example.org ');
    expect(created.code, created.stderr).toBe(0);
    const out = JSON.parse(created.stdout);
    expect(out).toMatchObject({ email: 'ops@example.org', operatorAdmin: true });
    expect(created.stderr).toMatch(/shown only once/);
    const b = new Browser(h.app);
    const signIn = await b.signIn('ops@example.org', out.password);
    expect(signIn.statusCode).toBe(303);
    expect(signIn.headers.location).toBe('/account/two-factor');
    const [row] = await h.control.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [
      'ops@example.org',
    ]);
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
  });

  test('invite by mail; the link it sends works', async () => {
    const sent = await confidant(
      'user',
      'invite',
      '--email',
      'dr.owner@example.org',
      '--practice',
      'alpha',
      '--role',
      'owner',
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      email: 'dr.owner@example.org',
      practiceId: 'alpha',
      role: 'owner',
    });
    const link = linkIn(await mail.next('dr.owner@example.org'), PUBLIC_URL);
    const b = new Browser(h.app);
    const accepted = await b.submit(`${link.pathname}${link.search}`, '/account/invitation', {
      token: link.searchParams.get('token')!,
      password: 'a long owner password',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect((await b.signIn('dr.owner@example.org', 'a long owner password')).statusCode).toBe(303);
    expect((await b.api('GET', '/v1/practices/alpha/users')).statusCode).toBe(200);
  });

  test('usage errors and unknown practices are exit codes, not crashes', async () => {
    expect((await confidant('user', 'invite', '--email', 'x@example.org')).code).toBe(2);
    expect((await confidant('user', 'invite', '--email', 'x@example.org', '--practice', 'alpha')).code).toBe(2);
    expect((await confidant('user', 'invite', '--email', 'not-an-email', '--partner', 'p')).code).toBe(2);
    expect((await confidant('user', 'create', '--email', 'x@example.org')).code).toBe(2);
    const unknown = await confidant(
      'user',
      'invite',
      '--email',
      'x@example.org',
      '--practice',
      'nowhere',
      '--role',
      'viewer',
    );
    expect(unknown.code).toBe(3);
  });

  test('audit-log prints and exports what happened', async () => {
    const json = await confidant('audit-log');
    expect(json.code, json.stderr).toBe(0);
    const actions = JSON.parse(json.stdout).map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['operator_admin_created', 'invitation_sent', 'invitation_accepted', 'sign_in']),
    );
    const csv = await confidant('audit-log', '--format', 'csv', '--after', '1');
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('seq,at,action,actor,target,practiceId,addressHash,detail');
    expect(lines.slice(1).every((l) => Number(l.split(',')[0]) > 1)).toBe(true);
    const users = JSON.parse((await confidant('user', 'list')).stdout);
    expect(users.map((u: { email: string }) => u.email)).toEqual(['dr.owner@example.org', 'ops@example.org']);
  });
});
