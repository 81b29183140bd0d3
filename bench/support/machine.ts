import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { serverVersion, type Db } from '@confidant/shared';
import { ROOT } from './services.ts';

export type Machine = {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kafka: string;
  clickhouse: string;
};

/** The machine a run measured; `infra/status` knows the Kafka version (the protocol does not tell it). */
export async function describeMachine(db: Db): Promise<Machine> {
  const status = spawnSync('bash', ['infra/status'], { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kafka: /kafka\s.*version:(\S+)/.exec(status)?.[1] ?? 'unknown (not started by infra/up)',
    clickhouse: await serverVersion(db),
  };
}
