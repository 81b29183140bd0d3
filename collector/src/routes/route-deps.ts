import { ApiError, ErrorCode, type Logger } from '@confidant/shared';
import type { CollectorConfig } from '../collector.config.ts';
import type { Metrics } from '../metrics.ts';
import type { PracticeRegistry } from '../registry/practice-registry.ts';
import type { HitContext } from './hit-handler.ts';

/** What the collector's route plugins receive from `buildApp`. */
export type RouteDeps = {
  config: CollectorConfig;
  logger: Logger;
  registry: PracticeRegistry;
  metrics: Metrics;
  hits: HitContext;
};

/**
 * The answer for a site the registry does not know: 404, or 503 + Retry-After while the registry has
 * never loaded (the control plane was away at start), so that clients retry instead of losing the hit.
 */
export function unknownSite(registry: Pick<PracticeRegistry, 'loaded'>, message: string): ApiError {
  return registry.loaded()
    ? new ApiError(404, ErrorCode.unknownSite, message)
    : new ApiError(503, ErrorCode.unavailable, 'practices not loaded yet; retry shortly', { 'retry-after': '5' });
}
