import { z } from 'zod';
import { CONTROL_DB_DEFAULTS, type ControlDbConfig } from '../postgres/control-db.ts';

/**
 * Config is read from the environment once, at start, and passed down. A bad value
 * stops the service with a message naming the variable.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type EnvShape = Record<string, z.ZodType>;
export type Env = Record<string, string | undefined>;

export function parseEnv<S extends EnvShape>(shape: S, env: Env): { [K in keyof S]: z.output<S[K]> } {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return `  ${name}=${JSON.stringify(env[name] ?? null)}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data as { [K in keyof S]: z.output<S[K]> };
}

/** Reusable field parsers (environment values are strings). */
export const envField = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  url: (fallback: string) => z.url().default(fallback),
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  name: (fallback: string) =>
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only')
      .default(fallback),
  topicPrefix: (fallback: string) =>
    z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only')
      .default(fallback),
};

/** Settings every service shares: where the engines are and how names are namespaced. */
export const commonEnvShape = {
  KAFKA_BROKERS: envField.list('127.0.0.1:9092'),
  KAFKA_TOPIC_PREFIX: envField.topicPrefix('confidant'),
  CLICKHOUSE_URL: envField.url('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: envField.string('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: envField.name('confidant'),
  /** The control plane (practices, partners, keys, releases, ledgers). */
  POSTGRES_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .default('postgres://confidant:confidant@127.0.0.1:5432/confidant'),
  POSTGRES_POOL_MAX: envField.int(CONTROL_DB_DEFAULTS.poolMax, 1, 1000),
  POSTGRES_STATEMENT_TIMEOUT_MS: envField.int(CONTROL_DB_DEFAULTS.statementTimeoutMs, 100, 600_000),
  LOG_LEVEL: envField.logLevel(),
  /** How long a stopping service may take to finish requests and close its engines before it exits 1. */
  SHUTDOWN_GRACE_MS: envField.int(10_000, 100, 600_000),
};

/**
 * Where the visitor-key salts live: a database of their own, reached with a user of its own, so that
 * a service without these settings (processor, reporter) holds no way to a salt. Read only by the
 * collector and the admin CLI. The database defaults to `<CLICKHOUSE_DATABASE>_salts` (an isolated
 * main database gets an isolated salt database); the user defaults to CLICKHOUSE_USER and its password.
 */
export const saltStoreEnvShape = {
  CLICKHOUSE_SALT_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only')
    .optional(),
  CLICKHOUSE_SALT_USER: z.string().min(1).optional(),
  CLICKHOUSE_SALT_PASSWORD: z.string().optional(),
};

/** The settings of `commonEnvShape`; every service's config is this plus its own fields, side by side. */
export type ClickHouseConfig = { url: string; user: string; password: string; database: string };

export type CommonConfig = {
  kafka: { brokers: string[]; topicPrefix: string; clientId: string };
  clickhouse: ClickHouseConfig;
  controlPlane: ControlDbConfig;
  logLevel: string;
  shutdownGraceMs: number;
};

/**
 * Months of aggregates kept: the processor drops older partitions and the privacy audit flags them,
 * so both read this one definition.
 */
export const retentionEnvShape = { RETENTION_MONTHS: envField.int(25, 1, 1200) };

/**
 * k of the rare-value rule: a free-text value (FREE_TEXT_DIMENSIONS) seen from fewer distinct
 * visitors in a day is stored as `(rare)` once the day is sealed.
 */
export const DEFAULT_RARE_VALUE_MIN_VISITORS = 3;
export const rareValueEnvShape = {
  RARE_VALUE_MIN_VISITORS: envField.int(DEFAULT_RARE_VALUE_MIN_VISITORS, 1, 1000),
};

export function loadCommonConfig(clientId: string, env: Env = process.env): CommonConfig {
  const e = parseEnv(commonEnvShape, env);
  return {
    kafka: { brokers: e.KAFKA_BROKERS, topicPrefix: e.KAFKA_TOPIC_PREFIX, clientId },
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
    },
    controlPlane: {
      url: e.POSTGRES_URL,
      poolMax: e.POSTGRES_POOL_MAX,
      statementTimeoutMs: e.POSTGRES_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: CONTROL_DB_DEFAULTS.connectTimeoutMs,
    },
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  };
}

/** The salt store's connection (`saltStoreEnvShape`); its database is never the main one. */
export function loadSaltStoreConfig(env: Env = process.env): ClickHouseConfig {
  const e = parseEnv({ ...commonEnvShape, ...saltStoreEnvShape }, env);
  const database = e.CLICKHOUSE_SALT_DATABASE ?? `${e.CLICKHOUSE_DATABASE}_salts`;
  if (database === e.CLICKHOUSE_DATABASE)
    throw new ConfigError(
      `invalid configuration:\n  CLICKHOUSE_SALT_DATABASE=${JSON.stringify(database)}: must differ from CLICKHOUSE_DATABASE (every service can read that one)`,
    );
  const ownUser = e.CLICKHOUSE_SALT_USER !== undefined;
  return {
    url: e.CLICKHOUSE_URL,
    user: e.CLICKHOUSE_SALT_USER ?? e.CLICKHOUSE_USER,
    password: e.CLICKHOUSE_SALT_PASSWORD ?? (ownUser ? '' : e.CLICKHOUSE_PASSWORD),
    database,
  };
}

/**
 * A service's config in the one flat shape: the common settings side by side with the service's own,
 * which `own` maps from the variables of `shape`. Every bad variable, common or not, is named at once.
 */
export function loadServiceConfig<S extends EnvShape, T extends object>(
  clientId: string,
  shape: S,
  env: Env,
  own: (e: { [K in keyof S]: z.output<S[K]> }) => T,
): CommonConfig & T {
  const e = parseEnv({ ...commonEnvShape, ...shape }, env);
  return { ...loadCommonConfig(clientId, env), ...own(e) };
}
