import { envField, parseEnv, type Env } from '@confidant/shared';
import { z } from 'zod';

export type SampleSiteConfig = { port: number; host: string; collectorUrl: string; siteKey: string };

export function loadSampleSiteConfig(env: Env = process.env): SampleSiteConfig {
  const e = parseEnv(
    {
      SAMPLE_SITE_PORT: envField.port(8090),
      SAMPLE_SITE_HOST: envField.string('127.0.0.1'),
      COLLECTOR_PORT: envField.port(8080),
      /** Where browsers reach the collector; empty means the local one on COLLECTOR_PORT. */
      SAMPLE_SITE_COLLECTOR_URL: z.string().default(''),
      SAMPLE_SITE_KEY: envField.string('demo-riverside'),
    },
    env,
  );
  return {
    port: e.SAMPLE_SITE_PORT,
    host: e.SAMPLE_SITE_HOST,
    collectorUrl: (e.SAMPLE_SITE_COLLECTOR_URL || `http://127.0.0.1:${e.COLLECTOR_PORT}`).replace(/\/$/, ''),
    siteKey: e.SAMPLE_SITE_KEY,
  };
}
