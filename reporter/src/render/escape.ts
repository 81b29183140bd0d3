const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values into HTML/SVG. Every dynamic string passes through here. */
export const esc = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** Grouped thousands, a dash for "no figure". */
export const formatNumber = (n: number | null): string =>
  n === null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
