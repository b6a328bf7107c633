/**
 * Every flag of Triton's `tritonserver` (src/command_line_parser.cc, in its option groups and order) and this
 * server's own, with what this server does with it: `supported` (it means here what it means in Triton), `ignored`
 * (accepted with a one-line warning: it tunes something this server does not have), `refused` (exit 2 with the
 * reason), or `partial` (some values work, the others are refused). The parser (cli.ts), `--help`, docs/triton-flags.md
 * and the tests all derive from this one table.
 */
import { CLI_FLAGS } from './contract';
import { headerForwardPattern } from './core/header-forwarding';

export type FlagStatus = 'supported' | 'ignored' | 'refused' | 'partial';

/**
 * How the value is checked before anything else reads it (Triton's ParseOption): `int`, `bool` (true/on/1,
 * false/off/0), `float`; `string` is any text; `none` takes no value. Other checks live with the flag's reader.
 */
export type FlagArgument = 'int' | 'bool' | 'float' | 'string' | 'none';

export interface FlagSpec {
  readonly flag: string;
  /** A one-letter alias (`-h`). */
  readonly short?: string;
  readonly argument: FlagArgument;
  /** The value's form in --help when it is not plain (Triton's arg_desc, e.g. `<string>:<string>=<string>`). */
  readonly form?: string;
  /** Repeatable: every occurrence counts. Otherwise the last one wins, as with Triton's getopt loop. */
  readonly multiple?: boolean;
  /** Triton's option group, or 'This server' for flags Triton does not have. */
  readonly group: string;
  readonly status: FlagStatus;
  /** What it does here (supported), why it has no effect (ignored: the warning), or why it is refused. */
  readonly note: string;
  /** partial: the values that are refused, in words (for --help and the docs). */
  readonly refusedValues?: string;
  /** partial: tells a refused value; without it the flag's reader refuses (with its own message). */
  readonly refusedWhen?: (value: string) => boolean;
  /** A further check of the value, returning Triton's message for a bad one. */
  readonly check?: (value: string) => string | undefined;
}

const isTrue = (value: string) => ['true', 'on', '1'].includes(value.toLowerCase());

/** Triton's ParsePairOption<int, T> format error (`<first><delim><second>`). */
function pairCheck(delim: string, second: 'int' | 'float') {
  return (value: string): string | undefined => {
    const at = value.indexOf(delim);
    const secondOk = second === 'int' ? /^-?\d+$/ : /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
    if (at < 0) {
      return `Cannot parse pair option due to incorrect number of inputs.--<pair option> argument requires format <first>${delim}<second>. Found: ${value}`;
    }
    if (!/^-?\d+$/.test(value.slice(0, at)) || !secondOk.test(value.slice(at + delim.length))) return `Invalid option value. Got ${value}`;
    return undefined;
  };
}

/** Triton's ParseGenericConfigOption format (`<name>,<setting>=<value>`), as --host-policy uses it. */
function genericConfigCheck(flag: string, configName: string) {
  return (value: string): string | undefined => {
    const comma = value.indexOf(',');
    const equals = value.indexOf('=', comma + 1);
    const ok = comma > 0 && equals > comma + 1 && equals < value.length - 1;
    return ok ? undefined : `--${flag} option format is '<${configName}>,<setting>=<value>'. Got ${value}`;
  };
}

/** A header pattern must compile (Triton compiles it with RE2; JavaScript regular expressions here). */
function patternCheck(value: string): string | undefined {
  try {
    headerForwardPattern(value);
    return undefined;
  } catch (error) {
    return `invalid regular expression: ${(error as Error).message}`;
  }
}

const NO_SAGEMAKER = 'no SageMaker endpoint (/ping, /invocations) is served';
const NO_VERTEX = 'no Vertex AI endpoint (its predict and health routes) is served';
const NO_CUDA_POOLS = 'tensors are copied to the GPU by ONNX Runtime, which manages its own memory; there is no server-side pool';

export const FLAG_SPECS: readonly FlagSpec[] = [
  { flag: '--help', short: 'h', argument: 'none', group: '', status: 'supported', note: 'Print usage.' },

  // Server
  { flag: CLI_FLAGS.id, argument: 'string', group: 'Server', status: 'supported', note: 'Server metadata `name` (`GET /v2`, gRPC ServerMetadata). Default `triton`.' },
  { flag: CLI_FLAGS.exitTimeoutSecs, argument: 'int', group: 'Server', status: 'supported', note: 'On SIGTERM, seconds in-flight requests get before the server exits. Default 30.' },

  // Logging
  { flag: CLI_FLAGS.logVerbose, argument: 'string', form: '<integer>', group: 'Logging', status: 'supported', note: 'Verbose level: 0 off, 1 debug, 2+ trace (`true`/`false` mean 1/0, as Triton). Default 0.' },
  { flag: CLI_FLAGS.logInfo, argument: 'bool', group: 'Logging', status: 'supported', note: 'Info lines on or off. Default true.' },
  { flag: CLI_FLAGS.logWarning, argument: 'bool', group: 'Logging', status: 'supported', note: 'Warning lines on or off. Default true.' },
  { flag: CLI_FLAGS.logError, argument: 'bool', group: 'Logging', status: 'supported', note: 'Error lines on or off. Default true.' },
  { flag: CLI_FLAGS.logFormat, argument: 'string', form: '<default|ISO8601|json|pretty>', group: 'Logging', status: 'supported', note: 'Triton\'s `default` or `ISO8601` (Triton\'s text lines: `I1206 12:00:00.123456 1 server:0] "message"`, or ISO 8601 time first; messages JSON-escaped unless TRITON_SERVER_ESCAPE_LOG_MESSAGES=0), or `json` (one JSON object per line) or `pretty` (readable lines). Not given: readable lines on a terminal, JSON otherwise (docs/server-output.md).' },
  { flag: CLI_FLAGS.logFile, argument: 'string', group: 'Logging', status: 'supported', note: 'Append log lines to this file instead of stdout; `GET /v2/logging` reports it.' },

  // Model Repository
  { flag: CLI_FLAGS.modelStore, argument: 'string', multiple: true, group: 'Model Repository', status: 'supported', note: 'Same as --model-repository.' },
  { flag: CLI_FLAGS.modelRepository, argument: 'string', multiple: true, group: 'Model Repository', status: 'supported', note: 'Model repository root, a path or `gs://bucket/path` (repeatable). Required.' },
  { flag: CLI_FLAGS.exitOnError, argument: 'bool', group: 'Model Repository', status: 'supported', note: 'Exit when a model fails to load at startup. Default true.' },
  { flag: CLI_FLAGS.disableAutoCompleteConfig, argument: 'none', group: 'Model Repository', status: 'supported', note: 'No auto-complete: config.pbtxt must be complete.' },
  { flag: CLI_FLAGS.strictReadiness, argument: 'bool', group: 'Model Repository', status: 'supported', note: '`/v2/health/ready` is 200 only when every model is ready. Default true.' },
  { flag: CLI_FLAGS.modelControlMode, argument: 'string', form: '<none|poll|explicit>', group: 'Model Repository', status: 'supported', note: '`none`, `poll` or `explicit`. Default `none`.' },
  { flag: CLI_FLAGS.repositoryPollSecs, argument: 'int', group: 'Model Repository', status: 'supported', note: 'Seconds between repository scans in poll mode. Default 15.' },
  { flag: CLI_FLAGS.loadModel, argument: 'string', multiple: true, group: 'Model Repository', status: 'supported', note: "Explicit mode: model to load at startup (repeatable; `*` for all)." },
  { flag: CLI_FLAGS.modelConfigName, argument: 'string', group: 'Model Repository', status: 'supported', note: 'Models read `<model>/configs/<name>.pbtxt` where it exists, else `config.pbtxt` (or auto-complete).', check: (value) => (value === '' ? 'Error: empty argument for --model-config-name' : undefined) },
  { flag: '--model-load-thread-count', argument: 'int', group: 'Model Repository', status: 'ignored', note: 'models are loaded by the event loop, not a thread pool (each instance gets its own worker or process)' },
  { flag: CLI_FLAGS.modelLoadRetryCount, argument: 'int', group: 'Model Repository', status: 'supported', note: 'A model version whose load fails is tried this many more times (each retry logged). Default 0.' },
  { flag: '--model-namespacing', argument: 'bool', group: 'Model Repository', status: 'partial', refusedValues: '`true`', refusedWhen: isTrue, note: 'model names must be unique across repositories (namespacing is not implemented)' },
  { flag: '--enable-peer-access', argument: 'bool', group: 'Model Repository', status: 'ignored', note: 'CUDA peer access between GPUs is left to ONNX Runtime' },

  // HTTP
  { flag: CLI_FLAGS.allowHttp, argument: 'bool', group: 'HTTP', status: 'supported', note: 'Serve HTTP. Default true.' },
  { flag: CLI_FLAGS.httpAddress, argument: 'string', group: 'HTTP', status: 'supported', note: 'Address HTTP binds (and metrics, unless --metrics-address). Default 0.0.0.0.' },
  { flag: CLI_FLAGS.httpPort, argument: 'int', group: 'HTTP', status: 'supported', note: 'HTTP port. Default 8000.' },
  { flag: '--reuse-http-port', argument: 'bool', group: 'HTTP', status: 'partial', refusedValues: '`true`', refusedWhen: isTrue, note: 'the HTTP listener cannot share its port (SO_REUSEPORT) with other servers; run replicas behind a Service' },
  { flag: CLI_FLAGS.httpHeaderForwardPattern, argument: 'string', group: 'HTTP', status: 'supported', note: 'Headers whose name matches this regular expression (case-insensitive) become string parameters of infer requests.', check: patternCheck },
  { flag: '--http-thread-count', argument: 'int', group: 'HTTP', status: 'ignored', note: 'one event loop serves HTTP; models run in their own workers' },
  { flag: CLI_FLAGS.httpMaxInputSize, argument: 'int', group: 'HTTP', status: 'supported', note: 'Largest request body in bytes (after decompression). Default 67108864.' },
  { flag: CLI_FLAGS.httpRestrictedApi, argument: 'string', form: '<string>:<string>=<string>', multiple: true, group: 'HTTP', status: 'supported', note: '`<apis>:<key>=<value>`: those endpoint groups require header `<key>: <value>`, else 403. See docs/security.md.' },

  // GRPC
  { flag: CLI_FLAGS.allowGrpc, argument: 'bool', group: 'GRPC', status: 'supported', note: 'Serve gRPC. Default true.' },
  { flag: CLI_FLAGS.grpcAddress, argument: 'string', group: 'GRPC', status: 'supported', note: 'Address gRPC binds. Default 0.0.0.0.' },
  { flag: CLI_FLAGS.grpcPort, argument: 'int', group: 'GRPC', status: 'supported', note: 'gRPC port. Default 8001.' },
  { flag: '--reuse-grpc-port', argument: 'bool', group: 'GRPC', status: 'partial', refusedValues: '`true`', refusedWhen: isTrue, note: 'the gRPC listener cannot share its port (SO_REUSEPORT) with other servers; run replicas behind a Service' },
  { flag: CLI_FLAGS.grpcHeaderForwardPattern, argument: 'string', group: 'GRPC', status: 'supported', note: 'Metadata whose key matches this regular expression becomes string parameters of ModelInfer and ModelStreamInfer requests.', check: patternCheck },
  {
    flag: '--grpc-infer-thread-count', argument: 'int', group: 'GRPC', status: 'ignored', note: 'one event loop serves gRPC; models run in their own workers',
    check: (value) => (Number(value) < 2 || Number(value) > 128 ? 'invalid argument for --grpc_infer_thread_count. Must be in the range 2 to 128.' : undefined),
  },
  { flag: '--grpc-infer-allocation-pool-size', argument: 'int', group: 'GRPC', status: 'ignored', note: 'request and response objects are garbage-collected, not pooled' },
  {
    flag: '--grpc-max-response-pool-size', argument: 'int', group: 'GRPC', status: 'ignored', note: 'responses are written as they come, not pooled',
    check: (value) => (Number(value) <= 0 ? 'Error: --grpc-max-response-pool-size must be greater than 0.' : undefined),
  },
  { flag: CLI_FLAGS.grpcUseSsl, argument: 'bool', group: 'GRPC', status: 'supported', note: 'Serve gRPC over TLS with --grpc-server-cert and --grpc-server-key. Default false.' },
  { flag: CLI_FLAGS.grpcUseSslMutual, argument: 'bool', group: 'GRPC', status: 'supported', note: 'Mutual TLS: clients need a certificate signed by --grpc-root-cert (implies --grpc-use-ssl). Default false.' },
  { flag: CLI_FLAGS.grpcServerCert, argument: 'string', group: 'GRPC', status: 'supported', note: 'PEM file with the server certificate (chain).' },
  { flag: CLI_FLAGS.grpcServerKey, argument: 'string', group: 'GRPC', status: 'supported', note: 'PEM file with the server private key.' },
  { flag: CLI_FLAGS.grpcRootCert, argument: 'string', group: 'GRPC', status: 'supported', note: 'PEM file with the CA that signs client certificates (mutual TLS).' },
  { flag: CLI_FLAGS.grpcInferResponseCompressionLevel, argument: 'string', form: '<none|low|medium|high>', group: 'GRPC', status: 'supported', note: '`none`, `low`, `medium`, `high`; compressed requests are accepted, but @grpc/grpc-js sends responses uncompressed (logged at startup). Default `none`.' },
  { flag: CLI_FLAGS.grpcKeepaliveTime, argument: 'int', group: 'GRPC', status: 'supported', note: 'Keepalive ping period, ms. Default 7200000.' },
  { flag: CLI_FLAGS.grpcKeepaliveTimeout, argument: 'int', group: 'GRPC', status: 'supported', note: 'Keepalive ping timeout, ms. Default 20000.' },
  { flag: CLI_FLAGS.grpcKeepalivePermitWithoutCalls, argument: 'bool', group: 'GRPC', status: 'supported', note: 'Allow keepalive pings without calls in flight. Default false.' },
  { flag: CLI_FLAGS.grpcHttp2MaxPingsWithoutData, argument: 'int', group: 'GRPC', status: 'supported', note: 'Pings allowed without data. Default 2.' },
  { flag: CLI_FLAGS.grpcHttp2MinRecvPingIntervalWithoutData, argument: 'int', group: 'GRPC', status: 'supported', note: 'Least ms between received pings without data. Default 300000.' },
  { flag: CLI_FLAGS.grpcHttp2MaxPingStrikes, argument: 'int', group: 'GRPC', status: 'supported', note: 'Bad pings tolerated before GOAWAY. Default 2.' },
  { flag: CLI_FLAGS.grpcMaxConnectionAge, argument: 'int', group: 'GRPC', status: 'supported', note: 'Close connections (GOAWAY) after this many ms. Default no limit.' },
  { flag: CLI_FLAGS.grpcMaxConnectionAgeGrace, argument: 'int', group: 'GRPC', status: 'supported', note: 'Ms calls on an aged connection may still run. Default no limit.' },
  { flag: CLI_FLAGS.grpcRestrictedProtocol, argument: 'string', form: '<string>:<string>=<string>', multiple: true, group: 'GRPC', status: 'supported', note: '`<protocols>:<key>=<value>`: those RPC groups require metadata `triton-grpc-protocol-<key>: <value>`, else UNAVAILABLE. See docs/security.md.' },

  // Sagemaker
  { flag: '--allow-sagemaker', argument: 'bool', group: 'Sagemaker', status: 'partial', refusedValues: '`true`', refusedWhen: isTrue, note: NO_SAGEMAKER },
  { flag: '--sagemaker-port', argument: 'int', group: 'Sagemaker', status: 'ignored', note: NO_SAGEMAKER },
  { flag: '--sagemaker-safe-port-range', argument: 'string', form: '<integer>-<integer>', group: 'Sagemaker', status: 'ignored', note: NO_SAGEMAKER, check: pairCheck('-', 'int') },
  { flag: '--sagemaker-thread-count', argument: 'int', group: 'Sagemaker', status: 'ignored', note: NO_SAGEMAKER },

  // Vertex
  { flag: '--allow-vertex-ai', argument: 'bool', group: 'Vertex', status: 'partial', refusedValues: '`true`', refusedWhen: isTrue, note: NO_VERTEX },
  { flag: '--vertex-ai-port', argument: 'int', group: 'Vertex', status: 'ignored', note: NO_VERTEX },
  { flag: '--vertex-ai-thread-count', argument: 'int', group: 'Vertex', status: 'ignored', note: NO_VERTEX },
  { flag: '--vertex-ai-default-model', argument: 'string', group: 'Vertex', status: 'ignored', note: NO_VERTEX },

  // Metrics
  { flag: CLI_FLAGS.allowMetrics, argument: 'bool', group: 'Metrics', status: 'supported', note: 'Serve Prometheus metrics. Default true.' },
  { flag: CLI_FLAGS.allowGpuMetrics, argument: 'bool', group: 'Metrics', status: 'supported', note: 'GPU metrics (nvidia-smi). Default true.' },
  { flag: CLI_FLAGS.allowCpuMetrics, argument: 'bool', group: 'Metrics', status: 'supported', note: 'CPU metrics. Default true.' },
  { flag: CLI_FLAGS.metricsAddress, argument: 'string', group: 'Metrics', status: 'supported', note: 'Address the metrics server binds. Default: the HTTP address.' },
  { flag: CLI_FLAGS.metricsPort, argument: 'int', group: 'Metrics', status: 'supported', note: 'Metrics port. Default 8002.' },
  { flag: CLI_FLAGS.metricsIntervalMs, argument: 'int', group: 'Metrics', status: 'supported', note: 'GPU/CPU metrics polling period, ms. Default 2000.' },
  { flag: CLI_FLAGS.metricsConfig, argument: 'string', form: '<string>=<string>', multiple: true, group: 'Metrics', status: 'supported', note: '`counter_latencies`, `histogram_latencies`, `histogram_buckets` (see docs/metrics.md).' },

  // Tracing
  { flag: CLI_FLAGS.traceConfig, argument: 'string', form: '<string>,<string>=<string>', multiple: true, group: 'Tracing', status: 'partial', refusedValues: 'mode `opentelemetry`', note: 'Triton trace mode: `level`, `rate`, `count`, `triton,file`, `triton,log-frequency` (docs/tracing.md); OpenTelemetry export is not implemented' },

  // Backend
  { flag: '--backend-directory', argument: 'string', group: 'Backend', status: 'ignored', note: 'the backends (onnxruntime, python) are built in; no backend shared libraries are loaded' },
  { flag: CLI_FLAGS.backendConfig, argument: 'string', form: '<string>,<string>=<string>', multiple: true, group: 'Backend', status: 'supported', note: '`<backend>,<setting>=<value>` for onnxruntime and python (docs/command-line.md, docs/python-backend.md).' },

  // Repository Agent
  { flag: '--repoagent-directory', argument: 'string', group: 'Repository Agent', status: 'ignored', note: 'repository agents are not supported; no agent shared libraries are loaded' },

  // Response Cache
  { flag: CLI_FLAGS.cacheConfig, argument: 'string', form: '<string>,<string>=<string>', multiple: true, group: 'Response Cache', status: 'partial', refusedValues: 'caches other than `local`', note: 'the `local` cache, `local,size=<bytes>` (docs/response-cache.md); no other cache implementation is built in' },
  { flag: '--cache-directory', argument: 'string', group: 'Response Cache', status: 'ignored', note: 'the local cache is built in; no cache shared libraries are loaded' },

  // Rate Limiter
  {
    flag: '--rate-limit', argument: 'string', group: 'Rate Limiter', status: 'ignored', note: 'there is no rate limiter: an instance runs requests as soon as it is free, as with --rate-limit=off',
    check: (value) => (['execution_count', 'off'].includes(value.toLowerCase()) ? undefined : 'invalid argument for --rate-limit'),
  },
  {
    flag: '--rate-limit-resource', argument: 'string', form: '<string>:<integer>:<integer>', multiple: true, group: 'Rate Limiter', status: 'ignored', note: 'there is no rate limiter, so no resources to count',
    check: (value) => (/^[^:]*:-?\d+(:-?\d+)?$/.test(value) ? undefined : `--rate-limit-resource option format is '<resource_name>:<count>:<device>' or '<resource_name>:<count>'. Got ${value}`),
  },

  // Memory/Device Management
  { flag: '--pinned-memory-pool-byte-size', argument: 'int', group: 'Memory/Device Management', status: 'ignored', note: NO_CUDA_POOLS },
  { flag: '--cuda-memory-pool-byte-size', argument: 'string', form: '<integer>:<integer>', multiple: true, group: 'Memory/Device Management', status: 'ignored', note: NO_CUDA_POOLS, check: pairCheck(':', 'int') },
  { flag: '--cuda-virtual-address-size', argument: 'string', form: '<integer>:<integer>', multiple: true, group: 'Memory/Device Management', status: 'ignored', note: 'implicit state is kept in host memory; there is no growable CUDA memory', check: pairCheck(':', 'int') },
  { flag: '--min-supported-compute-capability', argument: 'float', group: 'Memory/Device Management', status: 'ignored', note: 'GPUs are used as nvidia-smi lists them; ONNX Runtime refuses devices it cannot run on' },
  { flag: '--buffer-manager-thread-count', argument: 'int', group: 'Memory/Device Management', status: 'ignored', note: 'tensors are copied on the event loop or in the model workers, not by a buffer-manager pool' },
  { flag: '--host-policy', argument: 'string', form: '<string>,<string>=<string>', multiple: true, group: 'Memory/Device Management', status: 'ignored', note: 'NUMA and CPU-core pinning are left to the pod (Kubernetes CPU manager)', check: genericConfigCheck('host-policy', 'policy name') },
  { flag: '--model-load-gpu-limit', argument: 'string', form: '<device_id>:<fraction>', multiple: true, group: 'Memory/Device Management', status: 'ignored', note: 'GPU memory use is not checked before a load; a load that does not fit fails in ONNX Runtime', check: pairCheck(':', 'float') },

  // Shared Memory
  { flag: CLI_FLAGS.allowClientShm, argument: 'bool', group: 'Shared Memory', status: 'supported', note: 'Clients may register and unregister shared memory regions. Default false, as Triton.' },

  // DEPRECATED
  { flag: CLI_FLAGS.strictModelConfig, argument: 'bool', group: 'DEPRECATED', status: 'supported', note: 'true is --disable-auto-complete-config (with Triton\'s deprecation warning). Default false.' },
  { flag: CLI_FLAGS.responseCacheByteSize, argument: 'int', group: 'DEPRECATED', status: 'supported', note: 'Same as --cache-config=local,size=<value> (with Triton\'s warning).' },
  { flag: CLI_FLAGS.traceFile, argument: 'string', group: 'DEPRECATED', status: 'supported', note: 'Same as --trace-config triton,file=<path>.' },
  { flag: CLI_FLAGS.traceLevel, argument: 'string', multiple: true, group: 'DEPRECATED', status: 'supported', note: 'Same as --trace-config level=<level> (repeatable).' },
  { flag: CLI_FLAGS.traceRate, argument: 'int', group: 'DEPRECATED', status: 'supported', note: 'Same as --trace-config rate=<n>.' },
  { flag: CLI_FLAGS.traceCount, argument: 'int', group: 'DEPRECATED', status: 'supported', note: 'Same as --trace-config count=<n>.' },
  { flag: CLI_FLAGS.traceLogFrequency, argument: 'int', group: 'DEPRECATED', status: 'supported', note: 'Same as --trace-config triton,log-frequency=<n>.' },

  // This server's own
  { flag: '--version', argument: 'none', group: 'This server', status: 'supported', note: 'Print the version and exit.' },
  { flag: CLI_FLAGS.host, argument: 'string', group: 'This server', status: 'supported', note: 'Address HTTP, gRPC and metrics bind unless their own address flag is given. Default 0.0.0.0.' },
  { flag: CLI_FLAGS.httpFastInferPath, argument: 'bool', group: 'This server', status: 'supported', note: 'Plain infer requests (no compression, not draining or tracing) are answered by node:http in front of fastify: less CPU per small request. Default false. See docs/performance.md.' },
  { flag: CLI_FLAGS.maxInstancesPerModel, argument: 'int', group: 'This server', status: 'supported', note: 'Most instances one model version may start over all its instance groups; a config asking for more fails to load (Triton has no limit). Default 32.' },
  { flag: CLI_FLAGS.modelCacheDir, argument: 'string', group: 'This server', status: 'supported', note: 'Local folder `gs://` repositories are downloaded into. Default <tmp>/inference-server-model-cache.' },
  { flag: CLI_FLAGS.grpcMaxMessageBytes, argument: 'int', group: 'This server', status: 'supported', note: 'Largest gRPC message each way, bytes (Triton fixes it at 2147483647). Default 2147483647.' },
];

/** The spec of a flag (`--name`), or undefined. */
export function flagSpec(flag: string): FlagSpec | undefined {
  return FLAG_SPECS.find((spec) => spec.flag === flag);
}
