import { hash, randomBytes } from 'node:crypto';
import { RARE_VALUE, type EventEnvelope } from '@confidant/shared';
import { clientNetwork } from './client-ip.ts';
import { OTHER_VALUE } from './free-text.ts';
import { INTERNAL_REFERRER, IP_HOST, UNKNOWN_HOST } from './site-domain.ts';
import { PLACEHOLDERS } from './url-scrubber.ts';

/**
 * The edge rule for free-text values (referrer domains, `utm_*`/`ref`/`source`, undeclared property
 * values): a value leaves the collector only once `minVisitors` (k) distinct visitors, from as many
 * distinct client networks (IPv4 /24, IPv6 /48), sent it for the practice on the UTC day of the hit;
 * until then the envelope carries RARE_VALUE in its place. Distinct networks as well as distinct
 * visitor keys, since one person rotating user agents or addresses within a network makes new
 * visitor keys, and a cookie-mode visitor moving between networks keeps one.
 *
 * The gate holds only keyed hashes under a key drawn per process and never stored: 128-bit entry
 * keys over (practice, day, field, value), and 32-bit hashes of networks and visitor keys (a collision
 * merges two clients, which only delays a value). It is in memory only and per process: after a
 * restart it starts empty, and each collector counts on its own (a value must reach k on one
 * collector), which both hold values back longer, never shorter. Memory is bounded by two generations
 * of `maxEntries` entries of at most k hashes of each kind; an evicted entry starts again from zero,
 * so eviction too only holds values back.
 */
export class RareValueGate {
  private young = new Map<string, Entry>();
  private old = new Map<string, Entry>();
  private readonly key = randomBytes(32).toString('latin1');

  constructor(
    readonly minVisitors: number,
    private readonly maxEntries: number,
  ) {}

  /** The gate's view of one hit's client: hashes of its network and visitor key, nothing in clear. */
  client(ip: string, visitor: string): GateClient {
    return {
      network: this.digest(['network', clientNetwork(ip)]).readUInt32BE(0),
      visitor: this.digest(['visitor', visitor]).readUInt32BE(0),
    };
  }

  /**
   * Counts the client for the value and says whether the value may be stored: true once k distinct
   * visitors from k distinct networks sent it on that day, including this one. `client` is asked for
   * only while the value is still counted (most hits carry values admitted long ago).
   */
  admit(practiceId: string, day: number, field: string, value: string, client: () => GateClient): boolean {
    if (this.minVisitors <= 1) return true;
    const id = this.digest([practiceId, String(day), field, value]).toString('base64', 0, 16);
    let entry = this.young.get(id);
    if (entry === undefined) {
      entry = this.old.get(id) ?? { networks: [], visitors: [] };
      this.remember(id, entry);
    }
    if (entry === ADMITTED) return true;
    const { network, visitor } = client();
    addDistinct(entry.networks, network, this.minVisitors);
    addDistinct(entry.visitors, visitor, this.minVisitors);
    if (entry.networks.length < this.minVisitors || entry.visitors.length < this.minVisitors) return false;
    // Once admitted the clients are no longer needed: the entry shrinks to a shared marker.
    this.remember(id, ADMITTED);
    return true;
  }

  private remember(id: string, entry: Entry): void {
    if (this.young.size >= this.maxEntries) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(id, entry);
  }

  /**
   * SHA-256 over the key and the length-prefixed parts: a keyed hash whose outputs never leave the
   * process (so the length extension that rules it out as a MAC does not matter), at a fraction of an
   * HMAC's cost, since every hit with a free-text value runs it.
   */
  private digest(parts: readonly string[]): Buffer {
    let text = this.key;
    for (const part of parts) text += `${part.length}:${part}`;
    return hash('sha256', text, 'buffer');
  }
}

export type GateClient = { network: number; visitor: number };
type Entry = { networks: number[]; visitors: number[] };
const ADMITTED: Entry = Object.freeze({ networks: [], visitors: [] }) as Entry;

/** Adds a client's hash unless counted already, up to k (more are not needed to decide). */
function addDistinct(list: number[], hash: number, k: number): void {
  if (list.length < k && !list.includes(hash)) list.push(hash);
}

/** Values that say nothing about a visitor (placeholders, fixed markers): stored as they are. */
const FIXED_VALUES: ReadonlySet<string> = new Set<string>([
  RARE_VALUE,
  OTHER_VALUE,
  INTERNAL_REFERRER,
  IP_HOST,
  UNKNOWN_HOST,
  ...Object.values(PLACEHOLDERS),
]);
const CAMPAIGN_FIELDS = ['utmSource', 'utmMedium', 'utmCampaign'] as const;
const DAY_MS = 86_400_000;

/**
 * The gate applied to an envelope with a visitor (count-only events carry no free text): each free-text
 * value on its own, and the values of one URL's query together and of one event's properties together,
 * so that a value split across fields (`utm_source=olena&utm_campaign=kovalenko`) is a combination that
 * must itself be common. A value or combination held back becomes RARE_VALUE. `freeTextProps`: the
 * property keys whose values are free text (a declared value is not gated).
 */
export function holdBackRareValues(
  event: EventEnvelope,
  freeTextProps: readonly string[],
  ip: string,
  gate: RareValueGate,
): void {
  if (gate.minVisitors <= 1 || !event.visitor) return;
  const day = Math.floor(event.ts / DAY_MS);
  let client: GateClient | null = null;
  const clientOnce = () => (client ??= gate.client(ip, event.visitor!));
  const admit = (field: string, value: string): boolean => gate.admit(event.practiceId, day, field, value, clientOnce);

  if (event.referrerDomain && !FIXED_VALUES.has(event.referrerDomain) && !admit('referrer', event.referrerDomain))
    event.referrerDomain = RARE_VALUE;

  const campaign = CAMPAIGN_FIELDS.filter((f) => isFreeText(event[f]));
  const held = holdBackTogether(
    campaign.map((f) => [f, event[f]!]),
    'campaign',
    admit,
  );
  for (const field of held) event[field] = RARE_VALUE;

  const props = event.props;
  if (!props) return;
  const free = freeTextProps.filter((k) => isFreeText(props[k]));
  const heldProps = holdBackTogether(
    free.map((k) => [`props.${k}`, props[k]!]),
    'props',
    admit,
  );
  for (const field of heldProps) props[field.slice('props.'.length)] = RARE_VALUE;
}

/**
 * The fields of one group (one query, one event's properties) to hold back: each value that is not
 * admitted on its own, and every value when the group's combination as sent is not admitted while
 * more than one of its values would remain. Every value and the combination are counted on every
 * hit, so a common combination is admitted with its values, on the k-th visitor.
 */
function holdBackTogether<F extends string>(
  values: Array<[F, string]>,
  group: string,
  admit: (field: string, value: string) => boolean,
): F[] {
  const held = values.filter(([field, value]) => !admit(field, value)).map(([field]) => field);
  if (values.length < 2) return held;
  const together = admit(group, values.map(([field, value]) => `${field}=${value}`).join('\u0000'));
  return together || values.length - held.length < 2 ? held : values.map(([field]) => field);
}

const isFreeText = (value: string | null | undefined): value is string =>
  typeof value === 'string' && !FIXED_VALUES.has(value);
