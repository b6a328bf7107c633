/**
 * The contract between the server and the constructs that deploy it.
 * This is the ONLY file under server/ that constructs/ may import: keep it free of runtime dependencies.
 */

/** Default ports, the same as Triton's. */
export const DEFAULT_PORTS = {
  http: 8000,
  grpc: 8001,
  metrics: 8002,
} as const;

/** Port names used by the 2018 ksonnet prototype's Service; kept so existing dashboards and Ingresses keep matching. */
export const PORT_NAMES = {
  http: 'http-inference-server',
  grpc: 'grpc-inference-server',
  metrics: 'metrics-inference-server',
} as const;

/** HTTP paths the kubelet probes and Prometheus scrapes. */
export const PROBE_PATHS = {
  live: '/v2/health/live',
  ready: '/v2/health/ready',
  metrics: '/metrics',
} as const;

/** Command-line flags, named as Triton names them. */
export const CLI_FLAGS = {
  /** Server metadata `name` (default `triton`). */
  id: '--id',
  modelRepository: '--model-repository',
  /** Alias of --model-repository accepted for the 2018 prototype, which passed --model-store. */
  modelStore: '--model-store',
  httpPort: '--http-port',
  grpcPort: '--grpc-port',
  metricsPort: '--metrics-port',
  /** Bind addresses (default 0.0.0.0; metrics follows --http-address unless given). */
  httpAddress: '--http-address',
  grpcAddress: '--grpc-address',
  metricsAddress: '--metrics-address',
  /** This server's own: the address every frontend binds unless its address flag is given. */
  host: '--host',
  allowHttp: '--allow-http',
  allowGrpc: '--allow-grpc',
  allowMetrics: '--allow-metrics',
  allowGpuMetrics: '--allow-gpu-metrics',
  allowCpuMetrics: '--allow-cpu-metrics',
  /** How often GPU and CPU metrics are polled (Triton's flag, default 2000). */
  metricsIntervalMs: '--metrics-interval-ms',
  /** Repeatable `<setting>=<value>`: counter_latencies, histogram_latencies, histogram buckets (see docs/metrics.md). */
  metricsConfig: '--metrics-config',
  modelControlMode: '--model-control-mode',
  repositoryPollSecs: '--repository-poll-secs',
  loadModel: '--load-model',
  /** Retries of a failed model version load (default 0). */
  modelLoadRetryCount: '--model-load-retry-count',
  /** Custom configuration name: `<model>/configs/<name>.pbtxt` instead of config.pbtxt where it exists. */
  modelConfigName: '--model-config-name',
  strictReadiness: '--strict-readiness',
  exitOnError: '--exit-on-error',
  exitTimeoutSecs: '--exit-timeout-secs',
  /** Most instances one model version may start, summed over its instance groups (not a Triton flag: Triton has no limit). */
  maxInstancesPerModel: '--max-instances-per-model',
  /** Plain infer requests answered by node:http in front of fastify (not a Triton flag; docs/performance.md). */
  httpFastInferPath: '--http-fast-infer-path',
  strictModelConfig: '--strict-model-config',
  disableAutoCompleteConfig: '--disable-auto-complete-config',
  httpMaxInputSize: '--http-max-input-size',
  logVerbose: '--log-verbose',
  logInfo: '--log-info',
  logWarning: '--log-warning',
  logError: '--log-error',
  logFormat: '--log-format',
  /** Log lines go to this file (appended) instead of stdout. */
  logFile: '--log-file',
  backendConfig: '--backend-config',
  modelCacheDir: '--model-cache-dir',
  /** Repeatable `<cache>,<setting>=<value>`; this server implements Triton's `local` cache: `local,size=<bytes>`. */
  cacheConfig: '--cache-config',
  /** Deprecated by Triton in favour of --cache-config; `N` means `--cache-config=local,size=N` (0: no cache). */
  responseCacheByteSize: '--response-cache-byte-size',
  /** Largest gRPC message received or sent, in bytes (default 2147483647, Triton's INT32_MAX). */
  grpcMaxMessageBytes: '--grpc-max-message-bytes',
  /** gRPC over TLS: certificate and key PEM files; mutual TLS also needs the clients' CA (--grpc-root-cert). */
  grpcUseSsl: '--grpc-use-ssl',
  grpcUseSslMutual: '--grpc-use-ssl-mutual',
  grpcServerCert: '--grpc-server-cert',
  grpcServerKey: '--grpc-server-key',
  grpcRootCert: '--grpc-root-cert',
  /** Regular expressions: matching request headers / gRPC metadata become inference request parameters. */
  httpHeaderForwardPattern: '--http-header-forward-pattern',
  grpcHeaderForwardPattern: '--grpc-header-forward-pattern',
  /** Endpoint protection, Triton's syntax `<groups>:<key>=<value>` (repeatable). */
  httpRestrictedApi: '--http-restricted-api',
  grpcRestrictedProtocol: '--grpc-restricted-protocol',
  /** Clients may register shared memory regions (default false, as Triton). */
  allowClientShm: '--allow-client-shm',
  /** Triton's gRPC keepalive and HTTP/2 ping settings (times in milliseconds). */
  grpcKeepaliveTime: '--grpc-keepalive-time',
  grpcKeepaliveTimeout: '--grpc-keepalive-timeout',
  grpcKeepalivePermitWithoutCalls: '--grpc-keepalive-permit-without-calls',
  grpcHttp2MaxPingsWithoutData: '--grpc-http2-max-pings-without-data',
  grpcHttp2MinRecvPingIntervalWithoutData: '--grpc-http2-min-recv-ping-interval-without-data',
  grpcHttp2MaxPingStrikes: '--grpc-http2-max-ping-strikes',
  grpcMaxConnectionAge: '--grpc-max-connection-age',
  grpcMaxConnectionAgeGrace: '--grpc-max-connection-age-grace',
  /** none | low | med | high. */
  grpcInferResponseCompressionLevel: '--grpc-infer-response-compression-level',
  /** Repeatable `[triton,]<setting>=<value>`: level, rate, count, mode; triton,file and triton,log-frequency. */
  traceConfig: '--trace-config',
  /** Triton's deprecated trace flags, still accepted (--trace-config wins over them). */
  traceFile: '--trace-file',
  traceLevel: '--trace-level',
  traceRate: '--trace-rate',
  traceCount: '--trace-count',
  traceLogFrequency: '--trace-log-frequency',
} as const;

/** Values of --model-control-mode. */
export type ModelControlMode = 'none' | 'poll' | 'explicit';

/** Defaults of the server's flags that a deployment needs to know about. */
export const SERVER_DEFAULTS = {
  modelControlMode: 'none' as ModelControlMode,
  repositoryPollSecs: 15,
  /** Seconds the server waits for in-flight requests after SIGTERM; the pod's grace period must exceed it. */
  exitTimeoutSecs: 30,
  /**
   * --max-instances-per-model: room for 8 GPUs x 4 instances, or one instance per core of a 32-core CPU node, while a
   * config (which the load API can override) cannot start hundreds of processes or threads.
   */
  maxInstancesPerModel: 32,
  /** Triton's default HTTP body limit: 64 MiB. */
  httpMaxInputSizeBytes: 64 * 1024 * 1024,
} as const;

/** Environment variables the server reads. */
export const ENV_VARS = {
  /** Standard Google ADC variable; on GKE Workload Identity makes it unnecessary. */
  googleApplicationCredentials: 'GOOGLE_APPLICATION_CREDENTIALS',
  /** Where the server writes logs' level when --log-verbose is not given. */
  logLevel: 'LOG_LEVEL',
} as const;

/** The uid the image runs as (the prototype's runAsUser). */
export const SERVER_UID = 1000;

/**
 * Paths the server writes to at run time. With a read-only root filesystem each must be a volume:
 * /tmp for scratch files, /dev/shm for tensors shared with backend processes, and the model cache for gs:// repositories.
 */
export const WRITABLE_PATHS = {
  tmp: '/tmp',
  shm: '/dev/shm',
  modelCache: '/var/cache/inference-server',
} as const;

/**
 * Endpoint groups `--http-restricted-api` / `--grpc-restricted-protocol` can put behind a header: Triton's
 * RESTRICTED_CATEGORY_NAMES (restricted_features.h), in its order.
 */
export const RESTRICTED_API_GROUPS = [
  'health',
  'metadata',
  'inference',
  'shared-memory',
  'model-config',
  'model-repository',
  'statistics',
  'trace',
  'logging',
] as const;

/**
 * Why a bucket name breaks Cloud Storage's naming rules (cloud.google.com/storage/docs/buckets#naming), in words;
 * undefined for a valid name.
 */
export function gcsBucketNameProblem(bucket: string): string | undefined {
  const lengths = 'bucket names have 3 to 63 characters, or up to 222 when they contain dots';
  if (bucket.length < 3) return `it is too short (${bucket.length} character${bucket.length === 1 ? '' : 's'}; ${lengths})`;
  if (bucket.length > (bucket.includes('.') ? 222 : 63)) return `it is too long (${bucket.length} characters; ${lengths})`;
  if (/[^-_.a-z0-9]/.test(bucket)) return "bucket names hold only lowercase letters, digits, '-', '_' and '.'";
  if (!/^[a-z0-9]/.test(bucket) || !/[a-z0-9]$/.test(bucket)) return 'bucket names start and end with a letter or a digit';
  if (bucket.startsWith('goog')) return "bucket names cannot start with 'goog'";
  return undefined;
}
