import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { faults } from '../faults.config.ts';

const run = promisify(execFile);

/**
 * A Kafka broker of the fault suite's own (data dir, pid file, ports), started and stopped with
 * the repo's infra scripts, so a test can really stop a broker without touching the shared one.
 */
export class PrivateKafka {
  readonly brokers = [`127.0.0.1:${faults.privateKafka.port}`];
  private readonly env = {
    ...process.env,
    CONFIDANT_DATA_DIR: faults.privateKafka.dataDir,
    KAFKA_PORT: String(faults.privateKafka.port),
    KAFKA_CONTROLLER_PORT: String(faults.privateKafka.controllerPort),
  };

  async start(): Promise<void> {
    await run('bash', ['infra/kafka/start.sh'], { cwd: faults.root, env: this.env, timeout: 180_000 });
  }

  /** SIGTERM (controlled shutdown), SIGKILL after 30 s: the broker process is gone when this returns. */
  async stop(): Promise<void> {
    await run('bash', ['infra/kafka/stop.sh'], { cwd: faults.root, env: this.env, timeout: 60_000 });
  }
}
