/// <reference lib="dom" />
// The tracking snippet, run in the visitor's browser. Built by build-snippet.ts into a
// minified IIFE; it must stay under 1 KB gzipped. No storage, no identifiers: the
// collector derives everything it keeps.
type Api = ((cmd: string, arg?: string) => void) & { q?: IArguments[] };

((w: Window & { confidant?: Api }, d: Document, l: Location) => {
  const script = d.currentScript as HTMLScriptElement | null;
  if (!script) return;
  const site = script.dataset.site;
  const endpoint = new URL('/e', script.src).href;
  const out = new URL('/out', script.src).href;
  const cookieMode = 'cookie' in script.dataset;
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
  const OPTOUT = 'confidant_optout=1';
  let page = '';
  let url = '';
  let shownAt = 0;
  let engaged = 0;
  // The page's deepest point seen so far, as a share of its height (bucketed by the collector).
  let depth = 0;
  const seen = () => (depth = Math.max(depth, (scrollY + innerHeight) / d.documentElement.scrollHeight));

  const send = (type: string, extra?: object, from?: string) => {
    // Global Privacy Control, Do Not Track and the opt-out cookie: send nothing at all.
    if (nav.globalPrivacyControl || nav.doNotTrack == '1' || d.cookie.includes(OPTOUT)) return;
    fetch(endpoint, {
      method: 'POST',
      body: JSON.stringify({ site, type, url, referrer: from ?? d.referrer, width: innerWidth, ...extra }),
      keepalive: true,
      credentials: cookieMode ? 'include' : 'omit',
    }).catch(() => 0);
  };

  // Called with the pagehide event when the page is left: the clock stops for good.
  const flush = (left?: unknown) => {
    if (shownAt) engaged += Date.now() - shownAt;
    shownAt = left || d.hidden ? 0 : Date.now();
    if (engaged > 0 && url) send('engagement', { engagedMs: engaged, scroll: seen() });
    engaged = 0;
  };

  const view = (type: string) => {
    const next = l.pathname + l.search;
    if (next == page) return;
    const from = url;
    if (page) flush();
    depth = 0;
    page = next;
    url = l.href;
    shownAt = d.hidden ? 0 : Date.now();
    send(type, {}, from || undefined);
  };

  d.addEventListener('visibilitychange', () => (d.hidden ? flush() : (shownAt = Date.now())));
  addEventListener('pagehide', flush);
  addEventListener('scroll', seen, { passive: true });

  const push = history.pushState;
  history.pushState = function (this: History, ...args: Parameters<History['pushState']>) {
    push.apply(this, args);
    view('pageview');
  };
  addEventListener('popstate', () => view('pageview'));

  // A call or email link is sent as its scheme alone, never the number or address (the collector tells directions from outbound links).
  const click = (e: Event) => {
    const a = (e.target as Element).closest?.('a');
    if (!a) return;
    const href = a.href;
    if (/^(tel|mailto):/.test(href)) send(a.protocol);
    else if (!/^https?:/.test(href) || href.startsWith(out)) return;
    else if (/\.(pdf|docx?|xlsx?|pptx?|csv|txt|rtf|zip|ics|vcf|mp[34])$/i.test(a.pathname))
      send('download', { target: href });
    else if (a.host != l.host) send('outbound', { target: href });
  };
  addEventListener('click', click);
  addEventListener('auxclick', click);
  // A submission is counted per form: its declared name (data-confidant-form), else its page. Never its fields.
  addEventListener('submit', (e) => send('form', { form: (e.target as HTMLElement).dataset.confidantForm }));

  const api: Api = (cmd, arg) => {
    if (cmd == 'event') send('event', { name: arg });
    if (cmd == 'optout') d.cookie = `${OPTOUT};path=/;max-age=315360000;samesite=lax`;
    if (cmd == 'optin') d.cookie = `${OPTOUT};path=/;max-age=0`;
  };
  const queued = w.confidant?.q ?? [];
  w.confidant = api;
  for (const args of queued) api(...(Array.from(args) as [string, string]));

  view('notfound' in script.dataset ? 'notfound' : 'pageview');
})(window, document, location);
