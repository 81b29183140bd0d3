import { prepareSaltDatabase } from '../operations/salt-database.ts';
import type { ClickHouseConfig, CommonConfig } from './config/env-config.ts';
import { connectClickHouse } from './clickhouse/clickhouse-client.ts';
import { migrate } from './clickhouse/migrate.ts';
import type { ControlDbConfig } from './postgres/control-db.ts';
import { connectControlDb } from './postgres/control-db.ts';
import { migrateControlPlane } from './postgres/control-migrate.ts';
import { moveLegacyControlPlane, type LegacyMove } from './postgres/legacy-control-plane.ts';

/**
 * ClickHouse has no lock of its own, and every service start and admin command migrates: two at once
 * would both apply a pending migration, and a copy guarded by "the new table is still empty" (0026)
 * would copy twice. They take turns on this PostgreSQL advisory lock; the later one finds the
 * ledger up to date.
 */
const CLICKHOUSE_MIGRATIONS_LOCK = 'confidant.clickhouse-migrations';
const LOCK_POLL_MS = 250;

/**
 * The one way to bring both stores to the current schema: the control plane first, then the rows
 * ClickHouse still holds from before the move, then ClickHouse's migrations (one of which drops
 * those tables, so the copy must come first). Given the salt store's settings (migrations and the admin
 * CLI have them; the processor and the reporter do not), it also creates the salt database and moves
 * into it any salt table still in the main database.
 */
export async function migrateStores(config: {
  clickhouse: CommonConfig['clickhouse'];
  controlPlane: ControlDbConfig;
  salts?: ClickHouseConfig;
}): Promise<{ controlPlane: string[]; legacy: LegacyMove; clickhouse: string[]; saltTablesMoved: string[] }> {
  const controlPlane = (await migrateControlPlane(config.controlPlane)).applied;
  const ch = connectClickHouse(config.clickhouse, { database: null });
  const control = connectControlDb(config.controlPlane);
  let legacy: LegacyMove;
  let clickhouse: string[] | null;
  try {
    legacy = await moveLegacyControlPlane(ch, config.clickhouse.database, control);
    for (;;) {
      clickhouse = await control.exclusively(
        CLICKHOUSE_MIGRATIONS_LOCK,
        async () => (await migrate(config.clickhouse)).applied,
      );
      if (clickhouse) break;
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  } finally {
    await Promise.all([ch.close(), control.close()]);
  }
  let saltTablesMoved: string[] = [];
  if (config.salts) {
    const server = connectClickHouse(config.clickhouse, { database: null });
    try {
      saltTablesMoved = await prepareSaltDatabase(server, config.clickhouse.database, config.salts.database);
    } finally {
      await server.close();
    }
  }
  return { controlPlane, legacy, clickhouse, saltTablesMoved };
}
