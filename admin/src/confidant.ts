#!/usr/bin/env -S node --max-old-space-size=96 --import tsx
// The `confidant` admin CLI (`npm run confidant -- <command>`): onboarding, keys, reports, exports,
// log import, privacy audit and retention, straight against ClickHouse and Kafka.
import { runConfidant } from './program.ts';

process.exitCode = await runConfidant(process.argv.slice(2));
