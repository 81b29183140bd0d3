import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClickHouse,
  migrate,
  migrationChecksum,
  MIGRATIONS_DIR,
  pendingMigrations,
  readReleasedMigrations,
  sqlv,
  type CommonConfig,
  type Db,
} from '@confidant/shared';
import { isolatedConfig } from '../support/test-env.ts';

/** A migrations folder as main had it at some commit: the named files (taken from the tree or from `extra`), no superseded list. */
async function historyDir(files: string[], extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  for (const file of files) {
    if (extra[file] !== undefined) await writeFile(join(dir, file), extra[file]);
    else await copyFile(join(MIGRATIONS_DIR, file), join(dir, file));
  }
  await writeFile(join(dir, 'released.json'), JSON.stringify({ released: {}, superseded: {} }));
  return dir;
}

// The superseded 0021 as commit 59a676b shipped it (kept here, not in the tree: only its effect matters).
const SUPERSEDED_0021 = `-- log_imports (0005) held import ids and prefix hashes that were SHA-256 of raw log lines: a line's
-- address could be recovered from such a hash by trying the addresses of one network. Imports now
-- hash line shapes only (time, method, status, length; collector \`lineShape\`), so the old rows,
-- useless under the new import ids, are removed with what they could give away.
TRUNCATE TABLE IF EXISTS log_imports;
`;
const BEFORE_21 = ['0001-practices.sql', '0002-rollups.sql', '0005-log-imports.sql', '0020-access.sql'];

describe('migrations from every history main has shipped', () => {
  const configs: CommonConfig[] = [];
  const dirs: string[] = [];
  const fresh = () => {
    const config = isolatedConfig('migrations');
    configs.push(config);
    return config;
  };
  const tables = async (db: Db) =>
    (await db.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map(
      (r) => r.name,
    );
  let server: Db;
  beforeAll(() => {
    server = connectClickHouse(isolatedConfig('migrations').clickhouse, { database: null });
  });
  afterAll(async () => {
    for (const c of configs) await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(c.clickhouse.database)}`);
    await server.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('the superseded 0021 is the file the registry names', async () => {
    const { superseded } = await readReleasedMigrations();
    expect(superseded['0021-forget-raw-line-hashes.sql']).toBe(migrationChecksum(SUPERSEDED_0021));
  });

  it('a database that applied the original 0021 keeps its import progress', async () => {
    const config = fresh();
    const dir = await historyDir([...BEFORE_21, '0021-log-import-ledger.sql']);
    dirs.push(dir);
    await migrate(config.clickhouse, dir);
    const db = connectClickHouse(config.clickhouse);
    try {
      await db.command(
        `INSERT INTO log_import_ledger (import_id, practice_id, lines_committed, prefix_hash, updated_at) VALUES ('imp', 'p1', 4200, 'h', now())`,
      );
      const { applied } = await migrate(config.clickhouse);
      expect(applied).toContain('0022-log-import-progress');
      const names = await tables(db);
      expect(names).toContain('log_import_progress');
      expect(names).not.toContain('log_import_ledger');
      expect(names).not.toContain('log_imports');
      expect(
        await db.rows(
          'SELECT import_id, practice_id, toString(lines_committed) AS n, prefix_hash FROM log_import_progress',
        ),
      ).toEqual([{ import_id: 'imp', practice_id: 'p1', n: '4200', prefix_hash: 'h' }]);
    } finally {
      await db.close();
    }
  });

  it('a database that applied the superseded 0021 is accepted and reaches the same schema', async () => {
    const config = fresh();
    const dir = await historyDir([...BEFORE_21, '0021-forget-raw-line-hashes.sql'], {
      '0021-forget-raw-line-hashes.sql': SUPERSEDED_0021,
    });
    dirs.push(dir);
    await migrate(config.clickhouse, dir);
    await migrate(config.clickhouse);
    const db = connectClickHouse(config.clickhouse);
    try {
      const names = await tables(db);
      expect(names).toContain('log_import_progress');
      expect(names).toContain('import_line_ledger');
      expect(names).not.toContain('log_imports');
      expect(names).not.toContain('log_import_ledger');
    } finally {
      await db.close();
    }
  });

  it('a database that applied 0022 and 0023 as commit 35d6850 shipped them is accepted and reaches the same schema', async () => {
    const old = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
    const before = await historyDir(
      [...BEFORE_21, '0021-log-import-ledger.sql', '0022-log-import-progress.sql', '0023-import-line-ledger.sql'],
      {
        '0022-log-import-progress.sql': await old('0022-log-import-progress.35d6850.sql'),
        '0023-import-line-ledger.sql': await old('0023-import-line-ledger.35d6850.sql'),
      },
    );
    dirs.push(before);
    const upgraded = fresh();
    await migrate(upgraded.clickhouse, before);
    await migrate(upgraded.clickhouse);
    const current = fresh();
    await migrate(current.clickhouse);
    const schema = async (config: CommonConfig) => {
      const db = connectClickHouse(config.clickhouse);
      try {
        return {
          tables: await tables(db),
          columns: await db.rows<{ table: string; name: string; type: string }>(
            'SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY table, name',
          ),
          keys: (await db.rows<{ n: string }>('SELECT toString(count()) AS n FROM import_bucket_key'))[0]!.n,
        };
      } finally {
        await db.close();
      }
    };
    const [a, b] = [await schema(upgraded), await schema(current)];
    expect(a.tables.sort()).toEqual(b.tables.sort());
    expect(a.tables).toContain('zz_processor_ledger_v3_mv');
    expect(a.tables).not.toContain('processor_ledger_v2_mv');
    expect(a.tables).not.toContain('zz_processor_ledger_v2_mv');
    // The one difference 18.16 cannot remove conditionally: an unused column of the first 0022 (see 0025).
    expect(a.columns.filter((c) => !(c.table === 'log_import_progress' && c.name === 'bucket_secret'))).toEqual(
      b.columns,
    );
    expect([a.keys, b.keys]).toEqual(['1', '1']);
  });

  it('a released migration changed after it was applied is refused', async () => {
    const config = fresh();
    await migrate(config.clickhouse);
    const dir = await historyDir(['0001-practices.sql'], {
      '0001-practices.sql': 'CREATE TABLE IF NOT EXISTS x (a UInt8) ENGINE = Memory;\n',
    });
    dirs.push(dir);
    await expect(migrate(config.clickhouse, dir)).rejects.toThrow(/was changed after it was applied/);
  });

  it('tells a writer which migrations of this release a database still lacks', async () => {
    const config = fresh();
    const all = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const before = await historyDir(all.slice(0, -1));
    dirs.push(before);
    await migrate(config.clickhouse, before);
    const db = connectClickHouse(config.clickhouse);
    try {
      expect(await pendingMigrations(db)).toEqual([all.at(-1)!.replace(/\.sql$/, '')]);
      await migrate(config.clickhouse);
      expect(await pendingMigrations(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
