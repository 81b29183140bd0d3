// The collector's public API beyond its server: the access-log import and ingest keys, which `confidant logs` runs.
export { loadCollectorConfig, type CollectorConfig } from './collector.config.ts';
export { SpoolLockedError } from './kafka/disk-spool.ts';
export {
  EventsSpooledError,
  LogImportUsageError,
  runLogImport,
  UnknownPracticeError,
  type LogImportRun,
} from './logs/import-cli.ts';
export { ImportFailedError, type ImportSummary } from './logs/log-import.ts';
export { createIngestKey } from './logs/ingest-key.ts';
