import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TABLES } from '../../contracts/names.ts';
import type { CommonConfig } from '../config/env-config.ts';
import { connectClickHouse, type Db } from './clickhouse-client.ts';
import { ident, int, str } from './sql-values.ts';

/** Numbered, forward-only DDL files: `NNNN-name.sql`, statements separated by `;` at line end. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

export type Migration = { version: number; name: string; statements: string[]; checksum: string };

/** `released.json`: the checksum of every migration main has applied, and files main shipped and then replaced by mistake. */
export type ReleasedMigrations = { released: Record<string, string>; superseded: Record<string, string> };

export async function readReleasedMigrations(dir = MIGRATIONS_DIR): Promise<ReleasedMigrations> {
  const { released, superseded } = JSON.parse(await readFile(join(dir, 'released.json'), 'utf8')) as ReleasedMigrations;
  return { released, superseded };
}

export function migrationChecksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}-[a-z0-9-]+\.sql$/.test(f)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    migrations.push({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      statements: splitStatements(text),
      checksum: migrationChecksum(text),
    });
  }
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) throw new Error('two migrations share a version number');
  return migrations;
}

export function splitStatements(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Creates the database if needed, applies pending migrations in order and records each in
 * the ledger table. A migration whose file changed after it was applied is an error:
 * migrations are forward-only. A database that applied a superseded file of the same version
 * (see `released.json`) is accepted; the migrations after it converge both histories.
 */
export async function migrate(
  config: CommonConfig['clickhouse'],
  dir = MIGRATIONS_DIR,
): Promise<{ applied: string[] }> {
  const server = connectClickHouse(config, { database: null });
  try {
    await server.command(`CREATE DATABASE IF NOT EXISTS ${ident(config.database)}`);
  } finally {
    await server.close();
  }
  const db = connectClickHouse(config);
  try {
    const ledger = ident(TABLES.migrations);
    await db.command(
      `CREATE TABLE IF NOT EXISTS ${ledger} (version UInt32, name String, checksum String, applied_at DateTime('UTC')) ENGINE = MergeTree() ORDER BY version`,
    );
    const done = new Map(
      (await db.rows<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${ledger}`)).map((r) => [
        Number(r.version),
        r.checksum,
      ]),
    );
    // Checksums of superseded files, by version: a database that applied one is not refused.
    const superseded = new Map<number, string>();
    for (const [file, checksum] of Object.entries((await readReleasedMigrations(dir)).superseded))
      superseded.set(Number(file.slice(0, 4)), checksum);
    const applied: string[] = [];
    for (const migration of await readMigrations(dir)) {
      const seen = done.get(migration.version);
      if (seen !== undefined) {
        if (seen !== migration.checksum && seen !== superseded.get(migration.version))
          throw new Error(`migration ${migration.name} was changed after it was applied; add a new migration instead`);
        continue;
      }
      for (const statement of migration.statements) await db.command(statement);
      await db.command(
        `INSERT INTO ${ledger} (version, name, checksum, applied_at) VALUES (${int(migration.version)}, ${str(migration.name)}, ${str(migration.checksum)}, now())`,
      );
      applied.push(migration.name);
    }
    return { applied };
  } finally {
    await db.close();
  }
}

/**
 * The migrations of this release that `db`'s ledger does not list yet. A writer must not start on an
 * older schema: a copy that a migration guards by "the new table is still empty" would be skipped.
 */
export async function pendingMigrations(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const ledger = await db
    .rows<{ version: number }>(`SELECT version FROM ${ident(TABLES.migrations)}`)
    .catch(() => [] as Array<{ version: number }>);
  const done = new Set(ledger.map((r) => Number(r.version)));
  return (await readMigrations(dir)).filter((m) => !done.has(m.version)).map((m) => m.name);
}
