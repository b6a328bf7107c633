/**
 * A time-series line chart as SVG, in the look of a Grafana timeseries panel (dark theme), for the dashboard renders in
 * docs/. Drawn here rather than with a browser charting library so the render script needs no bundler and the page
 * is static (chromium screenshots it without running scripts).
 */
import type { PanelUnit } from '../../constructs/dashboards/panels';

export interface ChartSeries {
  readonly name: string;
  /** [unix seconds, value] */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  readonly title: string;
  readonly unit: PanelUnit;
  readonly width: number;
  readonly height: number;
  /** Shown instead of lines when no series has data. */
  readonly emptyText: string;
}

/** Grafana's classic palette, in its order. */
const PALETTE = ['#7EB26D', '#EAB839', '#6ED0E0', '#EF843C', '#E24D42', '#1F78C1', '#BA43A9', '#705DA0', '#508642', '#CCA300'];
const FONT = 'font-family="Inter, Helvetica, Arial, sans-serif"';

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A value with the unit's suffix, scaled as Grafana scales it. */
export function formatValue(value: number, unit: PanelUnit): string {
  // Fixed decimals by magnitude, then trailing zeros after the point dropped (never an integer's own zeros).
  const trim = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  switch (unit) {
    case 'perSecond': return `${trim(value)} req/s`;
    case 'milliseconds': return value >= 1000 ? `${trim(value / 1000)} s` : value < 1 && value > 0 ? `${trim(value * 1000)} µs` : `${trim(value)} ms`;
    case 'fraction': return `${trim(value * 100)}%`;
    case 'watts': return `${trim(value)} W`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value;
      let i = 0;
      while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return `${trim(v)} ${units[i]}`;
    }
    default: return trim(value);
  }
}

/** Round axis steps: 1, 2 or 5 times a power of ten, about `count` of them up to `max`. */
function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);

export function svgChart(series: readonly ChartSeries[], options: ChartOptions): string {
  const { width, height } = options;
  const withData = series.filter((s) => s.points.length > 0);
  const legendRows = Math.ceil(withData.length / 3);
  const left = 70;
  const right = 12;
  const top = 30;
  const bottom = 26 + legendRows * 16;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="10" y="19" fill="#ccccdc" font-size="13" font-weight="500" ${FONT}>${escapeXml(options.title)}</text>`,
  ];
  if (withData.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" fill="#8e8e8e" font-size="13" text-anchor="middle" ${FONT}>${escapeXml(options.emptyText)}</text>`, '</svg>');
    return parts.join('');
  }
  const times = withData.flatMap((s) => s.points.map((p) => p[0]));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1);
  const yMax = Math.max(...withData.flatMap((s) => s.points.map((p) => p[1])), 0) * 1.05;
  const ticks = niceTicks(yMax || 1);
  const top_ = ticks[ticks.length - 1];
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number) => top + plotH - (v / top_) * plotH;
  for (const tick of ticks) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#2c3235"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(tick) + 4).toFixed(1)}" fill="#8e8e8e" font-size="10" text-anchor="end" ${FONT}>${escapeXml(formatValue(tick, options.unit))}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    parts.push(`<text x="${x(t).toFixed(1)}" y="${top + plotH + 14}" fill="#8e8e8e" font-size="10" text-anchor="${anchor}" ${FONT}>${clock(t)}</text>`);
  }
  withData.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    // A gap in the samples (a series absent for a while) breaks the line, as Grafana draws it.
    const step = s.points.length > 1 ? Math.min(...s.points.slice(1).map((p, j) => p[0] - s.points[j][0])) : 1;
    let d = '';
    s.points.forEach((p, j) => {
      const gap = j === 0 || p[0] - s.points[j - 1][0] > step * 2.5;
      d += `${gap ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`;
    });
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const lx = 10 + (i % 3) * ((width - 20) / 3);
    const ly = top + plotH + 32 + Math.floor(i / 3) * 16;
    parts.push(`<rect x="${lx}" y="${ly - 4}" width="12" height="3" fill="${color}"/>`);
    parts.push(`<text x="${lx + 17}" y="${ly}" fill="#ccccdc" font-size="11" ${FONT}>${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
