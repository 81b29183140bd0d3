import { writeFile } from 'node:fs/promises';
import { connectClickHouse, connectControlDb, migrateStores, type ControlDb, type Db } from '@confidant/shared';
import type { AdminConfig } from './admin.config.ts';

export type AdminIo = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

/** What every command group is given: the config, where to write, and the database. */
export type CommandContext = {
  config: AdminConfig;
  io: AdminIo;
  /** Applies pending migrations, then runs `fn` with connections to ClickHouse and the control plane, closed afterwards. */
  withDb<T>(fn: (db: Db, control: ControlDb) => Promise<T>): Promise<T>;
  /** Writes a string as it is and anything else as indented JSON, on stdout. */
  print(value: unknown): void;
  /** Writes `text` to the file `out` (saying so on stderr), or to stdout. */
  output(text: string, out: string | undefined): Promise<void>;
};

export function createCommandContext(config: AdminConfig, io: AdminIo): CommandContext {
  return {
    config,
    io,
    async withDb(fn) {
      await migrateStores(config);
      const db = connectClickHouse(config.clickhouse);
      const control = connectControlDb(config.controlPlane);
      try {
        return await fn(db, control);
      } finally {
        await Promise.all([db.close(), control.close()]);
      }
    },
    print: (value) => void io.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`),
    async output(text, out) {
      if (out) {
        await writeFile(out, text);
        io.stderr.write(`written to ${out}\n`);
      } else {
        io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
    },
  };
}
