// The salt database is reachable by the salts user only: the users of infra/clickhouse/users.xml, which
// `npm start` runs the services as. Their databases are the stack's (`confidant`, `confidant_salts`):
// 18.16 lists a user's databases by exact name, so this file probes those with tables of its own.
import { randomBytes } from 'node:crypto';
import {
  clickHouseErrorCode,
  connectClickHouse,
  loadCommonConfig,
  loadSaltStoreConfig,
  sqlv,
  type Db,
} from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const env = { ...process.env, CLICKHOUSE_DATABASE: 'confidant', CLICKHOUSE_SALT_DATABASE: 'confidant_salts' };
const main = loadCommonConfig('salt-isolation', env).clickhouse;
const saltsDb = loadSaltStoreConfig(env).database;
const probe = `isolation_probe_${randomBytes(4).toString('hex')}`;
const as = (user: string, database: string | null): Db =>
  connectClickHouse({ ...main, user, password: '' }, { database });
/** 18.16: DATABASE_ACCESS_DENIED; modern ClickHouse: ACCESS_DENIED. */
const ACCESS_DENIED = [291, 497];

async function denied(run: () => Promise<unknown>): Promise<number | null> {
  try {
    await run();
  } catch (error) {
    return clickHouseErrorCode(error);
  }
  return null;
}

let admin: Db;
const opened: Db[] = [];
const connect = (user: string, database: string | null) => {
  const db = as(user, database);
  opened.push(db);
  return db;
};

describe.skipIf(process.env.TEST_ENGINES === 'testcontainers')('salt database isolation (users.xml)', () => {
  beforeAll(async () => {
    admin = connectClickHouse(main, { database: null });
    const unknown = await denied(() => as('confidant_salts', null).rows('SELECT 1'));
    if (unknown !== null)
      throw new Error(
        `ClickHouse does not know the users of infra/clickhouse/users.xml (code ${unknown}): run infra/up, which re-renders users.xml for the running server`,
      );
    for (const database of [main.database, saltsDb]) {
      await admin.command(`CREATE DATABASE IF NOT EXISTS ${sqlv.ident(database)}`);
      await admin.command(`CREATE TABLE ${sqlv.ident(database)}.${sqlv.ident(probe)} (x String) ENGINE = Memory`);
      await admin.insert(`${sqlv.ident(database)}.${sqlv.ident(probe)}`, [{ x: database }]);
    }
  });

  afterAll(async () => {
    for (const database of [main.database, saltsDb])
      await admin?.command(`DROP TABLE IF EXISTS ${sqlv.ident(database)}.${sqlv.ident(probe)}`);
    await Promise.all([admin?.close(), ...opened.map((db) => db.close())]);
  });

  const qualified = (database: string) => `${sqlv.ident(database)}.${sqlv.ident(probe)}`;
  const listed = (db: Db, database: string) =>
    db.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${sqlv.str(database)}`);

  it.each(['confidant_reporter', 'confidant_processor', 'confidant_collector'])(
    '%s reads the main database and cannot read, list or open the salt database',
    async (user) => {
      const db = connect(user, main.database);
      expect(await db.rows(`SELECT x FROM ${sqlv.ident(probe)}`)).toEqual([{ x: main.database }]);
      expect(ACCESS_DENIED).toContain(await denied(() => db.rows(`SELECT x FROM ${qualified(saltsDb)}`)));
      expect(ACCESS_DENIED).toContain(await denied(() => db.command(`DROP TABLE ${qualified(saltsDb)}`)));
      expect(await listed(db, saltsDb)).toEqual([]);
      expect(ACCESS_DENIED).toContain(await denied(() => connect(user, saltsDb).rows('SELECT 1')));
    },
  );

  it('confidant_salts reads the salt database and nothing of the main one', async () => {
    const db = connect('confidant_salts', saltsDb);
    expect(await db.rows(`SELECT x FROM ${sqlv.ident(probe)}`)).toEqual([{ x: saltsDb }]);
    expect((await listed(db, saltsDb)).map((t) => t.name)).toContain(probe);
    expect(ACCESS_DENIED).toContain(await denied(() => db.rows(`SELECT x FROM ${qualified(main.database)}`)));
    expect(await listed(db, main.database)).toEqual([]);
  });
});
