import pg from 'pg';

/** Where the control plane lives (practices, partners, keys, releases, ledgers): one PostgreSQL database. */
export type ControlDbConfig = {
  /** `postgres://user:password@host:port/database` */
  url: string;
  poolMax: number;
  /** Per statement; a stuck query must not hold a request (or a release lock) forever. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
};

export const CONTROL_DB_DEFAULTS = { poolMax: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000 };

/** The queries a store may run: the pool itself or one transaction's client. */
export interface ControlQueries {
  query<R extends object>(text: string, values?: readonly unknown[]): Promise<R[]>;
}

export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

/** PostgreSQL cannot be reached (down, restarting, refusing connections): callers answer 503, not 500. */
export class ControlPlaneUnavailableError extends Error {
  override name = 'ControlPlaneUnavailableError';
}

// Connection-level failures: the server is away, not the statement wrong.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
// Shutdown, restart, connection failures, too many connections, and the two waits a request may
// not sit out: a statement over its timeout (57014) and a lock over `lock_timeout` (55P03).
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  '53300',
  '57014',
  '55P03',
]);
// Transactions PostgreSQL aborted to keep them serializable: safe to run again from the start.
const RETRY_SQLSTATES = new Set(['40001', '40P01']);
const TRANSACTION_ATTEMPTS = 8;

const sqlstate = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;

export function isUnavailable(error: unknown): boolean {
  if (error instanceof ControlPlaneUnavailableError) return true;
  const code = sqlstate(error);
  if (code && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/.test(
    message,
  );
}

const unavailable = (error: unknown): never => {
  if (isUnavailable(error))
    throw new ControlPlaneUnavailableError(`control plane unavailable: ${(error as Error).message}`, { cause: error });
  throw error;
};

/** A pool of connections to the control-plane database; only parameterised statements. */
export class ControlDb implements ControlQueries {
  private readonly pool: pg.Pool;

  constructor(readonly config: ControlDbConfig) {
    this.pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolMax,
      statement_timeout: config.statementTimeoutMs,
      connectionTimeoutMillis: config.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      // A half-open connection (a partition, a crashed host) must not hold a request until TCP gives up.
      keepAlive: true,
      query_timeout: config.statementTimeoutMs + 5_000,
    });
    // An idle connection the server closed (restart, outage) must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
  }

  async query<R extends object>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values as unknown[])).rows;
    } catch (error) {
      return unavailable(error);
    }
  }

  /**
   * Runs `fn` in one transaction. Serialization failures and deadlocks run it again from the start
   * (so `fn` must not have effects outside the database before it commits).
   */
  async transaction<T>(fn: (tx: ControlQueries) => Promise<T>, isolation: Isolation = 'read committed'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        return unavailable(error);
      }
      // The pool listens for errors of idle clients only: a connection lost while this one is checked
      // out (a restart in the middle of a release) must not become an uncaught 'error' event.
      const onLost = () => {};
      client.on('error', onLost);
      // Only this client's statements are classified: an error `fn` raises elsewhere (ClickHouse) stays as it is.
      const run = async <R extends object>(text: string, values: readonly unknown[] = []): Promise<R[]> => {
        try {
          return (await client.query<R>(text, values as unknown[])).rows;
        } catch (error) {
          return unavailable(error);
        }
      };
      let broken = false;
      try {
        await run(`BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}`);
        const result = await fn({ query: run });
        await run('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        const cause = error instanceof ControlPlaneUnavailableError ? error.cause : error;
        if (RETRY_SQLSTATES.has(sqlstate(cause) ?? '') && attempt < TRANSACTION_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          continue;
        }
        throw error;
      } finally {
        // A destroyed client keeps its listener: it may still report the lost connection.
        if (!broken) client.off('error', onLost);
        client.release(broken);
      }
    }
  }

  /**
   * Runs `fn` while holding the transaction-scoped advisory lock `name` (one holder across every
   * process that shares this database), or returns null at once when another holder has it. The lock
   * goes with its connection (a PostgreSQL restart, a network failure), and then another process
   * may take it: `stillHeld` throws once it is gone, for `fn` to check before each step it must
   * not share.
   */
  async exclusively<T>(name: string, fn: (stillHeld: () => Promise<void>) => Promise<T>): Promise<T | null> {
    return this.transaction(async (tx) => {
      const [row] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [
        name,
      ]);
      const stillHeld = async () => void (await tx.query('SELECT 1'));
      return row?.locked ? fn(stillHeld) : null;
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** True when PostgreSQL answers (readiness probes). */
export async function isControlPlaneReady(db: ControlQueries): Promise<boolean> {
  try {
    await db.query('SELECT 1 AS ok');
    return true;
  } catch {
    return false;
  }
}

export function connectControlDb(config: ControlDbConfig): ControlDb {
  return new ControlDb(config);
}

/** The database `config.url` names (checked: it is quoted into CREATE and DROP, which take no parameters). */
function databaseOf(config: ControlDbConfig): string {
  const database = decodeURIComponent(new URL(config.url).pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(database))
    throw new Error('the control-plane database name must be letters, digits and _ (at most 63)');
  return database;
}

/** Runs `fn` on the server's maintenance database `postgres`, where databases are created and dropped. */
async function onServer<T>(config: ControlDbConfig, fn: (server: ControlDb) => Promise<T>): Promise<T> {
  const maintenance = new URL(config.url);
  maintenance.pathname = '/postgres';
  const server = new ControlDb({ ...config, url: maintenance.toString(), poolMax: 1 });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/**
 * The database named by `url`, created when missing. An existing database is used as it is, so a
 * user without access to `postgres` or without CREATEDB (a managed server) can run with one made for it.
 */
export async function ensureControlDatabase(config: ControlDbConfig): Promise<void> {
  const database = databaseOf(config);
  const target = new ControlDb({ ...config, poolMax: 1 });
  try {
    await target.query('SELECT 1 AS ok');
    return;
  } catch (error) {
    if (sqlstate(error) !== '3D000') throw error; // 3D000: no such database
  } finally {
    await target.close();
  }
  await onServer(config, async (server) => {
    const [found] = await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found) return;
    await server.query(`CREATE DATABASE "${database}"`).catch((error: unknown) => {
      // Created meanwhile by another process: 42P04, or 23505 when both passed the catalog check at once.
      if (sqlstate(error) !== '42P04' && sqlstate(error) !== '23505') throw error;
    });
  });
}

/** Drops the database named by `url` (test and bench namespaces), closing its other connections. */
export async function dropControlDatabase(config: ControlDbConfig): Promise<void> {
  const database = databaseOf(config);
  await onServer(config, (server) => server.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
}
