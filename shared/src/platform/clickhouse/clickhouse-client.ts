import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { CommonConfig } from '../config/env-config.ts';

/**
 * Settings sent with every request. Only settings that 18.16 and 24.x both know:
 * an unknown setting fails the whole request. Disconnecting does not stop a query,
 * so every query carries a time limit.
 */
export const PORTABLE_SETTINGS = {
  max_execution_time: 30,
  wait_end_of_query: 1,
} as const;

export type Db = {
  client: ClickHouseClient;
  database: string;
  url: string;
  /** Run a statement that returns no rows (DDL, ALTER, INSERT … SELECT). */
  command(query: string): Promise<void>;
  /** Run a SELECT and return its rows (64-bit integers come back as strings). */
  rows<T>(query: string): Promise<T[]>;
  /** Insert rows as a JSON body: the values never become SQL text (nor a failed statement's log line). */
  insert(table: string, rows: Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
};

export function connectClickHouse(config: CommonConfig['clickhouse'], options: { database?: string | null } = {}): Db {
  const database = options.database === undefined ? config.database : options.database;
  const client = createClient({
    url: config.url,
    username: config.user,
    password: config.password,
    ...(database ? { database } : {}),
    request_timeout: 60_000,
    clickhouse_settings: PORTABLE_SETTINGS,
    compression: { request: false, response: false },
  });
  return {
    client,
    database: database ?? 'default',
    url: config.url,
    async command(query) {
      await client.command({ query });
    },
    async rows<T>(query: string) {
      const result = await client.query({ query, format: 'JSONEachRow' });
      return (await result.json()) as T[];
    },
    async insert(table, rows) {
      await client.insert({ table, values: rows, format: 'JSONEachRow' });
    },
    close: () => client.close(),
  };
}

/** ClickHouse errors are plain Errors on 18.16 (no `code`); read it from the text. */
export function clickHouseErrorCode(error: unknown): number | null {
  const match = /Code: (\d+)/.exec(error instanceof Error ? error.message : String(error));
  return match ? Number(match[1]) : null;
}

export async function serverVersion(db: Db): Promise<string> {
  const [row] = await db.rows<{ v: string }>('SELECT version() AS v');
  return row?.v ?? 'unknown';
}

export async function isClickHouseReady(db: Db): Promise<boolean> {
  try {
    const ping = await db.client.ping();
    return ping.success;
  } catch {
    return false;
  }
}
