import { rmSync } from 'node:fs';
import { faults } from './faults.config.ts';
import { formatTable, readSummary } from './support/summary.ts';

/** Vitest global setup of the integration config: starts each run with an empty fault summary and prints it at the end. */
export function setup(): () => void {
  rmSync(faults.summaryFile, { force: true });
  return () => {
    const rows = readSummary();
    if (rows.length === 0) return;
    process.stdout.write(`\nFault-injection summary (${faults.mode}; ${faults.summaryFile}):\n${formatTable(rows)}\n`);
  };
}
