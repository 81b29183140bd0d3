import type { EventEnvelope } from './event-envelope.ts';

/**
 * Every log event is one line of one import, and its envelope id says which: the first 20 hex
 * digits of the import id, then the line number in 12. The same line of the same import always
 * gets the same id, so the processor can keep an exact, durable record of the lines it applied
 * (`import_line_ledger`) and drop a line produced again by a resumed import, at any later time.
 */
export const IMPORT_KEY_CHARS = 20;
/** Lines are numbered from 1; 12 hex digits bound them. */
export const MAX_IMPORT_LINE = 0xffff_ffff_ffff;

export function lineEventId(importId: string, line: number): string {
  if (!Number.isSafeInteger(line) || line < 1 || line > MAX_IMPORT_LINE)
    throw new RangeError(`import line ${line} out of range`);
  return importId.slice(0, IMPORT_KEY_CHARS) + line.toString(16).padStart(12, '0');
}

export type ImportLine = { importKey: string; line: number };

/** The import and line of a log event (null for a beacon event, whose id is random). */
export function importLineOf(event: Pick<EventEnvelope, 'source' | 'id'>): ImportLine | null {
  if (event.source !== 'logs') return null;
  const line = Number.parseInt(event.id.slice(IMPORT_KEY_CHARS), 16);
  return line >= 1 ? { importKey: event.id.slice(0, IMPORT_KEY_CHARS), line } : null;
}
