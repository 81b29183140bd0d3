import { esc, formatNumber } from './escape.ts';

export type ChartPoint = { label: string; bar: number; line: number };

/**
 * A daily bar chart (page views) with a line (visits), as static SVG: readable without
 * JavaScript, prints crisply, and uses presentation attributes only (no inline styles, so
 * the report's CSP can forbid them).
 */
export function dailyChartSvg(
  points: ChartPoint[],
  opts: { barLabel: string; lineLabel: string; width?: number; height?: number },
): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 240;
  const pad = { left: 48, right: 12, top: 16, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...points.map((p) => Math.max(p.bar, p.line)));
  const top = niceCeiling(max);
  const step = points.length ? plotW / points.length : plotW;
  const y = (v: number): number => pad.top + plotH - (Math.max(0, v) / top) * plotH;
  const fix = (n: number): string => n.toFixed(1);

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = Math.round(top * f);
    return `<line x1="${pad.left}" x2="${width - pad.right}" y1="${fix(y(v))}" y2="${fix(y(v))}" stroke="#ddd" stroke-width="1"/><text x="${pad.left - 6}" y="${fix(y(v) + 4)}" text-anchor="end" font-size="10" fill="#555">${esc(formatNumber(v))}</text>`;
  });
  const bars = points.map((p, i) => {
    const x = pad.left + i * step + step * 0.15;
    const h = pad.top + plotH - y(p.bar);
    return `<rect class="bar" x="${fix(x)}" y="${fix(y(p.bar))}" width="${fix(step * 0.7)}" height="${fix(h)}" fill="#4a7bb7"><title>${esc(`${p.label}: ${formatNumber(p.bar)} ${opts.barLabel}, ${formatNumber(p.line)} ${opts.lineLabel}`)}</title></rect>`;
  });
  const line = points.map((p, i) => `${fix(pad.left + i * step + step / 2)},${fix(y(p.line))}`).join(' ');
  const labels = points
    .map((p, i) => ({ p, i }))
    .filter(({ i }) => points.length <= 16 || i % Math.ceil(points.length / 16) === 0)
    .map(
      ({ p, i }) =>
        `<text x="${fix(pad.left + i * step + step / 2)}" y="${height - pad.bottom + 14}" text-anchor="middle" font-size="10" fill="#555">${esc(p.label.slice(-2))}</text>`,
    );
  const legend =
    `<rect x="${pad.left}" y="${height - 14}" width="10" height="10" fill="#4a7bb7"/><text x="${pad.left + 14}" y="${height - 5}" font-size="11" fill="#222">${esc(opts.barLabel)}</text>` +
    `<line x1="${pad.left + 110}" x2="${pad.left + 126}" y1="${height - 9}" y2="${height - 9}" stroke="#d9822b" stroke-width="2"/><text x="${pad.left + 130}" y="${height - 5}" font-size="11" fill="#222">${esc(opts.lineLabel)}</text>`;

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(`Daily ${opts.barLabel} and ${opts.lineLabel}`)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    grid.join('') +
    bars.join('') +
    (points.length ? `<polyline class="line" points="${line}" fill="none" stroke="#d9822b" stroke-width="2"/>` : '') +
    labels.join('') +
    legend +
    `</svg>`
  );
}

/** 1, 2 or 5 times a power of ten, at least `v`: round axis labels. */
export function niceCeiling(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
