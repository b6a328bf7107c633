import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { CustomMetrics } from './custom-metrics';
import { DEFAULT_METRICS_CONFIG, MetricsConfig } from './config';
import { CpuCollector, ProcReader } from './cpu';
import { GpuCollector, GpuCollectorOptions } from './gpu';
import type { ResponseCacheStats } from '../core/response-cache';
import { CacheMetrics, CachingVersionSource } from './cache-metrics';
import { InferenceMetrics, ReadyVersionSource } from './inference-metrics';

/** Triton's default --metrics-interval-ms. */
export const DEFAULT_METRICS_INTERVAL_MS = 2000;

export interface MetricsServiceOptions {
  /** Ready versions, read at scrape time for nv_inference_pending_request_count. */
  readonly versions?: ReadyVersionSource;
  readonly config?: MetricsConfig;
  /** How often the GPU and CPU collectors poll. @default 2000 */
  readonly intervalMs?: number;
  /** @default true */
  readonly allowGpuMetrics?: boolean;
  /** @default true */
  readonly allowCpuMetrics?: boolean;
  /** Overrides for the GPU collector (tests: a recorded nvidia-smi, another command). */
  readonly gpu?: Omit<GpuCollectorOptions, 'registry'>;
  readonly proc?: ProcReader;
  /** The server's response cache: adds Triton's nv_cache_* metrics (absent: no cache, no cache metrics). */
  readonly responseCache?: { readonly cache: { stats(): ResponseCacheStats }; readonly versions?: CachingVersionSource };
  /** Where 'GPU metrics unavailable' and scrape errors go. */
  readonly log?: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Models' custom metrics (Python pb_utils.MetricFamily), exported next to the server's own. */
  readonly customMetrics?: CustomMetrics;
}

/**
 * Everything behind port 8002: a registry of its own (so several servers can live in one process), the per-model
 * observer, the GPU/CPU pollers and the HTTP endpoint `GET /metrics` in Prometheus text format.
 */
export class MetricsService {
  readonly registry = new Registry();
  readonly inference: InferenceMetrics;
  /** Present when the server has a response cache; observes the same events as `inference`. */
  readonly cache?: CacheMetrics;
  private readonly cpu?: CpuCollector;
  private readonly gpu?: GpuCollector;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private server: http.Server | undefined;

  constructor(private readonly options: MetricsServiceOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_METRICS_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new Error(`metrics interval must be positive, got ${this.intervalMs}`);
    this.inference = new InferenceMetrics({
      registry: this.registry,
      config: options.config ?? DEFAULT_METRICS_CONFIG,
      versions: options.versions,
    });
    if (options.responseCache) this.cache = new CacheMetrics({ registry: this.registry, ...options.responseCache });
    if (options.allowCpuMetrics ?? true) this.cpu = new CpuCollector(this.registry, options.proc);
    options.customMetrics?.exportTo(this.registry);
    if (options.allowGpuMetrics ?? true) {
      this.gpu = new GpuCollector({
        timeoutMs: Math.max(1000, Math.min(this.intervalMs, 10_000)),
        onUnavailable: (reason) => options.log?.debug({ reason }, 'GPU metrics unavailable'),
        ...options.gpu,
        registry: this.registry,
      });
    }
  }

  /** The exposition text (what GET /metrics answers). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Poll GPU and CPU once now (start() does this, then every interval). */
  poll(): Promise<void> {
    if (!this.polling) {
      this.polling = Promise.all([this.cpu?.poll(), this.gpu?.poll()])
        .then(() => undefined, (error: Error) => this.options.log?.warn({ err: error.message }, 'metrics poll failed'))
        .finally(() => {
          this.polling = undefined;
        });
    }
    return this.polling;
  }

  /** Start polling and listen on `port` (0: ephemeral); resolves to the bound port. */
  async start(port: number, host = '0.0.0.0'): Promise<number> {
    await this.poll();
    if (this.cpu || this.gpu) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
    }
    const server = http.createServer((request, response) => void this.handle(request, response));
    server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval: scrapes reuse the connection
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await this.polling;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found: metrics are served on /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method Not Allowed\n');
      return;
    }
    try {
      const body = await this.registry.metrics();
      response.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(body) });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      this.options.log?.warn({ err: (error as Error).message }, 'metrics scrape failed');
      response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
    }
  }
}
