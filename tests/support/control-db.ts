// Control-plane databases for integration tests: one per use, on the PostgreSQL `infra/up` runs
// (or the one POSTGRES_URL names), dropped afterwards unless KEEP_TEST_DATA=1.
import { randomBytes } from 'node:crypto';
import { CONTROL_DB_DEFAULTS, connectControlDb, type ControlDbConfig } from '@confidant/shared';
import { testEnv } from './test-env.ts';

const SERVER_URL = process.env.POSTGRES_URL ?? 'postgres://confidant:confidant@127.0.0.1:5432/confidant';

export function isolatedControlDb(label: string): ControlDbConfig {
  const url = new URL(SERVER_URL);
  url.pathname = `/t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  return { ...CONTROL_DB_DEFAULTS, url: url.toString() };
}

export async function dropControlDatabase(config: ControlDbConfig): Promise<void> {
  if (testEnv.keepData) return;
  const database = new URL(config.url).pathname.slice(1);
  const server = new URL(config.url);
  server.pathname = '/postgres';
  const db = connectControlDb({ ...config, url: server.toString(), poolMax: 1 });
  try {
    await db.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await db.close();
  }
}
