import { ApiError, ErrorCode, header, type EventEnvelope, type Practice } from '@confidant/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CountryLookup } from '../deid/country.ts';
import { deidentify, type BeaconHit, type RequestFacts } from '../deid/deidentify.ts';
import { hostInDomains } from '../deid/referrer.ts';
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

/** The request facts de-identification needs; they live only as long as this request. */
export function requestFacts(request: FastifyRequest, practice: Practice, ctx: HitContext): RequestFacts {
  return {
    ip: ctx.clientIp(request.socket.remoteAddress ?? '', request.headers['x-forwarded-for']),
    userAgent: header(request, 'user-agent'),
    acceptLanguage: header(request, 'accept-language'),
    optedOut: header(request, 'sec-gpc') === '1' || header(request, 'dnt') === '1',
    cookieId: practice.cookieMode ? readCookie(request, COOKIE_NAME) : null,
    receivedAt: ctx.now(),
  };
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
  const result = await deidentify(hit, requestFacts(request, practice, ctx), practice, ctx).catch((error: unknown) => {
    // Only the salt store can fail here; without a salt no visitor key can be made.
    request.log.warn({ err: error }, 'salt store unavailable');
    throw new ApiError(503, ErrorCode.unavailable, 'cannot accept events right now', {
      'retry-after': String(RETRY_AFTER_S),
    });
  });
  if (result.kind === 'reject') {
    ctx.metrics.dropped.inc({
      reason: result.error.code === ErrorCode.urlOutsideSite ? 'url-outside-site' : 'invalid',
    });
    throw result.error;
  }
  if (result.kind === 'drop') {
    // Answered like an accepted event, so a visitor's choice or a bot verdict is not revealed.
    ctx.metrics.dropped.inc({ reason: result.reason });
    return;
  }
  try {
    await ctx.sink.submit(result.key, result.event);
  } catch (error) {
    ctx.metrics.dropped.inc({ reason: 'spool-full' });
    if (error instanceof SpoolFullError) {
      throw new ApiError(503, ErrorCode.unavailable, 'cannot durably accept events right now', {
        'retry-after': String(RETRY_AFTER_S),
      });
    }
    throw error;
  }
  ctx.metrics.accepted.inc({ type: result.event.type });
  if (result.issueCookieId) {
    reply.header(
      'set-cookie',
      `${COOKIE_NAME}=${result.issueCookieId}; Max-Age=${COOKIE_MAX_AGE_S}; Path=/; SameSite=None; Secure; HttpOnly`,
    );
  }
}
