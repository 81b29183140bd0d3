import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ApiError, ErrorCode } from '../contracts/errors.ts';

/**
 * Where an input comes from. `event` is a body the collector is sent to record (a beacon, a
 * Plausible event); `body` is an API request's body (the reporter's admin API).
 */
export type InputPart = 'event' | 'body' | 'query' | 'path' | 'headers';

/**
 * The one set of codes for invalid input, in every service: an event that is not a valid event
 * is `invalid_body`; every other input (a path or query parameter, a header, a field of an API
 * request body) is `invalid_parameter`.
 */
export const INPUT_ERROR_CODES: Record<InputPart, ErrorCode> = {
  event: ErrorCode.invalidBody,
  body: ErrorCode.invalidParameter,
  query: ErrorCode.invalidParameter,
  path: ErrorCode.invalidParameter,
  headers: ErrorCode.invalidParameter,
};

const PART_NAMES: Record<Exclude<InputPart, 'event'>, string> = {
  body: 'body',
  query: 'query',
  path: 'path',
  headers: 'header',
};

/** How a message names the input: an event's fields by name alone (the body is the event), others with their part. */
function inputName(part: InputPart, field: string | undefined): string {
  if (part === 'event') return field ?? 'body';
  return field ? `${PART_NAMES[part]} ${field}` : PART_NAMES[part];
}

/** The error for a bad input: a 400 with the part's code and a message naming the offending field. */
export function invalidInput(part: InputPart, message: string, field?: string): ApiError {
  return new ApiError(400, INPUT_ERROR_CODES[part], `${inputName(part, field)}: ${message}`);
}

/** Parses one part of a request with zod; the first problem becomes a 400 naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.output<S> {
  // A request without a body or query string is parsed as an empty one, so the message names the missing field.
  const result = schema.safeParse(value === undefined ? {} : value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw invalidInput(part, issue.message, issue.path.join('.') || undefined);
}

/** Parses a JSON body that arrived as a string (the collector takes beacons as text/plain or application/json). */
export function parseJsonBody(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '')
    throw new ApiError(400, ErrorCode.invalidJson, 'body must be a JSON object');
  try {
    return JSON.parse(body);
  } catch {
    throw new ApiError(400, ErrorCode.invalidJson, 'body is not valid JSON');
  }
}

/** One request header as a string: the first value when it was sent more than once. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
