/**
 * Metric names and help texts. The nv_* names, labels, units and help texts are Triton's (dashboards, alerts and the
 * HPA's metrics adapter query them unchanged); the *_histogram_ms families are ours (Triton only has a first-response
 * histogram), named in Triton's style.
 */

export const MODEL_LABELS = ['model', 'version'] as const;
export const FAILURE_LABELS = ['model', 'version', 'reason'] as const;
export const GPU_LABELS = ['gpu_uuid'] as const;

/** Triton's failure reasons; each model version starts with all four at 0. */
export const FAILURE_REASONS = ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'] as const;

interface MetricSpec {
  readonly name: string;
  readonly help: string;
}

export const INFERENCE_METRICS = {
  requestSuccess: {
    name: 'nv_inference_request_success',
    help: 'Number of successful inference requests, all batch sizes',
  },
  requestFailure: {
    name: 'nv_inference_request_failure',
    help: 'Number of failed inference requests, all batch sizes',
  },
  inferenceCount: {
    name: 'nv_inference_count',
    help: 'Number of inferences performed (does not include cached requests)',
  },
  execCount: {
    name: 'nv_inference_exec_count',
    help: 'Number of model executions performed (does not include cached requests)',
  },
  requestDuration: {
    name: 'nv_inference_request_duration_us',
    help: 'Cumulative inference request duration in microseconds (includes cached requests)',
  },
  queueDuration: {
    name: 'nv_inference_queue_duration_us',
    help: 'Cumulative inference queuing duration in microseconds (includes cached requests)',
  },
  computeInputDuration: {
    name: 'nv_inference_compute_input_duration_us',
    help: 'Cumulative compute input duration in microseconds (does not include cached requests)',
  },
  computeInferDuration: {
    name: 'nv_inference_compute_infer_duration_us',
    help: 'Cumulative compute inference duration in microseconds (does not include cached requests)',
  },
  computeOutputDuration: {
    name: 'nv_inference_compute_output_duration_us',
    help: 'Cumulative inference compute output duration in microseconds (does not include cached requests)',
  },
  pendingRequestCount: {
    name: 'nv_inference_pending_request_count',
    help: 'Instantaneous number of pending requests awaiting execution per-model.',
  },
  modelLoadDuration: {
    name: 'nv_model_load_duration_secs',
    help: 'Model load time in seconds',
  },
} as const satisfies Record<string, MetricSpec>;

/** Our latency histograms (milliseconds, like Triton's nv_inference_first_response_histogram_ms). */
export const HISTOGRAM_METRICS = {
  request: {
    name: 'nv_inference_request_duration_histogram_ms',
    help: 'Histogram of end-to-end inference request duration in milliseconds (successful requests)',
  },
  queue: {
    name: 'nv_inference_queue_duration_histogram_ms',
    help: 'Histogram of inference queuing duration in milliseconds (successful requests)',
  },
  computeInfer: {
    name: 'nv_inference_compute_infer_duration_histogram_ms',
    help: 'Histogram of compute inference duration in milliseconds (successful requests)',
  },
} as const satisfies Record<string, MetricSpec>;

export const GPU_METRICS = {
  utilization: { name: 'nv_gpu_utilization', help: 'GPU utilization rate [0.0 - 1.0)' },
  memoryTotal: { name: 'nv_gpu_memory_total_bytes', help: 'GPU total memory, in bytes' },
  memoryUsed: { name: 'nv_gpu_memory_used_bytes', help: 'GPU used memory, in bytes' },
  powerUsage: { name: 'nv_gpu_power_usage', help: 'GPU power usage in watts' },
  powerLimit: { name: 'nv_gpu_power_limit', help: 'GPU power management limit in watts' },
  energy: { name: 'nv_energy_consumption', help: 'GPU energy consumption in joules since the Triton Server started' },
} as const satisfies Record<string, MetricSpec>;

export const CPU_METRICS = {
  utilization: { name: 'nv_cpu_utilization', help: 'CPU utilization rate [0.0 - 1.0]' },
  memoryTotal: { name: 'nv_cpu_memory_total_bytes', help: 'CPU total memory (RAM), in bytes' },
  memoryUsed: { name: 'nv_cpu_memory_used_bytes', help: 'CPU used memory (RAM), in bytes' },
} as const satisfies Record<string, MetricSpec>;

/** Triton's per-model response cache counters (only for models that use the cache; durations in microseconds). */
export const CACHE_MODEL_METRICS = {
  hits: { name: 'nv_cache_num_hits_per_model', help: 'Number of cache hits per model' },
  misses: { name: 'nv_cache_num_misses_per_model', help: 'Number of cache misses per model' },
  hitDuration: {
    name: 'nv_cache_hit_duration_per_model',
    help: 'Total cache hit duration per model, in microseconds',
  },
  missDuration: {
    name: 'nv_cache_miss_duration_per_model',
    help: 'Total cache miss (insert+lookup) duration per model, in microseconds',
  },
} as const satisfies Record<string, MetricSpec>;

/** Triton's cache-wide gauges of the local cache (present only when the server has a cache). */
export const CACHE_METRICS = {
  entries: { name: 'nv_cache_num_entries', help: 'Number of responses stored in response cache' },
  lookups: { name: 'nv_cache_num_lookups', help: 'Number of cache lookups in response cache' },
  hits: { name: 'nv_cache_num_hits', help: 'Number of cache hits in response cache' },
  misses: { name: 'nv_cache_num_misses', help: 'Number of cache misses in response cache' },
  evictions: { name: 'nv_cache_num_evictions', help: 'Number of cache evictions in response cache' },
  lookupDuration: {
    name: 'nv_cache_lookup_duration',
    help: 'Total cache lookup duration (hit and miss), in microseconds',
  },
  insertionDuration: { name: 'nv_cache_insertion_duration', help: 'Total cache insertion duration, in microseconds' },
  util: { name: 'nv_cache_util', help: 'Cache utilization [0.0 - 1.0]' },
} as const satisfies Record<string, MetricSpec>;
