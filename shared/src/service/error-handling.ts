import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, DomainError, errorBody, ErrorCode, type DomainErrorKind } from '../contracts/errors.ts';
import { ControlPlaneUnavailableError } from '../platform/postgres/control-db.ts';

export type ErrorMapping = {
  /** The content types a 415 answer tells the client to send, e.g. `text/plain or application/json`. */
  accepts?: string;
  /** Errors only some routes raise (a bad gzip stream, an import gap), tried after `ApiError` and domain errors. */
  routeErrors?: (error: Error) => ApiError | null;
};

const DOMAIN_STATUS: Record<DomainErrorKind, number> = { 'not-found': 404, conflict: 409, 'invalid-input': 400 };

/** An `ApiError`, or a domain error as the HTTP error it answers with; null for anything else. */
export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return new ApiError(DOMAIN_STATUS[error.kind], error.code, error.message);
  // PostgreSQL away: routes that need the control plane answer 503 (its message names no request data).
  if (error instanceof ControlPlaneUnavailableError)
    return new ApiError(503, ErrorCode.unavailable, 'the control plane is unavailable; retry shortly', {
      'retry-after': '5',
    });
  return null;
}

/** Fastify's own refusals (body too large, content type, JSON, rate limit) as our 4xx; null for a server error. */
function frameworkError(error: FastifyError, request: FastifyRequest, accepts?: string): ApiError | null {
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413)
    return new ApiError(413, ErrorCode.payloadTooLarge, `body exceeds ${request.routeOptions.bodyLimit} bytes`);
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415)
    return new ApiError(415, ErrorCode.unsupportedMediaType, accepts ? `send ${accepts}` : 'unsupported content type');
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return new ApiError(400, ErrorCode.invalidJson, 'body must be a JSON object');
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return new ApiError(400, ErrorCode.invalidJson, 'body is not valid JSON');
  if (status === 429) return new ApiError(429, ErrorCode.rateLimited, 'too many requests');
  // A framework 400 is a body that could not be read (length mismatch, aborted upload). Its message is not
  // sent: the answer never echoes request data.
  if (status >= 400 && status < 500)
    return new ApiError(status, status === 400 ? ErrorCode.invalidBody : ErrorCode.invalidParameter, 'invalid request');
  return null;
}

/**
 * The error handler of every service: `ApiError`, domain errors, route-specific errors and framework
 * errors answer with `{"error":{"code","message"}}`; anything else is logged and answered with a 500
 * that says nothing about it.
 */
export function errorHandler(mapping: ErrorMapping = {}) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const api = toApiError(error) ?? mapping.routeErrors?.(error) ?? frameworkError(error, request, mapping.accepts);
    if (api) return reply.code(api.statusCode).headers(api.headers).send(api.toBody());
    // The type, message and stack only: a whole error object may carry request data.
    request.log.error({ err: { type: error.name, message: error.message, stack: error.stack } }, 'request failed');
    return reply.code(500).send(errorBody(ErrorCode.internal, 'internal error'));
  };
}

/** Installs the error handler and a JSON 404 for unknown routes on an app; call it before registering routes. */
export function installErrorHandling(app: FastifyInstance, mapping: ErrorMapping = {}): void {
  app.setErrorHandler(errorHandler(mapping));
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(ErrorCode.notFound, 'no such endpoint')));
}
