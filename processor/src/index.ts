export { startProcessor, type ProcessorDeps, type RunningProcessor } from './processor.ts';
export { loadProcessorConfig, type ProcessorConfig } from './processor.config.ts';
export { readLedgerOffset } from './clickhouse/rollup-writer.ts';
export { sealClosedVisitorStates } from './storage/visitor-sealer.ts';
