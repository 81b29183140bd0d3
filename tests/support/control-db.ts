// Control-plane databases of integration tests: `isolatedConfig` names one per test file (created by
// the first migration); this drops it afterwards unless KEEP_TEST_DATA=1.
import { connectControlDb, type ControlDbConfig } from '@confidant/shared';
import { isolatedConfig, testEnv } from './test-env.ts';

export const isolatedControlDb = (label: string): ControlDbConfig => isolatedConfig(label).controlPlane;

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
