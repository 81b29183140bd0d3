// Where the local stack's services listen; read once by the stack scripts.
import { envField, parseEnv } from '@confidant/shared';

export function loadStackConfig(env = process.env) {
  const e = parseEnv(
    {
      COLLECTOR_PORT: envField.port(8080),
      REPORTER_PORT: envField.port(8081),
      PROCESSOR_METRICS_PORT: envField.port(8082),
      SAMPLE_SITE_PORT: envField.port(8090),
    },
    env,
  );
  return {
    collectorUrl: `http://127.0.0.1:${e.COLLECTOR_PORT}`,
    reporterUrl: `http://127.0.0.1:${e.REPORTER_PORT}`,
    processorUrl: `http://127.0.0.1:${e.PROCESSOR_METRICS_PORT}`,
    siteUrl: `http://127.0.0.1:${e.SAMPLE_SITE_PORT}`,
    env: env as Record<string, string | undefined>,
  };
}
