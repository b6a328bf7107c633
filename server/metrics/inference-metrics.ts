import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExecutionEvent, InferenceObserver, ModelLoadEvent, RequestEvent } from '../core/observer';
import { DEFAULT_METRICS_CONFIG, MetricsConfig } from './config';
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
    readonly request: Histogram<ModelLabel>;
    readonly queue: Histogram<ModelLabel>;
    readonly computeInfer: Histogram<ModelLabel>;
  };
  private readonly loadDuration: Gauge<ModelLabel>;
  /** `model\0version` of every version whose series exist. */
  private readonly known = new Set<string>();
  private readonly versions?: ReadyVersionSource;

  constructor(options: InferenceMetricsOptions) {
    const registers = [options.registry];
    const config = options.config ?? DEFAULT_METRICS_CONFIG;
    this.versions = options.versions;
    const counter = <L extends string>(spec: { name: string; help: string }, labelNames: readonly L[]) =>
      new Counter<L>({ name: spec.name, help: spec.help, labelNames, registers });
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
        new Histogram<ModelLabel>({ name: spec.name, help: spec.help, labelNames: MODEL_LABELS, buckets: [...buckets], registers });
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
    const key = keyOf(event.model, event.version);
    if (!this.known.delete(key)) return;
    const labels = { model: event.model, version: event.version };
    for (const metric of this.modelMetrics()) metric.remove(labels);
    for (const reason of FAILURE_REASONS) this.failure.remove({ ...labels, reason });
    this.loadDuration.remove(labels);
  }

  onRequest(event: RequestEvent): void {
    if (!this.isKnown(event.model, event.version)) return;
    const labels = { model: event.model, version: event.version };
    if (!event.ok) {
      this.failure.inc({ ...labels, reason: event.reason ?? 'OTHER' });
      return;
    }
    this.success.inc(labels);
    const d = this.durations;
    if (d) {
      d.request.inc(labels, event.requestNs / NS_PER_US);
      d.queue.inc(labels, (event.queueNs ?? 0) / NS_PER_US);
      d.computeInput.inc(labels, (event.computeInputNs ?? 0) / NS_PER_US);
      d.computeInfer.inc(labels, (event.computeInferNs ?? 0) / NS_PER_US);
      d.computeOutput.inc(labels, (event.computeOutputNs ?? 0) / NS_PER_US);
    }
    const h = this.histograms;
    if (h) {
      h.request.observe(labels, event.requestNs / NS_PER_MS);
      if (event.queueNs !== undefined) h.queue.observe(labels, event.queueNs / NS_PER_MS);
      if (event.computeInferNs !== undefined) h.computeInfer.observe(labels, event.computeInferNs / NS_PER_MS);
    }
  }

  /** One backend execution of a (possibly merged) batch: Triton counts inferences and executions here. */
  onExecution(event: ExecutionEvent): void {
    if (!this.isKnown(event.model, event.version)) return;
    const labels = { model: event.model, version: event.version };
    this.inferenceCount.inc(labels, event.batchSize);
    this.execCount.inc(labels);
  }

  private isKnown(model: string, version: string): boolean {
    if (version === '') return false;
    if (this.known.has(keyOf(model, version))) return true;
    // A version loaded before this observer was added: accept it if the manager serves it.
    const ready = this.versions?.readyVersions().some((v) => v.name === model && String(v.version) === version) ?? false;
    if (ready) this.initialize(model, version);
    return ready;
  }

  /** Every series of a new version at 0, so rate() and dashboards see the model before its first request. */
  private initialize(model: string, version: string): void {
    this.known.add(keyOf(model, version));
    const labels = { model, version };
    for (const metric of this.modelMetrics()) {
      if (metric instanceof Histogram) metric.zero(labels);
      else metric.inc(labels, 0);
    }
    for (const reason of FAILURE_REASONS) this.failure.inc({ ...labels, reason }, 0);
  }

  private modelMetrics(): Array<Counter<ModelLabel> | Histogram<ModelLabel>> {
    return [
      this.success,
      this.inferenceCount,
      this.execCount,
      ...(this.durations ? Object.values(this.durations) : []),
      ...(this.histograms ? Object.values(this.histograms) : []),
    ];
  }
}

function keyOf(model: string, version: string): string {
  return `${model}\u0000${version}`;
}
