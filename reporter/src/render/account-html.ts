import { createHash } from 'node:crypto';
import { esc } from './escape.ts';

// One small stylesheet, inline and allowed by its hash: no external assets, no 'unsafe-inline'.
const ACCOUNT_CSS = `
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d0d4da;border-radius:6px}
main.wide{max-width:72rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.25rem 0}
h1{font-size:1.4rem;margin-top:0}
label{display:block;margin-top:1rem;font-weight:600}
input{display:block;width:100%;padding:.6rem;margin-top:.25rem;font:inherit;border:1px solid #6b7280;border-radius:4px}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:4px;cursor:pointer}
button:focus,input:focus,a:focus{outline:3px solid #f59e0b;outline-offset:2px}
.alert{padding:.75rem;border-radius:4px;background:#fdecea;color:#7f1d1d;border:1px solid #f5b5b0}
.notice{padding:.75rem;border-radius:4px;background:#e8f5e9;color:#14532d;border:1px solid #a7d7b0}
.hint{color:#4b5563;font-size:.9rem;font-weight:400}
code,pre{font-size:.95rem;overflow-wrap:anywhere;white-space:pre-wrap}
a{color:#1d4ed8}
ul{padding-left:1.2rem}
@media (max-width:400px){main{margin:0;border:0;border-radius:0}}
`;

export const ACCOUNT_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(ACCOUNT_CSS).digest('base64')}'`,
  "img-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

type Messages = { error?: string | undefined; notice?: string | undefined };

function page(title: string, body: string, messages: Messages = {}, wide = false): string {
  const alert = messages.error ? `<p class="alert" role="alert">${esc(messages.error)}</p>` : '';
  const notice = messages.notice ? `<p class="notice" role="status">${esc(messages.notice)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – Confidant</title>
<style>${ACCOUNT_CSS}</style></head>
<body><main${wide ? ' class="wide"' : ''}><h1>${esc(title)}</h1>${alert}${notice}${body}</main></body></html>`;
}

const csrfField = (csrf: string) => `<input type="hidden" name="_csrf" value="${esc(csrf)}">`;
const hidden = (name: string, value: string) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;

export function signInPage(o: Messages & { csrf: string; email?: string }): string {
  return page(
    'Sign in',
    `<form method="post" action="/account/sign-in">${csrfField(o.csrf)}
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${esc(o.email ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="code">Two-factor code <span class="hint">(if you turned it on; or a recovery code)</span></label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code">
<button type="submit">Sign in</button></form>
<p><a href="/account/password-reset">Forgot your password?</a></p>`,
    o,
  );
}

export type AccountSummary = {
  email: string;
  operatorAdmin: boolean;
  practices: Array<{ id: string; role: string }>;
  partners: string[];
};

export function accountPage(o: Messages & { csrf: string; account: AccountSummary; month: string }): string {
  const practices = o.account.practices.length
    ? `<h2>Practices</h2><ul>${o.account.practices
        .map(
          (p) =>
            `<li><a href="/dashboard?practice=${esc(encodeURIComponent(p.id))}">${esc(p.id)}</a> (${esc(p.role)}): <a href="/v1/practices/${esc(encodeURIComponent(p.id))}/reports/monthly?month=${esc(o.month)}&amp;format=html">monthly report</a></li>`,
        )
        .join('')}</ul>`
    : '';
  const partners = o.account.partners.length
    ? `<h2>Partner exports</h2><ul>${o.account.partners
        .map(
          (id) =>
            `<li><a href="/v1/partners/${esc(encodeURIComponent(id))}/exports?month=${esc(o.month)}">${esc(id)}</a></li>`,
        )
        .join('')}</ul>`
    : '';
  const admin = o.account.operatorAdmin
    ? '<p>You are an operator admin: <a href="/console">operator console</a>, <a href="/dashboard">dashboards</a>.</p>'
    : '';
  return page(
    'Your account',
    `<p>Signed in as <strong>${esc(o.account.email)}</strong>.</p>${admin}${practices}${partners}
<p><a href="/account/two-factor">Two-factor authentication</a></p>
<form method="post" action="/account/sign-out">${csrfField(o.csrf)}<button type="submit">Sign out</button></form>`,
    o,
  );
}

export function invitationPage(o: Messages & { csrf: string; token: string; needsPassword: boolean }): string {
  const password = o.needsPassword
    ? `<label for="password">Choose a password <span class="hint">(at least 12 characters)</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>`
    : '<p>Your account exists: accepting adds this access to it.</p>';
  return page(
    'Accept your invitation',
    `<form method="post" action="/account/invitation">${csrfField(o.csrf)}${hidden('token', o.token)}${password}
<button type="submit">Accept invitation</button></form>`,
    o,
  );
}

export function resetRequestPage(o: Messages & { csrf: string }): string {
  return page(
    'Reset your password',
    `<form method="post" action="/account/password-reset">${csrfField(o.csrf)}
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<button type="submit">Send a reset link</button></form>
<p><a href="/account/sign-in">Back to sign-in</a></p>`,
    o,
  );
}

export function resetPage(o: Messages & { csrf: string; token: string }): string {
  return page(
    'Choose a new password',
    `<form method="post" action="/account/reset">${csrfField(o.csrf)}${hidden('token', o.token)}
<label for="password">New password <span class="hint">(at least 12 characters)</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
<button type="submit">Set password</button></form>`,
    o,
  );
}

export function twoFactorPage(
  o: Messages & { csrf: string } & ({ enabled: true } | { enabled: false; secret: string; uri: string }),
): string {
  if (o.enabled)
    return page(
      'Two-factor authentication',
      '<p>Two-factor authentication is on.</p><p><a href="/account">Back</a></p>',
      o,
    );
  return page(
    'Turn on two-factor authentication',
    `<p>Add this key to your authenticator app (type it in, or paste the link), then enter the 6-digit code it shows.</p>
<p>Key: <code>${esc(o.secret.replace(/(.{4})/g, '$1 ').trim())}</code></p>
<p>Link: <code>${esc(o.uri)}</code></p>
<form method="post" action="/account/two-factor">${csrfField(o.csrf)}
<label for="code">Code from the app</label><input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9]{6}">
<button type="submit">Turn on</button></form>`,
    o,
  );
}

export function recoveryCodesPage(codes: string[]): string {
  return page(
    'Two-factor authentication is on',
    `<p>Keep these recovery codes somewhere safe. Each works once in place of a code, and they are shown only now.</p>
<pre>${codes.map(esc).join('\n')}</pre><p><a href="/account">Continue</a></p>`,
  );
}

export function messagePage(title: string, text: string, link: { href: string; label: string }, m: Messages = {}) {
  return page(title, `<p>${esc(text)}</p><p><a href="${esc(link.href)}">${esc(link.label)}</a></p>`, m);
}

export type ConsoleData = {
  practices: Array<{
    id: string;
    name: string;
    domains: string[];
    timezone: string;
    cookieMode: boolean;
    pageClasses: Array<{ name: string; mode: string }>;
    events: Array<{ name: string }>;
  }>;
  partners: Array<{ id: string; name: string }>;
  keys: Array<{
    keyId: string;
    role: string;
    scopeId: string | null;
    label: string;
    revoked: boolean;
    lastUsedDay: string | null;
  }>;
  users: Array<{ email: string; operatorAdmin: boolean; twoFactor: boolean }>;
  audit: { findings: Array<{ kind: string; table?: string; column?: string; detail?: string }> } | { error: string };
};

function table(caption: string, head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')
    : `<tr><td colspan="${head.length}">none</td></tr>`;
  return `<div class="scroll"><table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

/** The operator console: what is configured and who has access, read-only; changes go through the admin API and CLI. */
export function consolePage(d: ConsoleData): string {
  const audit =
    'error' in d.audit
      ? `<p class="alert" role="alert">The privacy audit could not run: ${esc(d.audit.error)}</p>`
      : d.audit.findings.length === 0
        ? '<p class="notice" role="status">Privacy audit: clean (no findings).</p>'
        : `<p class="alert" role="alert">Privacy audit: ${d.audit.findings.length} finding(s).</p>${table(
            'Privacy audit findings',
            ['Kind', 'Where', 'Detail'],
            d.audit.findings.map((f) => [
              esc(f.kind),
              esc([f.table, f.column].filter(Boolean).join('.')),
              esc(f.detail ?? ''),
            ]),
          )}`;
  return page(
    'Operator console',
    `${audit}
${table(
  'Practices',
  ['Id', 'Name', 'Domains', 'Time zone', 'Cookie mode', 'Page classes', 'Goals (events)'],
  d.practices.map((p) => [
    esc(p.id),
    esc(p.name),
    esc(p.domains.join(', ')),
    esc(p.timezone),
    yesNo(p.cookieMode),
    // A class has a rule per pattern: each class once.
    esc([...new Set(p.pageClasses.map((c) => `${c.name} (${c.mode})`))].join(', ')),
    esc(p.events.map((e) => e.name).join(', ')),
  ]),
)}
${table(
  'Partners',
  ['Id', 'Name'],
  d.partners.map((p) => [esc(p.id), esc(p.name)]),
)}
${table(
  'API keys',
  ['Key id', 'Role', 'Scope', 'Label', 'Revoked', 'Last used'],
  d.keys.map((k) => [
    esc(k.keyId),
    esc(k.role),
    esc(k.scopeId ?? ''),
    esc(k.label),
    yesNo(k.revoked),
    esc(k.lastUsedDay ?? ''),
  ]),
)}
${table(
  'People',
  ['Email', 'Operator admin', 'Two-factor'],
  d.users.map((u) => [esc(u.email), yesNo(u.operatorAdmin), yesNo(u.twoFactor)]),
)}
<p><a href="/v1/admin/audit-log?format=csv">Export the audit log (CSV)</a> · <a href="/account">Your account</a></p>`,
    {},
    true,
  );
}
