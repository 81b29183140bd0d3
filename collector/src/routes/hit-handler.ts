import { ApiError, DomainError, ErrorCode, header, type EventEnvelope, type Practice } from '@confidant/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CountryLookup } from '../deid/country.ts';
import {
  deidentifyHit,
  directSteps,
  eventKey,
  visitorSaltKind,
  type ClientFacts,
  type InvalidReason,
  type RawHit,
} from '../deid/pipeline.ts';
import type { RareValueGate } from '../deid/rare-value-gate.ts';
import { hostInDomains } from '../deid/site-domain.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import { SpoolFullError } from '../kafka/disk-spool.ts';
import type { Metrics } from '../metrics.ts';

/** Where accepted envelopes go; `submit` resolves once the event is durable. */
export interface EventSink {
  submit(key: string, event: EventEnvelope): Promise<void>;
  ready(): boolean;
}

export const COOKIE_NAME = 'cf_id';
const COOKIE_MAX_AGE_S = 31_536_000;
export const RETRY_AFTER_S = 30;

export type HitContext = {
  sink: EventSink;
  salts: SaltSource;
  country: CountryLookup;
  /** The process's one gate for free-text values, shared with the log routes. */
  rareValues: RareValueGate;
  metrics: Metrics;
  clientIp: (socketIp: string, forwardedFor: string | string[] | undefined) => string;
  now: () => number;
};

function readCookie(request: FastifyRequest, name: string): string | null {
  for (const part of (header(request, 'cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The client facts de-identification needs; they live only as long as this request. */
export function clientFacts(request: FastifyRequest, practice: Practice, ctx: HitContext): ClientFacts {
  return {
    ip: ctx.clientIp(request.socket.remoteAddress ?? '', request.headers['x-forwarded-for']),
    userAgent: header(request, 'user-agent'),
    acceptLanguage: header(request, 'accept-language'),
    optedOut: header(request, 'sec-gpc') === '1' || header(request, 'dnt') === '1',
    cookieId: practice.cookieMode ? readCookie(request, COOKIE_NAME) : null,
  };
}

/** What a request's hit says, before the request facts are added. */
export type BeaconHit = Omit<RawHit, 'source' | 'client' | 'time'>;

/** The answer to a refused hit: 404 for a page outside the practice's domains, else 400. */
function refusal(reason: InvalidReason): DomainError {
  switch (reason) {
    case 'url-outside-site':
      return new DomainError('not-found', 'url is not on a domain registered for this site', ErrorCode.urlOutsideSite);
    case 'invalid-url':
      return new DomainError('invalid-input', 'url: must be an absolute http(s) URL', ErrorCode.invalidBody);
    case 'invalid-target':
      return new DomainError(
        'invalid-input',
        'target: must be an absolute http(s) URL for outbound and download events',
        ErrorCode.invalidBody,
      );
    case 'invalid-name':
      return new DomainError('invalid-input', 'name: required for custom events', ErrorCode.invalidBody);
  }
}

/**
 * CORS for beacons: any origin may send (the body carries no credentials), except in
 * cookie mode, where only the practice's own origins may send credentials.
 */
export function applyCors(request: FastifyRequest, reply: FastifyReply, practice: Practice | null): void {
  const origin = header(request, 'origin');
  let host: string | null;
  try {
    host = origin ? new URL(origin).hostname : null;
  } catch {
    host = null;
  }
  if (practice?.cookieMode && origin && host && hostInDomains(host, practice.domains)) {
    reply
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-credentials', 'true')
      .header('vary', 'Origin');
  } else {
    reply.header('access-control-allow-origin', '*');
  }
}

/** De-identifies one hit and queues it durably; the caller answers 202. Refusals are thrown (ApiError or a domain error). */
export async function acceptHit(
  request: FastifyRequest,
  reply: FastifyReply,
  practice: Practice,
  hit: BeaconHit,
  ctx: HitContext,
): Promise<void> {
  const client = clientFacts(request, practice, ctx);
  const time = ctx.now();
  const kind = visitorSaltKind(client, practice);
  // The pipeline is synchronous: the salt its visitor step may need is loaded first (also for a hit it then drops).
  const salt = await ctx.salts.saltFor(kind, time).catch((error: unknown) => {
    // Without a salt no visitor key can be made.
    request.log.warn({ err: error }, 'salt store unavailable');
    throw new ApiError(503, ErrorCode.unavailable, 'cannot accept events right now', {
      'retry-after': String(RETRY_AFTER_S),
    });
  });
  const steps = directSteps(practice, { country: ctx.country, salt: () => salt });
  const result = deidentifyHit({ ...hit, source: 'snippet', client, time }, practice, steps, ctx.rareValues);
  if (result.kind === 'invalid') {
    ctx.metrics.dropped.inc({ reason: result.reason === 'url-outside-site' ? 'url-outside-site' : 'invalid' });
    throw refusal(result.reason);
  }
  if (result.kind === 'drop') {
    // Answered like an accepted event, so a visitor's choice or a bot verdict is not revealed.
    ctx.metrics.dropped.inc({ reason: result.reason });
    return;
  }
  const { event, issueCookieId } = result.value;
  try {
    await ctx.sink.submit(eventKey(event), event);
  } catch (error) {
    ctx.metrics.dropped.inc({ reason: 'spool-full' });
    if (error instanceof SpoolFullError) {
      throw new ApiError(503, ErrorCode.unavailable, 'cannot durably accept events right now', {
        'retry-after': String(RETRY_AFTER_S),
      });
    }
    throw error;
  }
  ctx.metrics.accepted.inc({ type: event.type });
  if (issueCookieId) {
    reply.header(
      'set-cookie',
      `${COOKIE_NAME}=${issueCookieId}; Max-Age=${COOKIE_MAX_AGE_S}; Path=/; SameSite=None; Secure; HttpOnly`,
    );
  }
}
