import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClickHouse, migrate, MIGRATIONS_DIR, sqlv, type CommonConfig, type Db } from '@confidant/shared';

/**
 * A folder holding the ClickHouse migrations numbered below `version` (e.g. '0030'), as a database
 * was migrated before that migration shipped; no released or superseded list. The caller removes it.
 */
export async function migrationsBefore(version: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql') && f < version))
    await copyFile(join(MIGRATIONS_DIR, file), join(dir, file));
  await writeFile(join(dir, 'released.json'), JSON.stringify({ released: {}, superseded: {} }));
  return dir;
}

/**
 * The test's ClickHouse database migrated up to (not including) `version`, and how to remove it
 * with its migrations folder.
 */
export async function databaseBefore(
  config: CommonConfig,
  version: string,
): Promise<{ db: Db; remove: () => Promise<void> }> {
  const dir = await migrationsBefore(version);
  await migrate(config.clickhouse, dir);
  const db = connectClickHouse(config.clickhouse);
  const remove = async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
    const server = connectClickHouse(config.clickhouse, { database: null });
    await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
    await server.close();
  };
  return { db, remove };
}
