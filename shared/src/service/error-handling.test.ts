import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, DomainError, ErrorCode } from '../contracts/errors.ts';
import { errorHandler, installErrorHandling } from './error-handling.ts';
import { parseInput } from './request-input.ts';

class GapError extends Error {}

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ logger: false, bodyLimit: 64 });
  installErrorHandling(app, { accepts: 'application/json' });
  app.post('/echo', async (request) => parseInput(z.object({ n: z.number() }).strict(), request.body, 'body'));
  app.get('/throw/:kind', async (request) => {
    const kind = (request.params as { kind: string }).kind;
    if (kind === 'api') throw new ApiError(503, ErrorCode.unavailable, 'try later', { 'retry-after': '7' });
    if (kind === 'missing') throw new DomainError('not-found', 'no practice x');
    if (kind === 'budget') throw new DomainError('conflict', 'budget spent', ErrorCode.budgetExhausted);
    if (kind === 'invalid') throw new DomainError('invalid-input', 'month not over');
    if (kind === 'gap') throw new GapError('chunk gap');
    if (kind === 'limited') throw Object.assign(new Error('slow down'), { statusCode: 429 });
    throw new Error('secret detail of a crash');
  });
  await app.register(async (scope) => {
    scope.setErrorHandler(
      errorHandler({
        routeErrors: (e) => (e instanceof GapError ? new ApiError(409, ErrorCode.conflict, e.message) : null),
      }),
    );
    scope.get('/scoped/gap', async () => {
      throw new GapError('lines 10 to 20 are missing');
    });
  });
  await app.ready();
});

afterAll(() => app.close());

const error = async (options: InjectOptions) => {
  const res = await app.inject(options);
  return { status: res.statusCode, body: res.json(), headers: res.headers };
};

describe('installErrorHandling', () => {
  it('answers ApiError with its status, code, message and headers', async () => {
    const res = await error({ url: '/throw/api' });
    expect([res.status, res.body, res.headers['retry-after']]).toEqual([
      503,
      { error: { code: 'unavailable', message: 'try later' } },
      '7',
    ]);
  });

  it('maps domain errors: not found 404, conflict 409 with its code, invalid input 400', async () => {
    expect(await error({ url: '/throw/missing' })).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found', message: 'no practice x' } },
    });
    expect(await error({ url: '/throw/budget' })).toMatchObject({
      status: 409,
      body: { error: { code: 'budget_exhausted' } },
    });
    expect(await error({ url: '/throw/invalid' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_parameter', message: 'month not over' } },
    });
  });

  it('maps framework errors: bad JSON, too large, wrong content type, rate limit', async () => {
    const post = (payload: string, contentType = 'application/json') =>
      error({ method: 'POST', url: '/echo', payload, headers: { 'content-type': contentType } });
    expect(await post('{"n":')).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    expect(await post('')).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    expect(await post(JSON.stringify({ n: 'x'.repeat(100) }))).toEqual(
      expect.objectContaining({
        status: 413,
        body: { error: { code: 'payload_too_large', message: 'body exceeds 64 bytes' } },
      }),
    );
    expect(await post('n=1', 'application/x-www-form-urlencoded')).toMatchObject({
      status: 415,
      body: { error: { code: 'unsupported_media_type', message: 'send application/json' } },
    });
    expect(await error({ url: '/throw/limited' })).toMatchObject({
      status: 429,
      body: { error: { code: 'rate_limited' } },
    });
  });

  it('answers bad input with the part’s code, naming the field', async () => {
    const res = await error({ method: 'POST', url: '/echo', payload: { n: 'one' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_parameter');
    expect(res.body.error.message).toMatch(/^body n: /);
  });

  it('answers any other error with a 500 that does not leak its message', async () => {
    expect(await error({ url: '/throw/crash' })).toEqual(
      expect.objectContaining({ status: 500, body: { error: { code: 'internal', message: 'internal error' } } }),
    );
    expect(await error({ url: '/throw/gap' })).toMatchObject({ status: 500 });
  });

  it('answers unknown routes with a JSON 404', async () => {
    expect(await error({ url: '/nowhere' })).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('takes route-specific errors as an input of a scope’s handler', async () => {
    expect(await error({ url: '/scoped/gap' })).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', message: 'lines 10 to 20 are missing' } },
    });
  });
});
