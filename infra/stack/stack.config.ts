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
  // Each service as its own ClickHouse user (infra/clickhouse/users.xml): only the collector and the salt
  // expiry job get the salts user; the processor and the reporter get no salt setting at all. Users
  // named from outside (other engines) are used as they are.
  const local = env.CLICKHOUSE_USER === undefined && env.CLICKHOUSE_SALT_USER === undefined;
  const noSalts = { CLICKHOUSE_SALT_USER: undefined, CLICKHOUSE_SALT_PASSWORD: undefined };
  const as = (user: string | undefined, salts: boolean) => ({
    ...(salts ? {} : noSalts),
    ...(local && user ? { CLICKHOUSE_USER: user } : {}),
    ...(local && salts ? { CLICKHOUSE_SALT_USER: 'confidant_salts' } : {}),
  });
  return {
    root: ROOT,
    demoDir: `${e.CONFIDANT_DATA_DIR}/demo/`,
    serviceEnv: {
      collector: as('confidant_collector', true),
      processor: as('confidant_processor', false),
      reporter: as('confidant_reporter', false),
      'sample-site': as(undefined, false),
      'salt-expiry': as(undefined, true),
    } as Record<string, Record<string, string | undefined>>,
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
