import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../contracts/errors.ts';
import { header, INPUT_ERROR_CODES, parseInput, parseJsonBody } from './request-input.ts';

const schema = z.object({ site: z.string(), n: z.number().optional() }).strict();

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('parseInput', () => {
  it('returns the parsed value', () => {
    expect(parseInput(schema, { site: 'a', n: 1 }, 'query')).toEqual({ site: 'a', n: 1 });
  });

  it('uses one set of codes: an event is invalid_body, every other part invalid_parameter', () => {
    expect(INPUT_ERROR_CODES).toEqual({
      event: 'invalid_body',
      body: 'invalid_parameter',
      query: 'invalid_parameter',
      path: 'invalid_parameter',
      headers: 'invalid_parameter',
    });
    for (const part of ['event', 'body', 'query', 'path', 'headers'] as const) {
      const error = thrown(() => parseInput(schema, { site: 1 }, part));
      expect([error.statusCode, error.code]).toEqual([400, INPUT_ERROR_CODES[part]]);
    }
  });

  it('names the first offending field: an event’s by name, other parts’ with the part', () => {
    expect(thrown(() => parseInput(schema, { n: 1 }, 'event')).message).toMatch(/^site: /);
    expect(thrown(() => parseInput(schema, [1], 'event')).message).toMatch(/^body: /);
    expect(thrown(() => parseInput(schema, { site: 'a', n: 'x' }, 'query')).message).toMatch(/^query n: /);
    expect(thrown(() => parseInput(schema, { site: 'a', extra: 1 }, 'path')).message).toMatch(/^path: /);
  });

  it('reads a missing body or query string as empty, so the message names the missing field', () => {
    expect(thrown(() => parseInput(schema, undefined, 'body')).message).toMatch(/^body site: /);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON text and refuses an empty or broken body as invalid_json', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
    for (const body of ['', '  ', undefined, '{"a":'])
      expect([thrown(() => parseJsonBody(body)).statusCode, thrown(() => parseJsonBody(body)).code]).toEqual([
        400,
        'invalid_json',
      ]);
  });
});

describe('header', () => {
  it('gives the first value of a repeated header, whatever the case of the name', () => {
    const request = { headers: { 'x-one': 'a', 'x-many': ['b', 'c'] } } as unknown as FastifyRequest;
    expect([header(request, 'X-One'), header(request, 'x-many'), header(request, 'x-none')]).toEqual([
      'a',
      'b',
      undefined,
    ]);
  });
});
