import { Counter, Gauge, Registry } from 'prom-client';
import type { ExecutionEvent, InferenceObserver, ModelLoadEvent, RequestEvent } from '../core/observer';
import { DEFAULT_METRICS_CONFIG, MetricsConfig } from './config';
import { HistogramSeries, LatencyHistogram } from './latency-histogram';
import { FAILURE_LABELS, FAILURE_REASONS, HISTOGRAM_METRICS, INFERENCE_METRICS, MODEL_LABELS } from './names';

type ModelLabel = (typeof MODEL_LABELS)[number];
type FailureLabel = (typeof FAILURE_LABELS)[number];

/** What the pending-request gauge reads at scrape time (the model manager's ready versions, structurally). */
export interface ReadyVersionSource {
  readyVersions(): ReadonlyArray<{ readonly name: string; readonly version: number | string; readonly scheduler: { readonly queuedCount: number } }>;
}

export interface InferenceMetricsOptions {
  readonly registry: Registry;
  readonly config?: MetricsConfig;
  /** Source of nv_inference_pending_request_count, read at every scrape; also tells which versions exist. */
  readonly versions?: ReadyVersionSource;
}

const NS_PER_US = 1e3;
const NS_PER_MS = 1e6;

/** The failure reasons' pending counts, in FAILURE_REASONS' order. */
type FailureCounts = Record<(typeof FAILURE_REASONS)[number], number>;

/**
 * One model version's counts since the last scrape, and its histogram series. A request adds to plain numbers here;
 * the counters get them when the registry reads them (flush): prom-client hashes and validates the label set on
 * every inc(), which cost more than the counting on a small model's request (bench/README.md, "Session 9").
 */
class VersionSeries {
  readonly labels: Readonly<Record<ModelLabel, string>>;
  success = 0;
  inferences = 0;
  executions = 0;
  requestUs = 0;
  queueUs = 0;
  computeInputUs = 0;
  computeInferUs = 0;
  computeOutputUs = 0;
  readonly failures: FailureCounts = { REJECTED: 0, CANCELED: 0, BACKEND: 0, OTHER: 0 };

  constructor(
    model: string,
    version: string,
    readonly histograms: { readonly request: HistogramSeries; readonly queue: HistogramSeries; readonly computeInfer: HistogramSeries } | undefined,
  ) {
    this.labels = { model, version };
  }
}

/**
 * Triton's per-model metrics, fed by the core's events. Like Triton, only requests that reached a loaded model version
 * count: a request for an unknown model or version changes nothing. Duration counters add successful requests only,
 * so rate(nv_inference_queue_duration_us) / rate(nv_inference_request_success) is the average queue time per request.
 * A version's series appear (at 0) when it loads and disappear when it unloads, as in Triton.
 */
export class InferenceMetrics implements InferenceObserver {
  private readonly success: Counter<ModelLabel>;
  private readonly failure: Counter<FailureLabel>;
  private readonly inferenceCount: Counter<ModelLabel>;
  private readonly execCount: Counter<ModelLabel>;
  private readonly durations?: {
    readonly request: Counter<ModelLabel>;
    readonly queue: Counter<ModelLabel>;
    readonly computeInput: Counter<ModelLabel>;
    readonly computeInfer: Counter<ModelLabel>;
    readonly computeOutput: Counter<ModelLabel>;
  };
  private readonly histograms?: {
    readonly request: LatencyHistogram;
    readonly queue: LatencyHistogram;
    readonly computeInfer: LatencyHistogram;
  };
  private readonly loadDuration: Gauge<ModelLabel>;
  /** model → version → series, for every version whose series exist. */
  private readonly known = new Map<string, Map<string, VersionSeries>>();
  private readonly versions?: ReadyVersionSource;

  constructor(options: InferenceMetricsOptions) {
    const registers = [options.registry];
    const config = options.config ?? DEFAULT_METRICS_CONFIG;
    this.versions = options.versions;
    // Every counter brings the pending counts in before the registry reads it (all of them: flushing is idempotent).
    const collect = () => this.flush();
    const counter = <L extends string>(spec: { name: string; help: string }, labelNames: readonly L[]) =>
      new Counter<L>({ name: spec.name, help: spec.help, labelNames, registers, collect });
    const m = INFERENCE_METRICS;
    this.success = counter(m.requestSuccess, MODEL_LABELS);
    this.failure = counter(m.requestFailure, FAILURE_LABELS);
    this.inferenceCount = counter(m.inferenceCount, MODEL_LABELS);
    this.execCount = counter(m.execCount, MODEL_LABELS);
    if (config.counterLatencies) {
      this.durations = {
        request: counter(m.requestDuration, MODEL_LABELS),
        queue: counter(m.queueDuration, MODEL_LABELS),
        computeInput: counter(m.computeInputDuration, MODEL_LABELS),
        computeInfer: counter(m.computeInferDuration, MODEL_LABELS),
        computeOutput: counter(m.computeOutputDuration, MODEL_LABELS),
      };
    }
    const versions = this.versions;
    new Gauge<ModelLabel>({
      name: m.pendingRequestCount.name,
      help: m.pendingRequestCount.help,
      labelNames: MODEL_LABELS,
      registers,
      collect() {
        this.reset();
        if (!versions) return;
        for (const v of versions.readyVersions()) {
          this.set({ model: v.name, version: String(v.version) }, v.scheduler.queuedCount);
        }
      },
    });
    this.loadDuration = new Gauge<ModelLabel>({
      name: m.modelLoadDuration.name,
      help: m.modelLoadDuration.help,
      labelNames: MODEL_LABELS,
      registers,
    });
    if (config.histogramLatencies) {
      const histogram = (spec: { name: string; help: string }, buckets: readonly number[]) =>
        new LatencyHistogram({ name: spec.name, help: spec.help, buckets, registers });
      this.histograms = {
        request: histogram(HISTOGRAM_METRICS.request, config.buckets.request),
        queue: histogram(HISTOGRAM_METRICS.queue, config.buckets.queue),
        computeInfer: histogram(HISTOGRAM_METRICS.computeInfer, config.buckets.computeInfer),
      };
    }
  }

  onModelLoad(event: ModelLoadEvent): void {
    if (!event.ok || event.version === '') return;
    this.initialize(event.model, event.version);
    this.loadDuration.set({ model: event.model, version: event.version }, event.seconds);
  }

  onModelUnload(event: { model: string; version: string }): void {
    const versions = this.known.get(event.model);
    if (!versions?.delete(event.version)) return;
    if (versions.size === 0) this.known.delete(event.model);
    const labels = { model: event.model, version: event.version };
    for (const metric of this.modelCounters()) metric.remove(labels);
    for (const histogram of this.histogramList()) histogram.remove(labels);
    for (const reason of FAILURE_REASONS) this.failure.remove({ ...labels, reason });
    this.loadDuration.remove(labels);
  }

  onRequest(event: RequestEvent): void {
    const series = this.seriesOf(event.model, event.version);
    if (!series) return;
    if (!event.ok) {
      series.failures[event.reason ?? 'OTHER'] += 1;
      return;
    }
    series.success += 1;
    if (this.durations) {
      series.requestUs += event.requestNs / NS_PER_US;
      series.queueUs += (event.queueNs ?? 0) / NS_PER_US;
      series.computeInputUs += (event.computeInputNs ?? 0) / NS_PER_US;
      series.computeInferUs += (event.computeInferNs ?? 0) / NS_PER_US;
      series.computeOutputUs += (event.computeOutputNs ?? 0) / NS_PER_US;
    }
    const h = series.histograms;
    if (h) {
      h.request.observe(event.requestNs / NS_PER_MS);
      if (event.queueNs !== undefined) h.queue.observe(event.queueNs / NS_PER_MS);
      if (event.computeInferNs !== undefined) h.computeInfer.observe(event.computeInferNs / NS_PER_MS);
    }
  }

  /** One backend execution of a (possibly merged) batch: Triton counts inferences and executions here. */
  onExecution(event: ExecutionEvent): void {
    const series = this.seriesOf(event.model, event.version);
    if (!series) return;
    series.inferences += event.batchSize;
    series.executions += 1;
  }

  /** Move every version's pending counts into the counters (before the registry reads them). */
  private flush(): void {
    const d = this.durations;
    for (const versions of this.known.values()) {
      for (const s of versions.values()) {
        const labels = s.labels;
        addPending(this.success, labels, s.success);
        addPending(this.inferenceCount, labels, s.inferences);
        addPending(this.execCount, labels, s.executions);
        s.success = s.inferences = s.executions = 0;
        if (d) {
          addPending(d.request, labels, s.requestUs);
          addPending(d.queue, labels, s.queueUs);
          addPending(d.computeInput, labels, s.computeInputUs);
          addPending(d.computeInfer, labels, s.computeInferUs);
          addPending(d.computeOutput, labels, s.computeOutputUs);
          s.requestUs = s.queueUs = s.computeInputUs = s.computeInferUs = s.computeOutputUs = 0;
        }
        for (const reason of FAILURE_REASONS) {
          addPending(this.failure, { ...labels, reason }, s.failures[reason]);
          s.failures[reason] = 0;
        }
      }
    }
  }

  private seriesOf(model: string, version: string): VersionSeries | undefined {
    if (version === '') return undefined;
    const known = this.known.get(model)?.get(version);
    if (known) return known;
    // A version loaded before this observer was added: accept it if the manager serves it.
    const ready = this.versions?.readyVersions().some((v) => v.name === model && String(v.version) === version) ?? false;
    return ready ? this.initialize(model, version) : undefined;
  }

  /** Every series of a new version at 0, so rate() and dashboards see the model before its first request. */
  private initialize(model: string, version: string): VersionSeries {
    const existing = this.known.get(model)?.get(version);
    if (existing) return existing;
    const labels = { model, version };
    const h = this.histograms;
    const series = new VersionSeries(
      model,
      version,
      h && { request: h.request.seriesOf(labels), queue: h.queue.seriesOf(labels), computeInfer: h.computeInfer.seriesOf(labels) },
    );
    let versions = this.known.get(model);
    if (!versions) this.known.set(model, (versions = new Map()));
    versions.set(version, series);
    for (const metric of this.modelCounters()) metric.inc(labels, 0);
    for (const reason of FAILURE_REASONS) this.failure.inc({ ...labels, reason }, 0);
    return series;
  }

  private modelCounters(): Array<Counter<ModelLabel>> {
    return [this.success, this.inferenceCount, this.execCount, ...(this.durations ? Object.values(this.durations) : [])];
  }

  private histogramList(): LatencyHistogram[] {
    return this.histograms ? Object.values(this.histograms) : [];
  }
}

/** A count that is not a finite number (never from hrtime durations) is dropped: inc() would throw inside the scrape. */
function addPending<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, pending: number): void {
  if (pending > 0 && Number.isFinite(pending)) counter.inc(labels, pending);
}
