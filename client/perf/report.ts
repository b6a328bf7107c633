/** inference-perf output: per-concurrency lines, a summary table, CSV (perf_analyzer's column names) and JSON. */
import type { ConcurrencyResult } from './profiler';

const us = (v: number | undefined) => (v === undefined ? '' : String(Math.round(v)));

export function resultLine(r: ConcurrencyResult): string {
  const server = r.server
    ? `  server: queue ${us(r.server.queue)} usec, compute input ${us(r.server.computeInput)} usec, infer ${us(r.server.computeInfer)} usec, output ${us(r.server.computeOutput)} usec`
    : '  server: statistics unavailable';
  return [
    `Concurrency: ${r.concurrency}${r.stable ? '' : '  (not stable after ' + r.windows + ' windows)'}`,
    `  throughput: ${r.throughput.toFixed(1)} infer/sec${r.errors > 0 ? `, ${r.errors} errors` : ''}`,
    `  latency: avg ${us(r.latency.avg)} usec, p50 ${us(r.latency.p50)} usec, p90 ${us(r.latency.p90)} usec, p95 ${us(r.latency.p95)} usec, p99 ${us(r.latency.p99)} usec`,
    server,
  ].join('\n');
}

export function summaryTable(results: readonly ConcurrencyResult[]): string {
  const header = ['Concurrency', 'Infer/s', 'p50 us', 'p90 us', 'p95 us', 'p99 us', 'Queue us', 'Compute us', 'Stable'];
  const rows = results.map((r) => [
    String(r.concurrency),
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

/** CSV with perf_analyzer's column names (times in microseconds). */
export function toCsv(results: readonly ConcurrencyResult[]): string {
  const rows = results.map((r) =>
    [
      r.concurrency,
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
  return [CSV_HEADER.join(','), ...rows].join('\n') + '\n';
}
