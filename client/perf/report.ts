/** inference-perf output: per-concurrency lines, a summary table, CSV (perf_analyzer's column names) and JSON. */
import type { ConcurrencyResult } from './profiler';

const us = (v: number | undefined) => (v === undefined ? '' : String(Math.round(v)));

/** The level a result was measured at, as perf_analyzer names it in its summary. */
export function levelOf(r: ConcurrencyResult): string {
  return r.requestRate !== undefined ? `Request Rate: ${r.requestRate}` : `Concurrency: ${r.concurrency}`;
}

/** Percent of requests dispatched behind schedule above which perf_analyzer warns (its 1 %). */
export const DELAYED_WARNING_PERCENT = 1;

/** perf_analyzer's warning when a request rate could not be kept, or undefined. */
export function delayedWarning(r: ConcurrencyResult): string | undefined {
  const dispatched = r.count + r.errors;
  if (r.requestRate === undefined || dispatched === 0) return undefined;
  const percent = (r.delayed / dispatched) * 100;
  if (percent <= DELAYED_WARNING_PERCENT) return undefined;
  return `WARNING: inference-perf is unable to keep up with the desired request rate. ${percent.toFixed(2)}% of the requests were delayed.`;
}

/**
 * What to do when a level did not settle: perf_analyzer only marks it; here the spread is shown against the criterion,
 * with the flags that change the outcome and values to try.
 */
export function unstableVerdict(r: ConcurrencyResult, options: { measurementIntervalMs: number; maxTrials: number; stabilityPercentage: number }): string | undefined {
  if (r.stable) return undefined;
  const worst = Math.max(r.spread.throughput, r.spread.latency);
  const spread = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)}%` : 'without bound');
  return (
    `WARNING: ${r.requestRate !== undefined ? `Request rate ${r.requestRate}` : `Concurrency ${r.concurrency}`} is not stable after ${r.windows} windows (--max-trials ${options.maxTrials}): over the last 3 windows ` +
    `throughput strayed ${spread(r.spread.throughput)} and average latency ${spread(r.spread.latency)} from their mean, ` +
    `above --stability-percentage ${options.stabilityPercentage}. Its figures are the mean of those windows. ` +
    `Raise --measurement-interval (now ${options.measurementIntervalMs} ms; try ${options.measurementIntervalMs * 2}) so each window averages ` +
    `more requests, or --max-trials (try ${options.maxTrials * 2}) to give it more windows` +
    (Number.isFinite(worst) ? `; --stability-percentage ${Math.ceil(worst)} would accept this variation.` : '.')
  );
}

/** One line per measurement window, for progress when stderr is not a terminal (CI logs, pipes). */
export function windowLine(level: string, trial: number, maxTrials: number, w: { throughput: number; latency: { avg: number; p99: number }; errors: number }): string {
  return `${level}: window ${trial}/${maxTrials}: ${w.throughput.toFixed(1)} infer/sec, latency avg ${us(w.latency.avg)} usec, p99 ${us(w.latency.p99)} usec${w.errors > 0 ? `, ${w.errors} errors` : ''}`;
}

const latencyLine = (label: string, l: ConcurrencyResult['latency']) =>
  `  ${label}: avg ${us(l.avg)} usec, p50 ${us(l.p50)} usec, p90 ${us(l.p90)} usec, p95 ${us(l.p95)} usec, p99 ${us(l.p99)} usec`;

export function resultLine(r: ConcurrencyResult): string {
  const server = r.server
    ? `  server: queue ${us(r.server.queue)} usec, compute input ${us(r.server.computeInput)} usec, infer ${us(r.server.computeInfer)} usec, output ${us(r.server.computeOutput)} usec`
    : '  server: statistics unavailable';
  const header = r.requestRate !== undefined ? `Request Rate: ${r.requestRate} inference requests per seconds` : `Concurrency: ${r.concurrency}`;
  const durationS = (r.durationMs * Math.min(3, r.windows)) / 1000; // counts are over the last 3 windows
  const lines = [
    `${header}${r.stable ? '' : '  (not stable after ' + r.windows + ' windows)'}`,
    `  Request count: ${r.count}`,
    ...(r.delayed > 0 ? [`  Delayed Request Count: ${r.delayed}`] : []),
    ...(r.sequences !== undefined ? [`  Sequence count: ${r.sequences} (${(r.sequences / durationS).toFixed(1)} seq/sec)`] : []),
    ...(r.firstResponseLatency ? [`  Response count: ${r.responses}`] : []),
    `  throughput: ${r.throughput.toFixed(1)} infer/sec${r.errors > 0 ? `, ${r.errors} errors` : ''}`,
    latencyLine('latency', r.latency),
    ...(r.firstResponseLatency ? [latencyLine('first response latency', r.firstResponseLatency)] : []),
    server,
  ];
  return lines.join('\n');
}

export function summaryTable(results: readonly ConcurrencyResult[]): string {
  const header = [results.some((r) => r.requestRate !== undefined) ? 'Request Rate' : 'Concurrency', 'Infer/s', 'p50 us', 'p90 us', 'p95 us', 'p99 us', 'Queue us', 'Compute us', 'Stable'];
  const rows = results.map((r) => [
    String(r.requestRate ?? r.concurrency),
    r.throughput.toFixed(1),
    us(r.latency.p50),
    us(r.latency.p90),
    us(r.latency.p95),
    us(r.latency.p99),
    us(r.server?.queue),
    r.server ? us(r.server.computeInput + r.server.computeInfer + r.server.computeOutput) : '',
    r.stable ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export const CSV_HEADER = [
  'Concurrency',
  'Inferences/Second',
  'Server Queue',
  'Server Compute Input',
  'Server Compute Infer',
  'Server Compute Output',
  'Avg latency',
  'p50 latency',
  'p90 latency',
  'p95 latency',
  'p99 latency',
  'Stable',
];

/** CSV with perf_analyzer's column names (times in microseconds); the first is "Request Rate" in that mode. */
export function toCsv(results: readonly ConcurrencyResult[]): string {
  const header = results.some((r) => r.requestRate !== undefined) ? ['Request Rate', ...CSV_HEADER.slice(1)] : CSV_HEADER;
  const rows = results.map((r) =>
    [
      r.requestRate ?? r.concurrency,
      r.throughput.toFixed(2),
      us(r.server?.queue),
      us(r.server?.computeInput),
      us(r.server?.computeInfer),
      us(r.server?.computeOutput),
      us(r.latency.avg),
      us(r.latency.p50),
      us(r.latency.p90),
      us(r.latency.p95),
      us(r.latency.p99),
      r.stable ? 'true' : 'false',
    ].join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
