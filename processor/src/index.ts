export { startProcessor, type ProcessorDeps, type RunningProcessor } from './processor.ts';
export { loadProcessorConfig, type ProcessorConfig } from './processor.config.ts';
export { runPrivacyAudit, VALUE_PATTERNS, type AuditFinding, type AuditReport } from './audit/privacy-audit.ts';
export { dropExpiredPartitions, oldestKeptMonth } from './retention/partition-retention.ts';
