/**
 * One CSV field (RFC 4180 quoting), safe to open in a spreadsheet: a text that starts like a formula
 * (`=`, `+`, `-`, `@`, tab or carriage return, OWASP's list) gets a leading `'`, so a page name or a
 * page-class name chosen by anyone cannot run as a formula on a reader's machine. Numbers stay numbers.
 */
export function csvField(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
