/**
 * inference-perf's --report=<file.html>: one self-contained page (inline CSS and SVG, no script, no network: its
 * Content-Security-Policy forbids any load) with the charts perf_analyzer and model-analyzer users read: latency
 * against throughput, latency percentiles per load level, throughput per level, and the results table.
 */
import type { ConcurrencyResult } from './profiler';
import type { PerfOptions } from './options';
import { escapeXml, lineChart, PALETTE } from './svg-chart';

export type ReportSettings = Pick<PerfOptions, 'model' | 'version' | 'protocol' | 'url' | 'batchSize' | 'measurementIntervalMs' | 'stabilityPercentage' | 'maxTrials'>;

const PERCENTILES = [{ key: 'p50' }, { key: 'p90' }, { key: 'p95' }, { key: 'p99' }] as const;

const ms = (us: number) => us / 1000;
const levelName = (r: ConcurrencyResult) => (r.requestRate !== undefined ? `rate ${r.requestRate}/s` : `concurrency ${r.concurrency}`);
const levelValue = (r: ConcurrencyResult) => r.requestRate ?? r.concurrency ?? 0;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 4px; } .settings { color: #555; margin: 0 0 16px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { background: #fff; border: 1px solid #ddd; border-radius: 4px; }
.chart-title { font-weight: 600; font-size: 14px; } .tick, .legend { font-size: 11px; fill: #444; }
.axis-label { font-size: 12px; fill: #222; } .grid { stroke: #eee; } .frame { fill: none; stroke: #999; }
table { border-collapse: collapse; margin-top: 16px; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; } .unstable { color: #b00020; font-weight: 600; }
`;

export function htmlReport(results: readonly ConcurrencyResult[], settings: ReportSettings, when = new Date()): string {
  const rateMode = results.some((r) => r.requestRate !== undefined);
  const levelTitle = rateMode ? 'Request rate (requests/s)' : 'Concurrency';
  const latencyVsThroughput = lineChart({
    title: 'Latency vs throughput',
    xLabel: 'throughput (infer/s)',
    yLabel: 'latency (ms)',
    series: PERCENTILES.map((p, i) => ({
      name: p.key,
      color: PALETTE[i],
      points: results.map((r) => ({ x: r.throughput, y: ms(r.latency[p.key]), label: levelName(r) })),
    })),
  });
  const percentiles = lineChart({
    title: `Latency percentiles per ${rateMode ? 'request rate' : 'concurrency'}`,
    xLabel: 'percentile',
    yLabel: 'latency (ms)',
    xTicks: PERCENTILES.map((p, i) => ({ value: i, label: p.key })), // evenly spaced, as model-analyzer draws them
    series: results.map((r, i) => ({
      name: levelName(r),
      color: PALETTE[i % PALETTE.length],
      points: PERCENTILES.map((p, i) => ({ x: i, y: ms(r.latency[p.key]), label: p.key })),
    })),
  });
  const throughput = lineChart({
    title: `Throughput per ${rateMode ? 'request rate' : 'concurrency'}`,
    xLabel: levelTitle.toLowerCase(),
    yLabel: 'throughput (infer/s)',
    series: [{ name: 'infer/s', color: PALETTE[2], points: results.map((r) => ({ x: levelValue(r), y: r.throughput, label: levelName(r) })) }],
  });
  const us = (v: number | undefined) => (v === undefined ? '' : Math.round(v).toLocaleString('en-US'));
  const rows = results
    .map((r) => {
      const compute = r.server ? r.server.computeInput + r.server.computeInfer + r.server.computeOutput : undefined;
      const stable = r.stable ? 'yes' : `<span class="unstable">no (${r.windows} windows)</span>`;
      return `<tr><td>${levelValue(r)}</td><td>${r.throughput.toFixed(1)}</td><td>${us(r.latency.avg)}</td><td>${us(r.latency.p50)}</td><td>${us(r.latency.p90)}</td><td>${us(r.latency.p95)}</td><td>${us(r.latency.p99)}</td><td>${us(r.server?.queue)}</td><td>${us(compute)}</td><td>${r.errors}</td><td>${stable}</td></tr>`;
    })
    .join('\n');
  const version = settings.version ? ` version ${escapeXml(settings.version)}` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>inference-perf: ${escapeXml(settings.model)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>inference-perf: ${escapeXml(settings.model)}${version}</h1>
<p class="settings">${escapeXml(settings.protocol)} at ${escapeXml(settings.url)}, batch size ${settings.batchSize}; windows of ${settings.measurementIntervalMs} ms, stable when the last 3 agree within ${settings.stabilityPercentage}% (at most ${settings.maxTrials} windows); ${escapeXml(when.toISOString())}</p>
<div class="charts">
${latencyVsThroughput}
${percentiles}
${throughput}
</div>
<table id="results">
<thead><tr><th>${levelTitle}</th><th>infer/s</th><th>avg µs</th><th>p50 µs</th><th>p90 µs</th><th>p95 µs</th><th>p99 µs</th><th>server queue µs</th><th>server compute µs</th><th>errors</th><th>stable</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}
