/**
 * A latency histogram whose series are held by their owners: one model version records into its own `HistogramSeries`
 * (a bucket search and three additions per observation) and the registry reads every series at scrape time.
 *
 * Hand-written because prom-client's Histogram hashes the label set, validates it and allocates per observation
 * (`observe(labels, value)`; its `labels()` children do the same), about 0.3 µs each: three histograms on every request
 * were a measurable share of a small model's request (bench/README.md, "Session 9"). This class registers with a
 * prom-client Registry like prom-client's own metrics and exposes exactly what prom-client's Histogram exposes for
 * the same observations (test/metrics/latency-histogram.test.ts compares the text and JSON forms), so /metrics is unchanged.
 */
import type { Histogram, Registry } from 'prom-client';

/** One label set's counts. Bucket counts are per bucket here, cumulated at scrape time. */
export class HistogramSeries {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1]; observations above the last bound only add to `count`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** A value that is not a finite number (never a measured duration) is ignored; prom-client's observe() throws. */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    // Linear, as prom-client: latency buckets are few and most observations land in the first ones.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.counts[i] += 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

interface ExportedValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels?: Readonly<Record<string, string>>;
  readonly metricName: string;
  /** As prom-client's: null on buckets (no exemplars kept), undefined on _sum and _count. */
  readonly exemplar?: null;
}

/** What a prom-client metric's get() resolves to (its own typings name a type enum that is not exported at run time). */
export interface ExportedHistogram {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: readonly ExportedValue[];
  readonly aggregator: 'sum';
}

export interface LatencyHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending (+Inf is implicit). */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(options: LatencyHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...options.buckets];
    // The registry reads any metric through get() (and getForPromString() when present); its typings list only its own
    // classes, whose interface this one implements.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Histogram);
  }

  /** The series of `labels` (created at zero if new): keep it and observe into it. */
  seriesOf(labels: Readonly<Record<string, string>>): HistogramSeries {
    const key = keyOf(labels);
    let series = this.series.get(key);
    if (!series) {
      series = new HistogramSeries(this.bounds, { ...labels });
      this.series.set(key, series);
    }
    return series;
  }

  remove(labels: Readonly<Record<string, string>>): void {
    this.series.delete(keyOf(labels));
  }

  /**
   * The registry's resetMetrics(): every series back to zero, kept (not dropped as prom-client's reset drops its own):
   * the model versions hold their series and go on observing into them.
   */
  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** What prom-client's Histogram gives the registry for its text format: `le` as label, the series' labels shared. */
  async getForPromString(): Promise<ExportedHistogram> {
    const values: ExportedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i];
        values.push({ labels: { le: this.bounds[i] }, sharedLabels: series.labels, value: cumulative, metricName: bucketName, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName, exemplar: null });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** As prom-client's get(): every value's labels in one object. */
  async get(): Promise<ExportedHistogram> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
    };
  }
}

function keyOf(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((name) => [name, labels[name]]));
}
