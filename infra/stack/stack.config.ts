// Where the local stack's services listen and keep their files; read once by the stack scripts.
import { fileURLToPath } from 'node:url';
import { envField, parseEnv } from '@confidant/shared';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function loadStackConfig(env = process.env) {
  const e = parseEnv(
    {
      COLLECTOR_PORT: envField.port(8080),
      REPORTER_PORT: envField.port(8081),
      PROCESSOR_METRICS_PORT: envField.port(8082),
      SAMPLE_SITE_PORT: envField.port(8090),
      STACK_STATUS_PORT: envField.port(8089),
      // The engines' scripts honour the same variable (infra/lib/common.sh): a private stack keeps everything there.
      CONFIDANT_DATA_DIR: envField.string(`${ROOT}.data`),
      // 0: skip the demo practices and preload (tests that only need the services up).
      STACK_DEMO: envField.bool(true),
    },
    env,
  );
  return {
    root: ROOT,
    collectorUrl: `http://127.0.0.1:${e.COLLECTOR_PORT}`,
    reporterUrl: `http://127.0.0.1:${e.REPORTER_PORT}`,
    processorUrl: `http://127.0.0.1:${e.PROCESSOR_METRICS_PORT}`,
    siteUrl: `http://127.0.0.1:${e.SAMPLE_SITE_PORT}`,
    statusPort: e.STACK_STATUS_PORT,
    logDir: `${e.CONFIDANT_DATA_DIR}/logs`,
    demo: e.STACK_DEMO,
    env: { SPOOL_DIR: `${e.CONFIDANT_DATA_DIR}/spool/collector`, ...env } as Record<string, string | undefined>,
  };
}
