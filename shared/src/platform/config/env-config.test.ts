import { describe, expect, it } from 'vitest';
import { ConfigError, envField, loadSaltStoreConfig, loadServiceConfig, retentionEnvShape } from './env-config.ts';

const load = (env: Record<string, string>) =>
  loadServiceConfig('test-service', { ...retentionEnvShape, TEST_PORT: envField.port(9000) }, env, (e) => ({
    port: e.TEST_PORT,
    retentionMonths: e.RETENTION_MONTHS,
  }));

describe('loadServiceConfig', () => {
  it('gives one flat shape: the common settings beside the service’s own', () => {
    const config = load({ TEST_PORT: '9100', KAFKA_TOPIC_PREFIX: 'x' });
    expect(config).toMatchObject({
      kafka: { topicPrefix: 'x', clientId: 'test-service' },
      clickhouse: { database: 'confidant' },
      logLevel: 'info',
      shutdownGraceMs: 10_000,
      port: 9100,
      retentionMonths: 25,
    });
    expect(config).not.toHaveProperty('common');
  });

  it('names every bad variable at once, common and own', () => {
    expect(() => load({ TEST_PORT: 'high', CLICKHOUSE_DATABASE: 'no-dashes' })).toThrow(ConfigError);
    expect(() => load({ TEST_PORT: 'high', CLICKHOUSE_DATABASE: 'no-dashes' })).toThrow(
      /CLICKHOUSE_DATABASE="no-dashes"[\s\S]*TEST_PORT="high"/,
    );
  });

  it('bounds RETENTION_MONTHS to 1..1200 for every service that reads it', () => {
    expect(load({ RETENTION_MONTHS: '1' }).retentionMonths).toBe(1);
    expect(load({ RETENTION_MONTHS: '1200' }).retentionMonths).toBe(1200);
    for (const bad of ['0', '1201', 'many']) expect(() => load({ RETENTION_MONTHS: bad })).toThrow(/RETENTION_MONTHS/);
  });
});

describe('loadSaltStoreConfig', () => {
  it('defaults to a salt database beside the main one, reached as the main user', () => {
    expect(loadSaltStoreConfig({ CLICKHOUSE_DATABASE: 't_x', CLICKHOUSE_USER: 'u', CLICKHOUSE_PASSWORD: 'p' })).toEqual(
      {
        url: 'http://127.0.0.1:8123',
        user: 'u',
        password: 'p',
        database: 't_x_salts',
      },
    );
  });

  it('takes a user of its own, whose password is never the main user’s', () => {
    const env = { CLICKHOUSE_PASSWORD: 'main-secret', CLICKHOUSE_SALT_USER: 'salts', CLICKHOUSE_SALT_DATABASE: 's' };
    expect(loadSaltStoreConfig(env)).toMatchObject({ user: 'salts', password: '', database: 's' });
    expect(loadSaltStoreConfig({ ...env, CLICKHOUSE_SALT_PASSWORD: 'x' }).password).toBe('x');
  });

  it('refuses the main database and names a bad variable', () => {
    expect(() => loadSaltStoreConfig({ CLICKHOUSE_SALT_DATABASE: 'confidant' })).toThrow(
      /CLICKHOUSE_SALT_DATABASE="confidant"/,
    );
    expect(() => loadSaltStoreConfig({ CLICKHOUSE_SALT_DATABASE: 'no-dashes' })).toThrow(ConfigError);
  });
});
