import type { FastifyInstance } from 'fastify';
import pino, { Logger } from 'pino';
import { OnnxRuntimeBackend } from './backends/onnxruntime/backend';
import { IdentityBackend } from './backends/identity/backend';
import { PythonBackend, pythonShmPrefix } from './backends/python/backend';
import type { StubOutput } from './backends/python/stub-process';
import type { Backend } from './backends/backend';
import { CLI_FLAGS, DEFAULT_PORTS, ModelControlMode, SERVER_DEFAULTS } from './contract';
import type { ResponseCacheSettings } from './core/cache-config';
import { InferenceService } from './core/inference-service';
import { LogSettingsController } from './core/log-settings';
import { InferenceObserver, ObserverHub } from './core/observer';
import { HeapRelease } from './core/heap-release';
import { LocalResponseCache } from './core/response-cache';
import { SystemSharedMemoryRegistry } from './core/shared-memory';
import { settlesWithin } from './core/promises';
import { TraceManager } from './core/trace-manager';
import type { TraceValues } from './core/trace-setting';
import type { GpuInventory } from './scheduler/gpu-placement';
import { MetricsConfig } from './metrics/config';
import { CustomMetrics } from './metrics/custom-metrics';
import { MetricsService } from './metrics/service';
import { buildHttpApp } from './protocol/http/app';
import { HttpDrain } from './protocol/http/drain';
import { headerForwardPattern } from './core/header-forwarding';
import type { RestrictedFeatures } from './core/restricted-features';
import { GrpcCompressionLevel, GrpcFrontend, GrpcKeepaliveOptions, GrpcTlsOptions } from './protocol/grpc/server';
import { ModelManager } from './repository/model-manager';
import { createRepositorySource } from './repository/source';
import { modelStatusTable, readyLine } from './startup-report';

export interface InferenceServerOptions {
  /** Repository roots (local paths; gs:// later). */
  readonly modelRepositories: readonly string[];
  /** @default 'none' */
  readonly modelControlMode?: ModelControlMode;
  /** Poll mode: seconds between repository scans. @default 15 */
  readonly repositoryPollSecs?: number;
  /** Explicit mode: models to load at startup ('*' for all). */
  readonly loadModels?: readonly string[];
  /** @default true */
  readonly strictReadiness?: boolean;
  /** @default true — false is --strict-model-config=true / --disable-auto-complete-config */
  readonly autoCompleteConfig?: boolean;
  /** --backend-config settings, per backend. */
  readonly backendConfig?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** @default true */
  readonly allowHttp?: boolean;
  /** 0 for an ephemeral port. @default 8000 */
  readonly httpPort?: number;
  /** Address HTTP binds (--http-address), and gRPC and metrics unless grpcHost / metricsHost say otherwise. @default '0.0.0.0' */
  readonly host?: string;
  /** --grpc-address. @default host */
  readonly grpcHost?: string;
  /** --metrics-address. @default host */
  readonly metricsHost?: string;
  /** --model-load-retry-count: a version whose load fails is tried this many more times. @default 0 */
  readonly modelLoadRetryCount?: number;
  /** --model-config-name: models read `configs/<name>.pbtxt` where it exists instead of config.pbtxt. */
  readonly modelConfigName?: string;
  /** Server metadata `name` (--id). @default 'triton', as Triton */
  readonly serverId?: string;
  /**
   * --allow-client-shm: clients may register and unregister shared memory regions (status is always readable).
   * @default false, as Triton
   */
  readonly allowClientSharedMemory?: boolean;
  /** --http-restricted-api: endpoint groups that require a header. @default none */
  readonly httpRestrictedApis?: RestrictedFeatures;
  /** --grpc-restricted-protocol: RPC groups that require a metadata entry (`triton-grpc-protocol-<key>`). @default none */
  readonly grpcRestrictedProtocols?: RestrictedFeatures;
  /** --http-header-forward-pattern: infer requests get the matching headers as parameters (case-insensitive). */
  readonly httpHeaderForwardPattern?: string;
  /** --grpc-header-forward-pattern: ModelInfer / ModelStreamInfer requests get the matching metadata as parameters. */
  readonly grpcHeaderForwardPattern?: string;
  /** --grpc-use-ssl / --grpc-use-ssl-mutual with the certificates' contents. @default plaintext */
  readonly grpcTls?: GrpcTlsOptions;
  /** @default 64 MiB */
  readonly httpMaxInputSize?: number;
  /** @default SERVER_DEFAULTS.exitTimeoutSecs */
  readonly exitTimeoutSecs?: number;
  /** Most instances one model version may start (--max-instances-per-model). @default SERVER_DEFAULTS.maxInstancesPerModel */
  readonly maxInstancesPerModel?: number;
  /**
   * Keep one ONNX Runtime worker thread started, onnxruntime loaded, for the next model load (the CLI turns it on):
   * loads then pay only for their session. @default false (tests start many servers)
   */
  readonly prestartOnnxWorker?: boolean;
  /**
   * Run one full garbage collection of the event loop's heap after models are unloaded (server/core/heap-release.ts;
   * the CLI turns it on): unloading gives back what the models' requests left in the heap. A pause of the event loop
   * of a few tens of ms per burst of unloads. @default false (an embedding application owns its process's collections)
   */
  readonly releaseHeapAfterUnload?: boolean;
  /** Where gs:// repositories are downloaded (--model-cache-dir). @default - a folder under the OS temp dir */
  readonly modelCacheDir?: string;
  /** GPUs for KIND_GPU/KIND_AUTO placement. @default the GPUs nvidia-smi lists */
  readonly gpus?: GpuInventory;
  /** @default a silent logger */
  readonly logger?: Logger;
  /**
   * Triton's logging extension settings that drive `logger` (build the logger from its pinoOptions() for the
   * per-level toggles). @default the defaults, applied to `logger`'s level
   */
  readonly logSettings?: LogSettingsController;
  /**
   * Serve Prometheus metrics on metricsPort. @default true when metricsPort is given, else false (embedded servers and
   * tests bind no fixed port unasked; the CLI passes --allow-metrics, true by default)
   */
  readonly allowMetrics?: boolean;
  /** 0 for an ephemeral port. @default 8002, or 0 when httpPort is 0 */
  readonly metricsPort?: number;
  /** @default true */
  readonly allowGpuMetrics?: boolean;
  /** @default true */
  readonly allowCpuMetrics?: boolean;
  /** GPU/CPU polling period (--metrics-interval-ms). @default 2000 */
  readonly metricsIntervalMs?: number;
  /** --metrics-config: latency counters, histograms, buckets. @default DEFAULT_METRICS_CONFIG */
  readonly metricsConfig?: MetricsConfig;
  /** @default true */
  readonly allowGrpc?: boolean;
  /** 0 for an ephemeral port. @default 8001, or 0 when httpPort is 0 */
  readonly grpcPort?: number;
  /** Largest gRPC message received or sent (--grpc-max-message-bytes). @default 2147483647, as Triton */
  readonly grpcMaxMessageBytes?: number;
  /**
   * ModelInfer / ModelStreamInfer on the lean node:http2 path instead of grpc-js (protocol/grpc/lean-infer.ts; no CLI
   * flag: not faster on a quiet machine, kept for the benchmarks). @default false
   */
  readonly grpcLeanInfer?: boolean;
  /**
   * --http-fast-infer-path: plain infer requests answered by node:http in front of fastify (protocol/http/fast-infer.ts;
   * measured in bench/README.md "Small requests"). @default false
   */
  readonly httpFastInferPath?: boolean;
  /** Triton's --grpc-keepalive-* / --grpc-http2-* settings. */
  readonly grpcKeepalive?: GrpcKeepaliveOptions;
  /** --grpc-infer-response-compression-level. @default 'none' */
  readonly grpcResponseCompressionLevel?: GrpcCompressionLevel;
  /** The response cache (--cache-config=local,size=N). @default none: models with response_cache enabled don't cache */
  readonly responseCache?: ResponseCacheSettings;
  /** Trace settings at startup (--trace-config); changeable at run time. @default tracing OFF */
  readonly trace?: Partial<TraceValues>;
  /** Where Python models' prints and pb_utils.Logger lines go. @default the server's stdout and stderr, as Triton */
  readonly pythonStubOutput?: StubOutput;
}

export interface StartResult {
  readonly httpPort?: number;
  readonly grpcPort?: number;
  readonly metricsPort?: number;
  /** Models that failed to load at startup. */
  readonly failedModels: string[];
}

/** The whole server, wired: repository manager → facade → frontends. */
export interface InferenceServerApp {
  readonly service: InferenceService;
  /** Where metrics and other watchers subscribe to request, execution and model events. */
  readonly observers: ObserverHub;
  readonly manager: ModelManager;
  readonly http: FastifyInstance;
  /** Absent when allowGrpc is false. */
  readonly grpc?: GrpcFrontend;
  /** Absent when allowMetrics is false. */
  readonly metrics?: MetricsService;
  /** Absent when the server was started without a cache. */
  readonly responseCache?: LocalResponseCache;
  start(): Promise<StartResult>;
  /** Graceful stop: readiness false, refuse new work, finish in-flight requests (bounded), unload models. */
  stop(): Promise<void>;
}

export function createInferenceServer(options: InferenceServerOptions): InferenceServerApp {
  const log = options.logger ?? pino({ level: 'silent' });
  const controlMode = options.modelControlMode ?? SERVER_DEFAULTS.modelControlMode;
  const customMetrics = new CustomMetrics();
  const onnxruntime = new OnnxRuntimeBackend({ prestartWorker: options.prestartOnnxWorker });
  const backends: Backend[] = [
    onnxruntime,
    new IdentityBackend(),
    // BLS calls run on the facade, created below: bound late, used only once models execute.
    new PythonBackend({
      backendConfig: options.backendConfig?.get('python'),
      output: options.pythonStubOutput,
      runner: {
        inferForBackend: (request) => service.inferForBackend(request),
        inferStream: (request, listener) => service.inferStreamForBackend(request, listener),
      },
      customMetrics,
    }),
  ];
  const observers = new ObserverHub();
  // Without a logger the settings drive nothing (turning verbose on must not wake the silent default up).
  const logSettings =
    options.logSettings ?? (options.logger ? LogSettingsController.describing(options.logger) : new LogSettingsController());
  if (options.logger) logSettings.attach(options.logger);
  const manager = new ModelManager({
    sources: options.modelRepositories.map((root) => createRepositorySource(root, { modelCacheDir: options.modelCacheDir, log })),
    backends,
    controlMode,
    startupModels: options.loadModels ?? [],
    autoCompleteConfig: options.autoCompleteConfig ?? true,
    backendConfig: options.backendConfig ?? new Map(),
    log,
    observers,
    gpus: options.gpus,
    modelConfigName: options.modelConfigName,
    loadRetryCount: options.modelLoadRetryCount,
    maxInstancesPerModel: options.maxInstancesPerModel ?? SERVER_DEFAULTS.maxInstancesPerModel,
  });
  const responseCache = options.responseCache
    ? new LocalResponseCache(options.responseCache.byteSize, (message) => log.warn(message))
    : undefined;
  if (responseCache) log.info({ size: responseCache.byteSize }, 'Response Cache is created');
  observers.add(responseCacheLifecycle(responseCache, manager, log));
  const heapRelease = options.releaseHeapAfterUnload ? new HeapRelease() : undefined;
  if (heapRelease) observers.add(heapRelease);
  const tracer = new TraceManager(options.trace, (error) => log.error({ err: error.message }, 'failed creating trace file'));
  const service = new InferenceService({
    manager,
    controlMode,
    strictReadiness: options.strictReadiness ?? true,
    observers,
    logSettings,
    responseCache,
    tracer,
    serverId: options.serverId,
    allowClientSharedMemory: options.allowClientSharedMemory,
    // Clients may not register the Python backend's own tensor files (they hold other requests' tensors).
    sharedMemory: new SystemSharedMemoryRegistry({ reservedKeyPrefixes: [pythonShmPrefix(options.backendConfig?.get('python'))] }),
  });
  const http = buildHttpApp(service, {
    bodyLimit: options.httpMaxInputSize ?? SERVER_DEFAULTS.httpMaxInputSizeBytes,
    logger: log,
    restrictedApis: options.httpRestrictedApis,
    fastInferPath: options.httpFastInferPath,
    headerForwardPattern: options.httpHeaderForwardPattern !== undefined ? headerForwardPattern(options.httpHeaderForwardPattern) : undefined,
  });
  const grpc =
    options.allowGrpc ?? true
      ? new GrpcFrontend(service, {
          maxMessageBytes: options.grpcMaxMessageBytes,
          leanInfer: options.grpcLeanInfer,
          keepalive: options.grpcKeepalive,
          responseCompressionLevel: options.grpcResponseCompressionLevel,
          restrictedProtocols: options.grpcRestrictedProtocols,
          headerForwardPattern: options.grpcHeaderForwardPattern !== undefined ? headerForwardPattern(options.grpcHeaderForwardPattern) : undefined,
          tls: options.grpcTls,
          logger: log,
        })
      : undefined;
  const httpDrain = new HttpDrain(http);
  let grpcListening = false;
  const metrics =
    options.allowMetrics ?? options.metricsPort !== undefined
      ? new MetricsService({
          versions: manager,
          config: options.metricsConfig,
          intervalMs: options.metricsIntervalMs,
          allowGpuMetrics: options.allowGpuMetrics,
          allowCpuMetrics: options.allowCpuMetrics,
          responseCache: responseCache ? { cache: responseCache, versions: manager } : undefined,
          customMetrics,
          log,
        })
      : undefined;
  if (metrics) observers.add(metrics.inference);
  if (metrics?.cache) observers.add(metrics.cache);
  const exitTimeoutMs = (options.exitTimeoutSecs ?? SERVER_DEFAULTS.exitTimeoutSecs) * 1000;
  let listening = false;

  return {
    service,
    observers,
    manager,
    http,
    grpc,
    metrics,
    responseCache,
    async start(): Promise<StartResult> {
      let metricsPort: number | undefined;
      if (metrics) {
        // Before loading models: Prometheus sees the target (and nv_model_load_duration_secs) during long loads.
        const port = options.metricsPort ?? (options.httpPort === 0 ? 0 : DEFAULT_PORTS.metrics);
        const host = options.metricsHost ?? options.host ?? '0.0.0.0';
        metricsPort = await namingTheFlag(CLI_FLAGS.metricsPort, host, port, metrics.start(port, host));
        log.info({ port: metricsPort, address: host }, 'Metrics service started');
      }
      const failedModels = await manager.start();
      const models = (await manager.index()).filter((entry) => entry.state !== undefined);
      log.info({ models }, `model status\n${modelStatusTable(models)}`);
      if (controlMode === 'poll') {
        manager.startPolling((options.repositoryPollSecs ?? SERVER_DEFAULTS.repositoryPollSecs) * 1000);
      }
      let httpPort: number | undefined;
      if (options.allowHttp ?? true) {
        const port = options.httpPort ?? DEFAULT_PORTS.http;
        const host = options.host ?? '0.0.0.0';
        await namingTheFlag(CLI_FLAGS.httpPort, host, port, http.listen({ port, host }));
        listening = true;
        const address = http.server.address();
        httpPort = typeof address === 'object' && address ? address.port : undefined;
        log.info({ port: httpPort, address: host }, 'HTTP service started');
      }
      let grpcPort: number | undefined;
      if (grpc) {
        // An ephemeral HTTP port with no gRPC port given (tests, embedding) makes gRPC ephemeral too, never 8001.
        const port = options.grpcPort ?? (options.httpPort === 0 ? 0 : DEFAULT_PORTS.grpc);
        const host = options.grpcHost ?? options.host ?? '0.0.0.0';
        grpcPort = await namingTheFlag(CLI_FLAGS.grpcPort, host, port, grpc.listen(host, port));
        grpcListening = true;
        log.info({ port: grpcPort, address: host }, 'GRPC service started');
      }
      log.info({ httpPort, grpcPort, metricsPort }, readyLine({ httpPort, grpcPort, metricsPort }));
      return { httpPort, grpcPort, metricsPort, failedModels };
    },
    async stop(): Promise<void> {
      service.beginShutdown();
      httpDrain.begin(); // still listening: new work gets 503 and every response closes its connection
      // One deadline for the whole stop, so the pod's grace period (constructs) can be sized from it.
      const deadline = Date.now() + exitTimeoutMs;
      const serving = manager.readyVersions();
      const drained = Promise.all(serving.map((version) => version.scheduler.drain()));
      const inTime = await settlesWithin(drained, exitTimeoutMs);
      if (!inTime) {
        log.warn({ exitTimeoutSecs: exitTimeoutMs / 1000 }, 'exit timeout reached: failing the requests still in flight');
        await manager.stop({ drain: false }); // their clients get 503 before the connections close
      } else if ((listening || grpcListening) && serving.length > 0) {
        log.info('in-flight requests finished; closing the frontends');
      }
      // Both frontends at once: HTTP keeps listening until its connections have ended, gRPC sends GOAWAY and lets
      // running calls finish.
      const remainingMs = Math.max(LATE_RESPONSE_GRACE_MS, deadline - Date.now());
      await Promise.all([
        listening ? httpDrain.close(remainingMs).then(() => log.debug('HTTP closed')) : http.close(),
        grpc && grpcListening ? grpc.close().then(() => log.debug('gRPC closed')) : undefined,
      ]);
      if (inTime) await manager.stop();
      log.debug('models unloaded');
      service.sharedMemory.close(); // after the frontends: no request holds a region any more
      tracer.close(); // traces collected without a log frequency are written now, as Triton does at shutdown
      await onnxruntime.close();
      await metrics?.stop();
      heapRelease?.close(); // the process is ending: no collection after the shutdown's unloads
    },
  };
}

/**
 * An unloaded version's entries leave the cache (a reloaded version's old entries are dropped by the cache itself).
 * Without a cache, a model that asks for one still loads and runs uncached; its load is logged as a warning.
 */
function responseCacheLifecycle(cache: LocalResponseCache | undefined, manager: ModelManager, log: Logger): InferenceObserver {
  if (cache) return { onModelUnload: (event) => cache.removeVersion(event.model, event.version) };
  return {
    onModelLoad(event) {
      if (!event.ok) return;
      const loaded = manager.readyVersions(event.model).find((v) => String(v.version) === event.version);
      if (!loaded?.config.response_cache?.enable) return;
      log.warn(
        { model: event.model, version: event.version },
        `model '${event.model}' has response_cache enabled, but the server was started without a cache ` +
          '(--cache-config=local,size=<bytes>): its responses are not cached',
      );
    },
  };
}

/**
 * A listener that cannot bind says which flag chose its port: `--http-port 8000 is in use (EADDRINUSE 0.0.0.0:8000)`.
 * gRPC's bind error carries Node's listen error only in its text.
 */
async function namingTheFlag<T>(flag: string, host: string, port: number, listening: Promise<T>): Promise<T> {
  try {
    return await listening;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = /\b(EADDRINUSE|EACCES)\b/.exec(`${(error as NodeJS.ErrnoException).code ?? ''} ${message}`)?.[1];
    if (!code) throw error;
    const why = code === 'EADDRINUSE' ? 'is in use' : 'needs privileges this process lacks';
    throw new Error(`${flag} ${port} ${why} (${code} ${host}:${port})`);
  }
}

/** After the exit deadline, how long responses already being written get before their connections are cut. */
const LATE_RESPONSE_GRACE_MS = 1000;
