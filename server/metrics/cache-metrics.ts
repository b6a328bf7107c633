import { Counter, Gauge, Registry } from 'prom-client';
import type { InferenceObserver, ModelLoadEvent, RequestEvent } from '../core/observer';
import type { ResponseCacheStats } from '../core/response-cache';
import { CACHE_METRICS, CACHE_MODEL_METRICS, MODEL_LABELS } from './names';

type ModelLabel = (typeof MODEL_LABELS)[number];

/** Which ready versions use the cache (the model manager, structurally). */
export interface CachingVersionSource {
  readyVersions(): ReadonlyArray<{
    readonly name: string;
    readonly version: number | string;
    readonly config: { readonly response_cache?: { readonly enable?: boolean } };
  }>;
}

export interface CacheMetricsOptions {
  readonly registry: Registry;
  /** The server's cache counters, read at every scrape. */
  readonly cache: { stats(): ResponseCacheStats };
  readonly versions?: CachingVersionSource;
}

const NS_PER_US = 1e3;

/**
 * Triton's response cache metrics, registered only on a server with a cache: the per-model hit/miss counters (a
 * version's series appear at 0 when a model that uses the cache loads, and go when it unloads) and the cache-wide
 * gauges read from the cache at scrape time.
 */
export class CacheMetrics implements InferenceObserver {
  private readonly hits: Counter<ModelLabel>;
  private readonly misses: Counter<ModelLabel>;
  private readonly hitDuration: Counter<ModelLabel>;
  private readonly missDuration: Counter<ModelLabel>;
  private readonly known = new Set<string>();

  constructor(private readonly options: CacheMetricsOptions) {
    const registers = [options.registry];
    const counter = (spec: { name: string; help: string }) =>
      new Counter<ModelLabel>({ name: spec.name, help: spec.help, labelNames: MODEL_LABELS, registers });
    this.hits = counter(CACHE_MODEL_METRICS.hits);
    this.misses = counter(CACHE_MODEL_METRICS.misses);
    this.hitDuration = counter(CACHE_MODEL_METRICS.hitDuration);
    this.missDuration = counter(CACHE_MODEL_METRICS.missDuration);
    const cache = options.cache;
    const gauge = (spec: { name: string; help: string }, read: (stats: ResponseCacheStats) => number) =>
      new Gauge({
        name: spec.name,
        help: spec.help,
        registers,
        collect() {
          this.set(read(cache.stats()));
        },
      });
    gauge(CACHE_METRICS.entries, (s) => s.entries);
    gauge(CACHE_METRICS.lookups, (s) => s.lookups);
    gauge(CACHE_METRICS.hits, (s) => s.hits);
    gauge(CACHE_METRICS.misses, (s) => s.misses);
    gauge(CACHE_METRICS.evictions, (s) => s.evictions);
    gauge(CACHE_METRICS.lookupDuration, (s) => Math.round(s.lookupNs / NS_PER_US));
    gauge(CACHE_METRICS.insertionDuration, (s) => Math.round(s.insertionNs / NS_PER_US));
    gauge(CACHE_METRICS.util, (s) => (s.byteSize > 0 ? s.bytesUsed / s.byteSize : 0));
  }

  onModelLoad(event: ModelLoadEvent): void {
    if (!event.ok || event.version === '') return;
    const ready = this.options.versions?.readyVersions().find((v) => v.name === event.model && String(v.version) === event.version);
    if (ready?.config.response_cache?.enable) this.initialize(event.model, event.version);
  }

  onModelUnload(event: { model: string; version: string }): void {
    if (!this.known.delete(keyOf(event.model, event.version))) return;
    const labels = { model: event.model, version: event.version };
    for (const metric of [this.hits, this.misses, this.hitDuration, this.missDuration]) metric.remove(labels);
  }

  onRequest(event: RequestEvent): void {
    const cache = event.cache;
    if (!cache || !event.ok) return;
    this.initialize(event.model, event.version);
    const labels = { model: event.model, version: event.version };
    if (cache.hit) {
      this.hits.inc(labels);
      this.hitDuration.inc(labels, cache.ns / NS_PER_US);
    } else {
      this.misses.inc(labels);
      this.missDuration.inc(labels, cache.ns / NS_PER_US);
    }
  }

  private initialize(model: string, version: string): void {
    const key = keyOf(model, version);
    if (this.known.has(key)) return;
    this.known.add(key);
    const labels = { model, version };
    for (const metric of [this.hits, this.misses, this.hitDuration, this.missDuration]) metric.inc(labels, 0);
  }
}

function keyOf(model: string, version: string): string {
  return `${model}\u0000${version}`;
}
