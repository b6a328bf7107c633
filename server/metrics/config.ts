/**
 * `--metrics-config <setting>=<value>` (repeatable, Triton's flag). Triton's settings counter_latencies and
 * histogram_latencies are honoured; summary_latencies / summary_quantiles are accepted and ignored (no summaries here:
 * use the histograms). Bucket settings are ours, in milliseconds: histogram_buckets for every latency histogram, or
 * request_histogram_buckets / queue_histogram_buckets / compute_infer_histogram_buckets for one.
 */

export interface LatencyBuckets {
  readonly request: readonly number[];
  readonly queue: readonly number[];
  readonly computeInfer: readonly number[];
}

export interface MetricsConfig {
  /** The nv_inference_*_duration_us counters. @default true */
  readonly counterLatencies: boolean;
  /** The nv_inference_*_duration_histogram_ms histograms. @default true (Triton's own histogram is opt-in) */
  readonly histogramLatencies: boolean;
  /** Upper bounds in milliseconds, ascending; +Inf is implicit. */
  readonly buckets: LatencyBuckets;
}

/** Milliseconds: from 100 µs (small models on CPU) to 10 s (large models, long queues). */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

export const DEFAULT_METRICS_CONFIG: MetricsConfig = {
  counterLatencies: true,
  histogramLatencies: true,
  buckets: { request: DEFAULT_LATENCY_BUCKETS_MS, queue: DEFAULT_LATENCY_BUCKETS_MS, computeInfer: DEFAULT_LATENCY_BUCKETS_MS },
};

export class MetricsConfigError extends Error {}

const IGNORED = new Set(['summary_latencies', 'summary_quantiles']);

/** Parse the values of every `--metrics-config` flag, later settings overriding earlier ones. */
export function parseMetricsConfig(entries: readonly string[]): MetricsConfig {
  let counterLatencies = DEFAULT_METRICS_CONFIG.counterLatencies;
  let histogramLatencies = DEFAULT_METRICS_CONFIG.histogramLatencies;
  let all: readonly number[] | undefined;
  const one: { request?: readonly number[]; queue?: readonly number[]; computeInfer?: readonly number[] } = {};
  for (const entry of entries) {
    const match = /^([A-Za-z_]+)=(.*)$/.exec(entry.trim());
    if (!match) throw new MetricsConfigError(`--metrics-config expects <setting>=<value>, got '${entry}'`);
    const [, key, value] = match;
    switch (key) {
      case 'counter_latencies':
        counterLatencies = parseBool(key, value);
        break;
      case 'histogram_latencies':
        histogramLatencies = parseBool(key, value);
        break;
      case 'histogram_buckets':
        all = parseBuckets(key, value);
        break;
      case 'request_histogram_buckets':
        one.request = parseBuckets(key, value);
        break;
      case 'queue_histogram_buckets':
        one.queue = parseBuckets(key, value);
        break;
      case 'compute_infer_histogram_buckets':
        one.computeInfer = parseBuckets(key, value);
        break;
      default:
        if (!IGNORED.has(key)) throw new MetricsConfigError(`--metrics-config: unknown setting '${key}'`);
    }
  }
  const base = all ?? DEFAULT_LATENCY_BUCKETS_MS;
  return {
    counterLatencies,
    histogramLatencies,
    buckets: { request: one.request ?? base, queue: one.queue ?? base, computeInfer: one.computeInfer ?? base },
  };
}

function parseBool(key: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new MetricsConfigError(`--metrics-config ${key} expects true or false, got '${raw}'`);
}

/** `0.5,1,2.5` (quotes allowed): finite, ascending, distinct milliseconds. A trailing +Inf is dropped (implicit). */
export function parseBuckets(key: string, raw: string): number[] {
  const text = raw.trim().replace(/^["']|["']$/g, '');
  const parts = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length > 0 && /^\+?inf$/i.test(parts[parts.length - 1])) parts.pop();
  if (parts.length === 0) throw new MetricsConfigError(`--metrics-config ${key} needs at least one bucket bound`);
  const bounds = parts.map((part) => {
    const value = Number(part);
    if (!/^[-+]?[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?$/i.test(part) || !Number.isFinite(value)) {
      throw new MetricsConfigError(`--metrics-config ${key}: '${part}' is not a number`);
    }
    return value;
  });
  for (let i = 1; i < bounds.length; i++) {
    if (!(bounds[i] > bounds[i - 1])) {
      throw new MetricsConfigError(`--metrics-config ${key}: bucket bounds must increase, got ${bounds.join(',')}`);
    }
  }
  return bounds;
}
