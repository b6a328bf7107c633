/**
 * Line charts as static SVG text, for inference-perf's HTML report. Written here rather than taken from a charting
 * library: the report must be one self-contained file that renders without network or JavaScript, and the charting
 * libraries on npm draw in the browser with JavaScript (and would add a dependency for ~150 lines of axes and lines).
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number; readonly label?: string }[];
}

export interface LineChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Tick labels for the x axis at these values instead of computed ones (categorical axes, e.g. percentiles). */
  readonly xTicks?: readonly { readonly value: number; readonly label: string }[];
  readonly width?: number;
  readonly height?: number;
}

/** Colours that stay apart for the colour-blind (Okabe–Ito). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

const format = (v: number) => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4))));

/** An SVG line chart with markers, axes, grid lines, a legend, and a tooltip (<title>) on every point. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 540;
  const height = spec.height ?? 340;
  const margin = { left: 72, right: 16, top: 36, bottom: 52 };
  const legendWidth = 120;
  const plotW = width - margin.left - margin.right - legendWidth;
  const plotH = height - margin.top - margin.bottom;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p.y));
  const xTicks = spec.xTicks ? spec.xTicks.map((t) => t.value) : niceTicks(Math.min(0, ...xs), Math.max(...xs, 1));
  const yTicks = niceTicks(0, Math.max(...ys, 1));
  const [x0, x1] = [Math.min(...xTicks, ...xs), Math.max(...xTicks, ...xs)];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const px = (x: number) => margin.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
  const py = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`);
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(`<text x="${margin.left}" y="20" class="chart-title">${escapeXml(spec.title)}</text>`);
  for (const t of yTicks) {
    out.push(`<line class="grid" x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(t)}" y2="${py(t)}"/>`);
    out.push(`<text class="tick" x="${margin.left - 6}" y="${py(t) + 4}" text-anchor="end">${format(t)}</text>`);
  }
  const xLabels = spec.xTicks ?? xTicks.map((value) => ({ value, label: format(value) }));
  for (const t of xLabels) {
    out.push(`<line class="grid" x1="${px(t.value)}" x2="${px(t.value)}" y1="${margin.top}" y2="${margin.top + plotH}"/>`);
    out.push(`<text class="tick" x="${px(t.value)}" y="${margin.top + plotH + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  out.push(`<rect class="frame" x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/>`);
  out.push(`<text class="axis-label" x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(
    `<text class="axis-label" transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((series, index) => {
    const points = series.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    out.push(`<g class="series" data-series="${escapeXml(series.name)}" data-points="${series.points.length}">`);
    out.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points}"/>`);
    for (const p of series.points) {
      const tip = `${series.name}: ${p.label ? `${p.label}, ` : ''}${spec.xLabel} ${format(p.x)}, ${spec.yLabel} ${format(p.y)}`;
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${series.color}"><title>${escapeXml(tip)}</title></circle>`);
    }
    out.push('</g>');
    const ly = margin.top + 8 + index * 20;
    const lx = margin.left + plotW + 16;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="3"/>`);
    out.push(`<text class="legend" x="${lx + 24}" y="${ly + 4}">${escapeXml(series.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
