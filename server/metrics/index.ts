/** Prometheus metrics with Triton's names: per-model inference metrics, GPU (nvidia-smi) and CPU (/proc) collectors. */
export { DEFAULT_LATENCY_BUCKETS_MS, DEFAULT_METRICS_CONFIG, MetricsConfigError, parseMetricsConfig } from './config';
export type { LatencyBuckets, MetricsConfig } from './config';
export { CpuCollector, cpuUtilization, parseMeminfo, parseProcStat } from './cpu';
export { EnergyIntegrator, GpuCollector, NVIDIA_SMI_ARGS, NVIDIA_SMI_FIELDS, parseNvidiaSmiCsv, visibleGpus } from './gpu';
export type { GpuSample } from './gpu';
export { CacheMetrics } from './cache-metrics';
export type { CachingVersionSource } from './cache-metrics';
export { InferenceMetrics } from './inference-metrics';
export type { ReadyVersionSource } from './inference-metrics';
export * from './names';
export { DEFAULT_METRICS_INTERVAL_MS, MetricsService } from './service';
export type { MetricsServiceOptions } from './service';
