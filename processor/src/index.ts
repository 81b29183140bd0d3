export { startProcessor, type ProcessorDeps, type RunningProcessor } from './processor.ts';
export { loadProcessorConfig, type ProcessorConfig } from './processor.config.ts';
export { readLedgerOffset } from './clickhouse/rollup-writer.ts';
export { sealClosedVisitorStates } from './storage/visitor-sealer.ts';
export { sealClosedPartnerDays } from './storage/partner-day-sealer.ts';
export { PartnerDays, type PartnerDayRow } from './aggregate/partner-days.ts';
export { insertPartnerDays } from './clickhouse/partner-days-writer.ts';
