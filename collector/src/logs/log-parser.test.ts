import { describe, expect, it } from 'vitest';
import {
  compileNginxFormat,
  createLineParser,
  parseFormatSpec,
  parseJsonLine,
  parseTimeIso,
  parseTimeLocal,
  unescapeField,
  type LogHit,
  type ParseResult,
} from './log-parser.ts';

const combined = createLineParser({ kind: 'combined' });
const common = createLineParser({ kind: 'common' });
const hitOf = (r: ParseResult): LogHit => {
  if (!r.ok) throw new Error(`expected a hit, got ${r.reason}`);
  return r.hit;
};
const reasonOf = (r: ParseResult): string => (r.ok ? 'ok' : r.reason);

describe('timestamps', () => {
  it('applies the line offset of CLF times', () => {
    expect(parseTimeLocal('10/Oct/2000:13:55:36 -0700')).toBe(Date.UTC(2000, 9, 10, 20, 55, 36));
    expect(parseTimeLocal('01/Jan/2024:00:30:00 +0530')).toBe(Date.UTC(2023, 11, 31, 19, 0, 0));
  });
  it('rejects impossible CLF times', () => {
    for (const bad of [
      '30/Feb/2024:10:00:00 +0000',
      '10/Foo/2024:10:00:00 +0000',
      '10/Oct/2024:25:00:00 +0000',
      '10/Oct/2024:10:00:00 0000',
      '10/Oct/2024:10:00:00',
    ]) {
      expect(parseTimeLocal(bad)).toBeNull();
    }
  });
  it('parses ISO 8601 with offsets, Z and fractions', () => {
    expect(parseTimeIso('2000-10-10T13:55:36-07:00')).toBe(Date.UTC(2000, 9, 10, 20, 55, 36));
    expect(parseTimeIso('2024-03-01T00:00:00.250Z')).toBe(Date.UTC(2024, 2, 1, 0, 0, 0, 250));
    expect(parseTimeIso('2024-03-01T01:00:00+0100')).toBe(Date.UTC(2024, 2, 1));
    expect(parseTimeIso('2024-03-01T01:00:00')).toBeNull();
    expect(parseTimeIso('2024-13-01T01:00:00Z')).toBeNull();
  });
});

describe('combined and common', () => {
  it('parses an nginx combined line', () => {
    const hit = hitOf(
      combined(
        '203.0.113.9 - - [10/Oct/2024:13:55:36 +0200] "GET /services?utm_source=x HTTP/1.1" 200 612 "https://www.google.com/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0"',
      ),
    );
    expect(hit).toEqual({
      ip: '203.0.113.9',
      time: Date.UTC(2024, 9, 10, 11, 55, 36),
      method: 'GET',
      path: '/services?utm_source=x',
      status: 200,
      referrer: 'https://www.google.com/',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0',
    });
  });

  it('parses IPv6 and IPv4-mapped addresses and an Apache ident/user field', () => {
    expect(
      hitOf(
        combined('2001:db8::1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/2.0" 200 1 "-" "UA string that is long"'),
      ).ip,
    ).toBe('2001:db8::1');
    expect(
      hitOf(combined('::ffff:192.0.2.1 ident frank [10/Oct/2024:13:55:36 +0000] "HEAD / HTTP/1.0" 304 0 "-" "-"')).ip,
    ).toBe('::ffff:192.0.2.1');
  });

  it('maps "-" referrer and user agent to null', () => {
    const hit = hitOf(combined('192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 - "-" "-"'));
    expect(hit.referrer).toBeNull();
    expect(hit.userAgent).toBeNull();
  });

  it('handles escaped quotes (Apache \\" and nginx \\x22) in user agents and paths', () => {
    const apache = hitOf(
      combined(
        '192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET /a\\"b HTTP/1.1" 200 5 "-" "Mozilla/5.0 \\"quoted\\" \\\\ end"',
      ),
    );
    expect(apache.path).toBe('/a"b');
    expect(apache.userAgent).toBe('Mozilla/5.0 "quoted" \\ end');
    const nginx = hitOf(
      combined(
        '192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET /x\\x22\\x20y HTTP/1.1" 200 5 "http://r.example/\\x22\\x20\\x22" "Agent \\x22Q\\x22"',
      ),
    );
    expect(nginx.referrer).toBe('http://r.example/" "');
    expect(nginx.userAgent).toBe('Agent "Q"');
  });

  it('tolerates an unescaped quote inside the last field', () => {
    expect(
      hitOf(combined('192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "Bad (X11; "Agent") 1.0"'))
        .userAgent,
    ).toBe('Bad (X11; "Agent") 1.0');
  });

  it('accepts HTTP/0.9 request lines without a protocol', () => {
    expect(hitOf(combined('192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET /old" 200 5 "-" "-"')).path).toBe('/old');
  });

  it('parses the Common Log Format and refuses combined-only layout for it', () => {
    const hit = hitOf(common('192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'));
    expect(hit.path).toBe('/apache_pb.gif');
    expect(hit.referrer).toBeNull();
    // Not recorded, as opposed to recorded as "-" (null) in combined.
    expect(hit.userAgent).toBeUndefined();
    expect(reasonOf(combined('192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326'))).toBe(
      'layout',
    );
  });

  it('reports malformed lines with a reason, never throwing', () => {
    const cases: Array<[string, string]> = [
      ['', 'empty'],
      ['garbage', 'layout'],
      ['192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-"', 'layout'],
      ['host.example - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "-"', 'ip'],
      ['192.0.2.1 - - [10/Oct/2024:99:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "-"', 'time'],
      ['192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "\\x16\\x03\\x01\\x02" 400 5 "-" "-"', 'request'],
      ['192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "-" 400 5 "-" "-"', 'request'],
      ['192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 2000 5 "-" "-"', 'status'],
      ['192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" abc 5 "-" "-"', 'status'],
    ];
    for (const [line, reason] of cases) expect([line, reasonOf(combined(line))]).toEqual([line, reason]);
  });
});

describe('nginx log_format', () => {
  it('compiles a custom format with ${var}, extra variables and $time_iso8601', () => {
    const spec = parseFormatSpec(
      'nginx:$remote_addr [$time_iso8601] "$request_method ${request_uri}" $status rt=$request_time "$http_user_agent" "$http_referer"',
    );
    expect(spec?.kind).toBe('nginx');
    const parse = createLineParser(spec!);
    const hit = hitOf(
      parse('2001:db8::7 [2024-10-10T13:55:36+02:00] "GET /team?x=1" 404 rt=0.002 "Mozilla/5.0 long enough agent" "-"'),
    );
    expect(hit).toMatchObject({
      ip: '2001:db8::7',
      time: Date.UTC(2024, 9, 10, 11, 55, 36),
      method: 'GET',
      path: '/team?x=1',
      status: 404,
      referrer: null,
    });
    const noAgent = createLineParser(parseFormatSpec('nginx:$remote_addr [$time_local] "$request" $status')!);
    expect(hitOf(noAgent('192.0.2.1 [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200')).userAgent).toBeUndefined();
  });

  it('refuses formats that lack what a hit needs', () => {
    expect(compileNginxFormat('$remote_addr $status').ok).toBe(false);
    expect(compileNginxFormat('$remote_addr$status [$time_local] "$request"').ok).toBe(false);
    expect(parseFormatSpec('nginx:$status')).toBeNull();
    expect(parseFormatSpec('w3c')).toBeNull();
  });
});

describe('JSON lines', () => {
  it('reads nginx escape=json keys', () => {
    const hit = hitOf(
      parseJsonLine(
        '{"remote_addr":"198.51.100.4","time_iso8601":"2024-10-10T13:55:36+02:00","request":"GET /contact HTTP/1.1","status":"200","http_referer":"https://bing.com/","http_user_agent":"Mozilla \\"x\\""}',
      ),
    );
    expect(hit).toMatchObject({
      ip: '198.51.100.4',
      path: '/contact',
      status: 200,
      referrer: 'https://bing.com/',
      userAgent: 'Mozilla "x"',
    });
  });
  it('accepts method + uri, numeric status and time_local', () => {
    const hit = hitOf(
      parseJsonLine(
        '{"remote_addr":"::1","time_local":"10/Oct/2024:13:55:36 +0000","request_method":"HEAD","request_uri":"/","status":304}',
      ),
    );
    expect(hit).toMatchObject({ ip: '::1', method: 'HEAD', status: 304 });
    expect(hit.userAgent).toBeUndefined();
    expect(
      hitOf(
        parseJsonLine(
          '{"remote_addr":"::1","msec":"1728568536.123","request":"GET / HTTP/1.1","status":200,"user_agent":"-"}',
        ),
      ).userAgent,
    ).toBeNull();
  });
  it('reports broken JSON and missing fields', () => {
    expect(reasonOf(parseJsonLine('{"remote_addr":'))).toBe('json');
    expect(reasonOf(parseJsonLine('[1,2]'))).toBe('json');
    expect(reasonOf(parseJsonLine('{"remote_addr":"192.0.2.1","status":200,"request":"GET / HTTP/1.1"}'))).toBe('time');
  });
});

describe('auto', () => {
  it('reads JSON, combined and common lines', () => {
    const auto = createLineParser({ kind: 'auto' });
    expect(reasonOf(auto('junk'))).toBe('layout');
    expect(hitOf(auto('192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326')).status).toBe(200);
    const json = createLineParser({ kind: 'auto' });
    expect(
      hitOf(json('{"remote_addr":"192.0.2.1","msec":"1700000000.123","request":"GET / HTTP/1.1","status":200}')).time,
    ).toBe(1_700_000_000_123);
  });

  it('does not read a combined log as common because its first line was cut before the referrer', () => {
    const auto = createLineParser({ kind: 'auto' });
    expect(
      hitOf(auto('192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 512')).userAgent,
    ).toBeUndefined();
    const bot = hitOf(auto('192.0.2.2 - - [10/Oct/2024:13:55:37 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8.4.0"'));
    expect(bot.userAgent).toBe('curl/8.4.0');
    expect(
      hitOf(auto('192.0.2.3 - - [10/Oct/2024:13:55:38 +0000] "GET / HTTP/1.1" 200 512 "-" "-"')).userAgent,
    ).toBeNull();
  });
});

describe('combined with appended fields', () => {
  it('ignores what servers append after the user agent, in combined and in auto', () => {
    for (const parse of [combined, createLineParser({ kind: 'auto' })]) {
      for (const tail of [' ', ' 1234 5678', ' 0.004', ' "extra quoted"', ' "203.0.113.7, 10.0.0.1"', ' "-" 0.004']) {
        const hit = hitOf(
          parse(
            `192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET /a HTTP/1.1" 200 5 "https://r.example/" "Mozilla/5.0 Test"${tail}`,
          ),
        );
        expect([tail, hit.userAgent, hit.referrer]).toEqual([tail, 'Mozilla/5.0 Test', 'https://r.example/']);
      }
    }
  });
});

it('unescapes only what servers escape', () => {
  expect(unescapeField('a\\x41\\"\\\\b\\q')).toBe('aA"\\b\\q');
  expect(unescapeField('plain')).toBe('plain');
});
