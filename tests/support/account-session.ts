// Signing people in to a reporter under test the way a browser does: the sign-in page, its CSRF token, the form.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/** Cookies a browser would keep for the reporter (name → value), updated from each response. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  update(res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string; value: string; expires?: Date; maxAge?: number }>) {
      const expired =
        c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= Date.now()) || c.value === '';
      if (expired) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }
}

export const csrfIn = (html: string): string => {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF field in the page');
  return m[1]!;
};

const form = (fields: Record<string, string>) => ({
  'content-type': 'application/x-www-form-urlencoded',
  payload: new URLSearchParams(fields).toString(),
});

/** A person's browser against an injected app: it keeps cookies and posts forms with the page's CSRF token. */
export class Browser {
  readonly jar = new CookieJar();

  constructor(
    private readonly app: FastifyInstance,
    private readonly remoteAddress = '127.0.0.1',
  ) {}

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      url,
      remoteAddress: this.remoteAddress,
      headers: { ...this.jar.header(), ...headers },
    });
    this.jar.update(res);
    return res;
  }

  /** Posts `fields` as a form, with the CSRF token of the page at `pageUrl` unless `csrf` is given ('' sends none). */
  async submit(
    pageUrl: string,
    action: string,
    fields: Record<string, string>,
    csrf?: string,
  ): Promise<LightMyRequestResponse> {
    const token = csrf ?? csrfIn((await this.get(pageUrl)).body);
    const { payload, 'content-type': type } = form(token ? { _csrf: token, ...fields } : fields);
    const res = await this.app.inject({
      method: 'POST',
      url: action,
      remoteAddress: this.remoteAddress,
      headers: { ...this.jar.header(), 'content-type': type },
      payload,
    });
    this.jar.update(res);
    return res;
  }

  signIn(email: string, password: string, code = ''): Promise<LightMyRequestResponse> {
    return this.submit('/account/sign-in', '/account/sign-in', { email, password, code });
  }

  async signOut(): Promise<LightMyRequestResponse> {
    return this.submit('/account', '/account/sign-out', {});
  }

  /** Headers for the JSON API with this browser's session: its cookies and a CSRF token from /v1/session. */
  async apiHeaders(): Promise<Record<string, string>> {
    const session = await this.get('/v1/session');
    if (session.statusCode !== 200) throw new Error(`not signed in: ${session.statusCode} ${session.body}`);
    return { ...this.jar.header(), 'csrf-token': session.json().csrfToken };
  }

  /** A JSON API call with the session (and CSRF token for state changes). */
  async api(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ): Promise<LightMyRequestResponse> {
    const headers = await this.apiHeaders();
    return this.app.inject({
      method,
      url,
      remoteAddress: this.remoteAddress,
      headers,
      ...(payload ? { payload } : {}),
    });
  }
}
