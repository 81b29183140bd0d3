import type { Logger } from '@confidant/shared';
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
