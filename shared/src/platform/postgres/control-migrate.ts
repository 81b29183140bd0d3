import { fileURLToPath } from 'node:url';
import { readMigrations, readReleasedMigrations } from '../clickhouse/migrate.ts';
import { connectControlDb, ensureControlDatabase, type ControlDbConfig } from './control-db.ts';

/** Numbered, forward-only SQL files for the control plane, like the ClickHouse ones (and checked the same way). */
export const CONTROL_MIGRATIONS_DIR = fileURLToPath(new URL('../../../control-migrations', import.meta.url));

// pg_advisory_xact_lock key: concurrent service starts apply each migration once.
const MIGRATION_LOCK = 0x636f6e66; // "conf"

/**
 * Creates the database if needed and applies pending migrations in one transaction (PostgreSQL's
 * DDL is transactional: all or nothing), recording each in `schema_migrations`. A migration whose
 * file changed after it was applied is an error.
 */
export async function migrateControlPlane(
  config: ControlDbConfig,
  dir = CONTROL_MIGRATIONS_DIR,
): Promise<{ applied: string[] }> {
  await ensureControlDatabase(config);
  const migrations = await readMigrations(dir);
  const { superseded } = await readReleasedMigrations(dir);
  const supersededByVersion = new Map(Object.entries(superseded).map(([file, sum]) => [Number(file.slice(0, 4)), sum]));
  const db = connectControlDb({ ...config, poolMax: 1 });
  try {
    return await db
      .transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        await tx.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
        );
        const done = new Map(
          (
            await tx.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations')
          ).map((r) => [r.version, r.checksum]),
        );
        const applied: string[] = [];
        for (const migration of migrations) {
          const seen = done.get(migration.version);
          if (seen !== undefined) {
            if (seen !== migration.checksum && seen !== supersededByVersion.get(migration.version))
              throw new Error(
                `migration ${migration.name} was changed after it was applied; add a new migration instead`,
              );
            continue;
          }
          for (const statement of migration.statements) await tx.query(statement);
          await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            migration.checksum,
          ]);
          applied.push(migration.name);
        }
        return applied;
      })
      .then((applied) => ({ applied }));
  } finally {
    await db.close();
  }
}
