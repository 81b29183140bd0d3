// The one place the fault suite reads its environment: which mode, and so how long and how big.
import { fileURLToPath } from 'node:url';

const full = process.env.FAULTS === 'full';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Short mode runs inside `npm test` (the whole suite in a few minutes on 2 cores); `FAULTS=full`
 * (`npm run test:faults`) runs the durations and sizes of issue #8.
 */
export const faults = {
  mode: full ? 'full' : 'short',
  /** How long Kafka (the private broker) and ClickHouse (behind the proxy) stay down. */
  kafkaOutageMs: full ? 60_000 : 12_000,
  clickhouseOutageMs: full ? 60_000 : 12_000,
  clickhouseSlowMs: full ? 60_000 : 10_000,
  /** Steady beacon load while an engine is down. */
  beaconsPerSecond: full ? 200 : 80,
  /** Collector SIGKILLs under load, with Kafka unreachable so that every event is spooled. */
  collectorKills: full ? 5 : 2,
  collectorLoadMs: full ? 8000 : 4000,
  processorEvents: full ? 1_000_000 : 20_000,
  processorKills: full ? 20 : 5,
  overloadMs: full ? 60_000 : 10_000,
  /** Log import interrupted (SIGKILL of the CLI, alone or with the processor) and resumed after the duplicate window. */
  importLines: full ? 400_000 : 40_000,
  importKills: full ? 20 : 10,
  /** Log import through a broker outage (private broker stopped mid-import), into a spool this small so that it fills. */
  importOutageLines: full ? 300_000 : 50_000,
  importOutageSpoolBytes: 2 * 1024 * 1024,
  /** Random and malformed HTTP requests, split between the collector and the reporter. */
  fuzzRequests: full ? 100_000 : 100_000,
  propertyRuns: full ? 2000 : 300,
  /** Where `infra/clickhouse/start.sh` keeps the shared server's table files (searched by the canary test). */
  clickhouseDataDir: process.env.CLICKHOUSE_DATA_DIR ?? `${ROOT}.data/clickhouse/data/data`,
  /** Private Kafka for the Kafka-down scenario: its own data dir and ports, never the shared broker. */
  privateKafka: {
    dataDir: process.env.FAULTS_KAFKA_DATA_DIR ?? `${ROOT}.data/faults-kafka`,
    port: Number(process.env.FAULTS_KAFKA_PORT ?? 19092),
    controllerPort: Number(process.env.FAULTS_KAFKA_CONTROLLER_PORT ?? 19093),
  },
  /** Private PostgreSQL for the control-plane-down scenario, never the shared server. */
  privatePostgres: {
    dataDir: process.env.FAULTS_POSTGRES_DATA_DIR ?? `${ROOT}.data/faults-postgres`,
    port: Number(process.env.FAULTS_POSTGRES_PORT ?? 15432),
  },
  controlPlaneOutageMs: full ? 60_000 : 10_000,
  summaryFile: `${ROOT}test-output/faults-summary.json`,
  root: ROOT,
};
