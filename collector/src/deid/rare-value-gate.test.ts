import { randomBytes } from 'node:crypto';
import { practiceSchema, RARE_VALUE, type EventEnvelope, type Practice } from '@confidant/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deidentifyHit, directSteps, type RawHit } from './pipeline.ts';
import { RareValueGate } from './rare-value-gate.ts';

const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const practice: Practice = practiceSchema.parse({
  id: 'riverside',
  siteKey: 'site-riverside',
  name: 'Riverside',
  domains: ['clinic.example'],
  timezone: 'UTC',
  pathTemplates: [],
  events: [{ name: 'Booked', props: { plan: ['basic', 'premium'], note: [] } }],
});
const other: Practice = { ...practice, id: 'lakeside', siteKey: 'site-lakeside' };
const K = 3;
const DAY = Date.UTC(2026, 11, 3, 9);
const salt = randomBytes(32);

type Sent = Partial<Pick<RawHit, 'type' | 'name' | 'props' | 'referrer'>> & {
  /** The query of the page URL. */
  query?: string;
  /** The client: `network` picks a /24, `host` an address in it, `agent` a user agent. */
  network: number;
  host?: number;
  agent?: number;
  time?: number;
  practice?: Practice;
  /** A cookie-mode visitor's cookie id. */
  cookie?: string;
};

/** One hit through the whole pipeline (as the snippet's adapter runs it) with the gate given. */
function send(gate: RareValueGate, hit: Sent): EventEnvelope {
  const p = hit.practice ?? practice;
  const result = deidentifyHit(
    {
      source: 'snippet',
      type: hit.type ?? 'pageview',
      url: `https://clinic.example/services${hit.query ? `?${hit.query}` : ''}`,
      referrer: hit.referrer ?? null,
      name: hit.name ?? null,
      props: hit.props ?? null,
      client: {
        ip: `198.${51 + Math.floor(hit.network / 250)}.${hit.network % 250}.${hit.host ?? 1}`,
        userAgent: `${UA} v${hit.agent ?? 0}`,
        acceptLanguage: 'en',
        optedOut: false,
        cookieId: hit.cookie ?? null,
      },
      time: hit.time ?? DAY,
    },
    p,
    directSteps(p, { country: () => 'US', salt: () => salt }),
    gate,
  );
  if (result.kind !== 'ok') throw new Error(`expected an envelope, got ${JSON.stringify(result)}`);
  return result.value.event;
}

const campaignOf = (gate: RareValueGate, hit: Omit<Sent, 'query'>, campaign = 'open-day') =>
  send(gate, { ...hit, query: `utm_campaign=${campaign}` }).utmCampaign;

describe('the rare-value gate', () => {
  it('holds a campaign value back until k distinct visitors on k networks sent it that day, then keeps it', () => {
    const gate = new RareValueGate(K, 1000);
    expect([0, 1, 2, 3].map((network) => campaignOf(gate, { network }))).toEqual([
      RARE_VALUE,
      RARE_VALUE,
      'open-day',
      'open-day',
    ]);
    // Another practice, another day: counted again from zero.
    expect(campaignOf(gate, { network: 0, practice: other })).toBe(RARE_VALUE);
    expect(campaignOf(gate, { network: 0, time: DAY + 86_400_000 })).toBe(RARE_VALUE);
  });

  it('counts one client rotating user agents, or addresses within its /24, once', () => {
    const gate = new RareValueGate(K, 1000);
    const rotating = Array.from({ length: 8 }, (_, i) => campaignOf(gate, { network: 7, host: i + 1, agent: i }));
    expect(rotating.every((v) => v === RARE_VALUE)).toBe(true);
    // Many visitors behind one network (an office) are one network too: k networks are needed.
    expect(campaignOf(gate, { network: 8 })).toBe(RARE_VALUE);
    expect(campaignOf(gate, { network: 9 })).toBe('open-day');
  });

  it('counts a cookie-mode visitor moving between networks once: k visitor keys are needed too', () => {
    const gate = new RareValueGate(K, 1000);
    const cookieMode: Practice = { ...practice, cookieMode: true };
    const cookie = 'c'.repeat(32);
    const moving = [1, 2, 3, 4].map((network) => campaignOf(gate, { network, cookie, practice: cookieMode }));
    expect(moving.every((v) => v === RARE_VALUE)).toBe(true);
    // The entry holds at most k hashes of each kind, however many networks the visitor moved through.
    const entries = [...(gate as unknown as { young: Map<string, { networks: number[] }> }).young.values()];
    expect(Math.max(...entries.map((e) => e.networks.length))).toBe(K);
    // Two more visitors (other cookies), on networks already counted: now k keys on k networks.
    expect(campaignOf(gate, { network: 1, cookie: 'd'.repeat(32), practice: cookieMode })).toBe(RARE_VALUE);
    expect(campaignOf(gate, { network: 2, cookie: 'e'.repeat(32), practice: cookieMode })).toBe('open-day');
  });

  it('counts case variants and canonical look-alikes as the one value they are stored as', () => {
    const gate = new RareValueGate(K, 1000);
    // One visitor sending every spelling is still one visitor of one value.
    const spellings = ['Olena-Kovalenko', 'OLENA-KOVALENKO', 'ｏｌｅｎａ-ｋｏｖａｌｅｎｋｏ', 'olena\u200b-kovalenko'];
    for (const spelling of spellings)
      expect(campaignOf(gate, { network: 1 }, encodeURIComponent(spelling))).toBe(RARE_VALUE);
    // Spellings that canonicalise to one value count towards it: it is one value to store.
    campaignOf(gate, { network: 2 }, 'Spring-Sale');
    campaignOf(gate, { network: 3 }, encodeURIComponent('ｓｐｒｉｎｇ-ｓａｌｅ'));
    expect(campaignOf(gate, { network: 4 }, encodeURIComponent('spring\u200b-SALE'))).toBe('spring-sale');
    // A look-alike that is another text (a Cyrillic ѕ, a combining accent) is not the admitted value.
    for (const lookAlike of ['ѕpring-sale', 'spring-sa\u0301le'])
      expect(campaignOf(gate, { network: 5 }, encodeURIComponent(lookAlike))).toBe('(other)');
  });

  it('holds back values split across campaign fields whose combination is rare, though each part is common', () => {
    const gate = new RareValueGate(K, 1000);
    // `olena` and `kovalenko` each come from k visitors, in other company.
    for (const network of [1, 2, 3]) {
      send(gate, { network, query: 'utm_source=olena' });
      send(gate, { network, query: 'utm_campaign=kovalenko' });
    }
    expect(send(gate, { network: 4, query: 'utm_source=olena' }).utmSource).toBe('olena');
    const split = send(gate, { network: 5, query: 'utm_source=olena&utm_campaign=kovalenko' });
    expect([split.utmSource, split.utmCampaign]).toEqual([RARE_VALUE, RARE_VALUE]);
    // An ordinary campaign's values come together: the k-th visitor keeps them all.
    const campaign = 'utm_source=newsletter&utm_medium=email&utm_campaign=flu-shots';
    const kept = [6, 7, 8].map((network) => send(gate, { network, query: campaign }));
    expect(kept.map((e) => [e.utmSource, e.utmMedium, e.utmCampaign])).toEqual([
      [RARE_VALUE, RARE_VALUE, RARE_VALUE],
      [RARE_VALUE, RARE_VALUE, RARE_VALUE],
      ['newsletter', 'email', 'flu-shots'],
    ]);
  });

  it('gates referrer domains and free-text property values, not declared values or placeholders', () => {
    const gate = new RareValueGate(K, 1000);
    const booked = (network: number, note: string) =>
      send(gate, {
        network,
        type: 'event',
        name: 'Booked',
        props: { plan: 'premium', note },
        referrer: 'https://jane-doe.example.org/',
        query: 'ref=jane%40x.org',
      });
    const first = booked(1, 'olena-kovalenko');
    expect(first).toMatchObject({ referrerDomain: RARE_VALUE, utmSource: ':email' });
    expect(first.props).toEqual({ plan: 'premium', note: RARE_VALUE });
    booked(2, 'spring');
    booked(3, 'spring');
    expect(booked(4, 'spring').props).toEqual({ plan: 'premium', note: 'spring' });
    expect(booked(5, 'olena-kovalenko').props).toEqual({ plan: 'premium', note: RARE_VALUE });
    expect(booked(6, 'x').referrerDomain).toBe('example.org');
    // Self-referrals are a marker, not a value.
    expect(send(gate, { network: 9, referrer: 'https://clinic.example/a' }).referrerDomain).toBe('internal');
  });

  it('holds only keyed hashes: neither the value nor the client appears in its memory', () => {
    const gate = new RareValueGate(K, 1000);
    campaignOf(gate, { network: 1 }, 'olena-kovalenko');
    const memory = JSON.stringify(gate, (_k, v: unknown) =>
      v instanceof Map ? [...(v as Map<unknown, unknown>).entries()] : v,
    );
    expect(memory).not.toMatch(/olena|kovalenko|198\.51/);
    // Entry keys: 128-bit keyed hashes (base64).
    expect(memory).toMatch(/"[A-Za-z0-9+/]{22}=="/);
  });

  it('fails closed on eviction: a value whose entry was evicted is counted again from zero', () => {
    const gate = new RareValueGate(K, 2);
    campaignOf(gate, { network: 1 });
    campaignOf(gate, { network: 2 });
    for (const filler of ['a1', 'b2', 'c3', 'd4']) campaignOf(gate, { network: 9 }, filler);
    expect(campaignOf(gate, { network: 3 })).toBe(RARE_VALUE);
  });

  it('property: a value appears in an envelope only once k visitors and k networks sent it, and always after', () => {
    const client = fc.record({
      network: fc.integer({ min: 0, max: 5 }),
      host: fc.integer({ min: 1, max: 3 }),
      agent: fc.integer({ min: 0, max: 2 }),
    });
    const hit = fc.record({ client, value: fc.constantFrom('open-day', 'flu-shots', 'olena-kovalenko') });
    fc.assert(
      fc.property(fc.array(hit, { maxLength: 40 }), fc.boolean(), (hits, tiny) => {
        // A tiny gate evicts all the time: it may hold values back longer, never let one out earlier.
        const gate = new RareValueGate(K, tiny ? 2 : 1000);
        const seen = new Map<string, { networks: Set<number>; visitors: Set<string> }>();
        for (const { client: c, value } of hits) {
          const got = campaignOf(gate, c, value);
          const s = seen.get(value) ?? { networks: new Set(), visitors: new Set() };
          s.networks.add(c.network);
          // The visitor key is made of the address and user agent.
          s.visitors.add(`${c.network}/${c.host}/${c.agent}`);
          seen.set(value, s);
          const common = s.networks.size >= K && s.visitors.size >= K;
          if (!common && got !== RARE_VALUE) return false;
          if (common && !tiny && got !== value) return false;
          if (got !== RARE_VALUE && got !== value) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('k = 1 keeps every value (RARE_VALUE_MIN_VISITORS=1 turns the rule off)', () => {
    expect(campaignOf(new RareValueGate(1, 1000), { network: 1 }, 'olena-kovalenko')).toBe('olena-kovalenko');
  });
});
