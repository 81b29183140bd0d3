export { startProcessor, type ProcessorDeps, type RunningProcessor } from './processor.ts';
export { loadProcessorConfig, type ProcessorConfig } from './processor.config.ts';
