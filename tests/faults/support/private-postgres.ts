import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { faults } from '../faults.config.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL of the fault suite's own (data dir, pid file, port), started and stopped with the
 * repo's infra scripts, so a test can really stop the control plane without touching the shared one.
 */
export class PrivatePostgres {
  private readonly env = {
    ...process.env,
    CONFIDANT_DATA_DIR: faults.privatePostgres.dataDir,
    POSTGRES_PORT: String(faults.privatePostgres.port),
  };

  /** The URL of `database` on this server. */
  url(database: string): string {
    return `postgres://confidant:confidant@127.0.0.1:${faults.privatePostgres.port}/${database}`;
  }

  async start(): Promise<void> {
    await run('bash', ['infra/postgres/start.sh'], { cwd: faults.root, env: this.env, timeout: 180_000 });
  }

  /** SIGTERM (PostgreSQL's fast shutdown), SIGKILL after 30 s: the server is gone when this returns. */
  async stop(): Promise<void> {
    await run('bash', ['infra/postgres/stop.sh'], { cwd: faults.root, env: this.env, timeout: 60_000 });
  }
}
