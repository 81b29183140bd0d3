import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrationChecksum, readMigrations, readReleasedMigrations } from './migrate.ts';

// Forward-only: once main has applied a migration, its file never changes (add a new one instead).
describe('released migrations', () => {
  it('every migration file is registered in released.json with its exact checksum', async () => {
    const { released } = await readReleasedMigrations();
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    expect(files).toEqual(Object.keys(released).sort());
    for (const file of files) {
      expect({ file, checksum: migrationChecksum(await readFile(join(MIGRATIONS_DIR, file), 'utf8')) }).toEqual({
        file,
        checksum: released[file],
      });
    }
  });

  it('a superseded file has a version that a released file still holds, and is not in the tree', async () => {
    const { released, superseded } = await readReleasedMigrations();
    const versions = new Set(Object.keys(released).map((f) => f.slice(0, 4)));
    const files = new Set(await readdir(MIGRATIONS_DIR));
    for (const file of Object.keys(superseded)) {
      expect(versions.has(file.slice(0, 4))).toBe(true);
      expect(files.has(file)).toBe(false);
    }
  });

  it('versions are unique and every file splits into statements', async () => {
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    for (const m of migrations) expect(m.statements.length).toBeGreaterThan(0);
  });
});
