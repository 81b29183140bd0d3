import type { Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';
import { SALT_TABLE_PREFIX } from './salt-expiry.ts';

/**
 * Creates the salt database and moves into it the salt tables that collectors made in the main
 * database before salts had a database of their own, so that today's visitor keys stay stable across
 * the upgrade and no salt is left where every service can read it. `server` must reach both databases
 * (the user migrations run as). A period present in both keeps every row (collectors adopt the
 * earliest-created salt); the rows are copied by INSERT … SELECT, never through SQL text. Idempotent:
 * re-run after the last collector of the old version stopped, should one have re-created a table.
 */
export async function prepareSaltDatabase(server: Db, mainDatabase: string, saltDatabase: string): Promise<string[]> {
  await server.command(`CREATE DATABASE IF NOT EXISTS ${sqlv.ident(saltDatabase)}`);
  const listed = async (database: string) =>
    new Set(
      (
        await server.rows<{ name: string }>(
          `SELECT name FROM system.tables WHERE database = ${sqlv.str(database)} AND name LIKE ${sqlv.likePrefix(SALT_TABLE_PREFIX)}`,
        )
      ).map((t) => t.name),
    );
  const [inMain, inSalts] = await Promise.all([listed(mainDatabase), listed(saltDatabase)]);
  const moved: string[] = [];
  for (const name of [...inMain].sort()) {
    const from = `${sqlv.ident(mainDatabase)}.${sqlv.ident(name)}`;
    const to = `${sqlv.ident(saltDatabase)}.${sqlv.ident(name)}`;
    if (inSalts.has(name)) {
      await server.command(`INSERT INTO ${to} SELECT * FROM ${from}`);
      await server.command(`DROP TABLE ${from}`);
    } else {
      // A rename keeps a Memory table's rows (verified on 18.16).
      await server.command(`RENAME TABLE ${from} TO ${to}`);
    }
    moved.push(name);
  }
  return moved;
}
