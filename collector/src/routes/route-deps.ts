import { ApiError, ErrorCode, type Logger } from '@confidant/shared';
import type { z } from 'zod';
import type { CollectorConfig } from '../collector.config.ts';
import type { Metrics } from '../metrics.ts';
import type { PracticeRegistry } from '../registry/practice-registry.ts';
import type { HitContext } from './hit-handler.ts';

/** What every route module receives from `buildApp`. */
export type RouteDeps = {
  config: CollectorConfig;
  logger: Logger;
  registry: PracticeRegistry;
  metrics: Metrics;
  hits: HitContext;
};

/** Parses a JSON body that arrived as a string (text/plain or application/json). */
export function parseJsonBody(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '')
    throw new ApiError(400, ErrorCode.invalidJson, 'body must be a JSON object');
  try {
    return JSON.parse(body);
  } catch {
    throw new ApiError(400, ErrorCode.invalidJson, 'body is not valid JSON');
  }
}

/** Validates with zod and names the first offending field in a 400. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new ApiError(400, ErrorCode.invalidBody, `${field}: ${issue.message}`);
}
