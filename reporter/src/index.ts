export { buildApp, type ReporterAppDeps } from './app.ts';
export { loadReporterConfig, type ReporterConfig } from './reporter.config.ts';
export { portabilitySamples } from './queries/portability-samples.ts';
