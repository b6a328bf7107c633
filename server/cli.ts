import { parseArgs } from 'node:util';
import { CLI_FLAGS, DEFAULT_PORTS, ModelControlMode, SERVER_DEFAULTS } from './contract';
import { DEFAULT_GRPC_MAX_MESSAGE_BYTES, GRPC_KEEPALIVE_DEFAULTS, GrpcCompressionLevel, GrpcKeepaliveOptions } from './protocol/grpc/server';
import { MetricsConfig, MetricsConfigError, parseMetricsConfig } from './metrics/config';
import { CacheConfigError, parseCacheConfig, ResponseCacheSettings } from './core/cache-config';
import { parseTraceFlags, TraceFlagError } from './cli-trace';
import type { TraceValues } from './core/trace-setting';

/** Parsed command line, with Triton's flag names and defaults. */
export interface CliOptions {
  modelRepositories: string[];
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  allowHttp: boolean;
  allowGrpc: boolean;
  allowMetrics: boolean;
  allowGpuMetrics: boolean;
  allowCpuMetrics: boolean;
  metricsIntervalMs: number;
  /** --metrics-config settings (latency counters, histograms and their buckets). */
  metricsConfig: MetricsConfig;
  modelControlMode: ModelControlMode;
  repositoryPollSecs: number;
  loadModels: string[];
  strictReadiness: boolean;
  exitOnError: boolean;
  exitTimeoutSecs: number;
  maxInstancesPerModel: number;
  autoCompleteConfig: boolean;
  httpMaxInputSize: number;
  logVerbose: number;
  /** Log lines are JSON (pino) either way; ISO8601 writes the time as an ISO date instead of epoch milliseconds. */
  logFormat: 'default' | 'ISO8601';
  backendConfig: Map<string, Record<string, string>>;
  host: string;
  /** --model-cache-dir; undefined → the server's default. */
  modelCacheDir?: string;
  grpcMaxMessageBytes: number;
  grpcKeepalive: Required<GrpcKeepaliveOptions>;
  grpcResponseCompressionLevel: GrpcCompressionLevel;
  /** --cache-config / --response-cache-byte-size; undefined: no response cache. */
  responseCache?: ResponseCacheSettings;
  /** Deprecation notices to print at startup, as Triton does. */
  warnings: string[];
  /** Triton's trace extension settings at startup (--trace-config and the deprecated --trace-* flags). */
  trace: TraceValues;
  help: boolean;
}

interface FlagSpec {
  readonly flag: string;
  readonly multiple?: boolean;
  readonly help: string;
}

const flagName = (flag: string) => flag.replace(/^--/, '');

const FLAGS: FlagSpec[] = [
  { flag: CLI_FLAGS.modelRepository, multiple: true, help: 'Model repository root (repeatable). Required.' },
  { flag: CLI_FLAGS.modelStore, multiple: true, help: 'Alias of --model-repository (the 2018 prototype passes it).' },
  { flag: CLI_FLAGS.httpPort, help: `HTTP port. Default ${DEFAULT_PORTS.http}.` },
  { flag: CLI_FLAGS.grpcPort, help: `gRPC port. Default ${DEFAULT_PORTS.grpc}.` },
  { flag: CLI_FLAGS.metricsPort, help: `Metrics port. Default ${DEFAULT_PORTS.metrics}.` },
  { flag: CLI_FLAGS.allowHttp, help: 'Serve HTTP (true|false). Default true.' },
  { flag: CLI_FLAGS.allowGrpc, help: 'Serve gRPC (true|false). Default true.' },
  { flag: CLI_FLAGS.allowMetrics, help: 'Serve Prometheus metrics (true|false). Default true.' },
  { flag: CLI_FLAGS.allowGpuMetrics, help: 'Collect GPU metrics (true|false). Default true.' },
  { flag: CLI_FLAGS.allowCpuMetrics, help: 'Collect CPU metrics (true|false). Default true.' },
  { flag: CLI_FLAGS.metricsIntervalMs, help: 'How often GPU and CPU metrics are polled, in ms. Default 2000.' },
  { flag: CLI_FLAGS.metricsConfig, multiple: true, help: '<setting>=<value>: counter_latencies, histogram_latencies, histogram_buckets=<ms,...> (repeatable).' },
  { flag: CLI_FLAGS.modelControlMode, help: 'none | poll | explicit. Default none.' },
  { flag: CLI_FLAGS.repositoryPollSecs, help: `Poll interval in poll mode. Default ${SERVER_DEFAULTS.repositoryPollSecs}.` },
  { flag: CLI_FLAGS.loadModel, multiple: true, help: "Explicit mode: model to load at startup (repeatable, '*' for all)." },
  { flag: CLI_FLAGS.strictReadiness, help: 'Ready only when every model is ready (true|false). Default true.' },
  { flag: CLI_FLAGS.exitOnError, help: 'Exit when a model fails to load at startup (true|false). Default true.' },
  { flag: CLI_FLAGS.exitTimeoutSecs, help: `Seconds to finish in-flight requests on SIGTERM. Default ${SERVER_DEFAULTS.exitTimeoutSecs}.` },
  { flag: CLI_FLAGS.maxInstancesPerModel, help: `Most instances one model version may start, over all its instance groups (a larger config fails to load). Default ${SERVER_DEFAULTS.maxInstancesPerModel}.` },
  { flag: CLI_FLAGS.strictModelConfig, help: 'Require complete config.pbtxt, no auto-complete (true|false). Default false.' },
  { flag: CLI_FLAGS.disableAutoCompleteConfig, help: 'Same as --strict-model-config=true.' },
  { flag: CLI_FLAGS.httpMaxInputSize, help: 'Largest HTTP request body in bytes. Default 67108864 (64 MiB).' },
  { flag: CLI_FLAGS.logVerbose, help: 'Verbose logging level (0 = info, 1 = debug, 2+ = trace). Default 0.' },
  { flag: CLI_FLAGS.logFormat, help: 'default | ISO8601: JSON log lines (pino) timed in epoch ms or ISO 8601. Default default.' },
  { flag: CLI_FLAGS.backendConfig, multiple: true, help: '<backend>,<key>=<value>, e.g. onnxruntime,intra_op_thread_count=2 (repeatable).' },
  { flag: CLI_FLAGS.modelCacheDir, help: 'Local folder gs:// repositories are downloaded into. Default <tmp>/inference-server-model-cache.' },
  { flag: CLI_FLAGS.grpcMaxMessageBytes, help: `Largest gRPC message in bytes, each way. Default ${DEFAULT_GRPC_MAX_MESSAGE_BYTES}.` },
  { flag: CLI_FLAGS.grpcKeepaliveTime, help: `gRPC keepalive ping period in ms. Default ${GRPC_KEEPALIVE_DEFAULTS.keepaliveTimeMs}.` },
  { flag: CLI_FLAGS.grpcKeepaliveTimeout, help: `gRPC keepalive ping timeout in ms. Default ${GRPC_KEEPALIVE_DEFAULTS.keepaliveTimeoutMs}.` },
  { flag: CLI_FLAGS.grpcKeepalivePermitWithoutCalls, help: 'Allow keepalive pings with no call in flight (true|false). Default false.' },
  { flag: CLI_FLAGS.grpcHttp2MaxPingsWithoutData, help: `Pings allowed without data. Default ${GRPC_KEEPALIVE_DEFAULTS.http2MaxPingsWithoutData}.` },
  { flag: CLI_FLAGS.grpcHttp2MinRecvPingIntervalWithoutData, help: `Least ms between received pings without data. Default ${GRPC_KEEPALIVE_DEFAULTS.http2MinRecvPingIntervalWithoutDataMs}.` },
  { flag: CLI_FLAGS.grpcHttp2MaxPingStrikes, help: `Bad pings tolerated before closing. Default ${GRPC_KEEPALIVE_DEFAULTS.http2MaxPingStrikes}.` },
  { flag: CLI_FLAGS.grpcInferResponseCompressionLevel, help: 'none | low | med | high (responses are sent uncompressed by @grpc/grpc-js). Default none.' },
  { flag: CLI_FLAGS.cacheConfig, multiple: true, help: "<cache>,<setting>=<value>: the response cache, e.g. local,size=1048576 (only 'local')." },
  { flag: CLI_FLAGS.responseCacheByteSize, help: 'Deprecated: same as --cache-config=local,size=<value>. Default 0 (no cache).' },
  { flag: CLI_FLAGS.traceConfig, multiple: true, help: '[triton,]<setting>=<value>: level=OFF|TIMESTAMPS|TENSORS, rate, count, triton,file, triton,log-frequency (repeatable).' },
  { flag: CLI_FLAGS.traceFile, help: 'Deprecated: --trace-config triton,file=<path>.' },
  { flag: CLI_FLAGS.traceLevel, multiple: true, help: 'Deprecated: --trace-config level=<level> (repeatable).' },
  { flag: CLI_FLAGS.traceRate, help: 'Deprecated: --trace-config rate=<n>. Default 1000.' },
  { flag: CLI_FLAGS.traceCount, help: 'Deprecated: --trace-config count=<n>. Default -1 (no limit).' },
  { flag: CLI_FLAGS.traceLogFrequency, help: 'Deprecated: --trace-config triton,log-frequency=<n>. Default 0 (at shutdown).' },
  { flag: '--host', help: 'Address to bind. Default 0.0.0.0.' },
  { flag: '--help', help: 'Show this help.' },
];

export class CliError extends Error {}

export function usage(): string {
  const lines = FLAGS.map((spec) => `  ${(spec.flag + (spec.flag === '--help' || spec.flag === CLI_FLAGS.disableAutoCompleteConfig ? '' : '=<value>')).padEnd(34)} ${spec.help}`);
  return ['Usage: inference-server --model-repository=<path> [options]', '', 'Options:', ...lines].join('\n');
}

export function parseCli(argv: readonly string[]): CliOptions {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const spec of FLAGS) {
    const boolean = spec.flag === '--help' || spec.flag === CLI_FLAGS.disableAutoCompleteConfig;
    options[flagName(spec.flag)] = { type: boolean ? 'boolean' : 'string', multiple: spec.multiple === true };
  }
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${usage()}`);
  }
  const text = (flag: string) => values[flagName(flag)] as string | undefined;
  const list = (flag: string) => (values[flagName(flag)] as string[] | undefined) ?? [];

  const modelRepositories = [...list(CLI_FLAGS.modelRepository), ...list(CLI_FLAGS.modelStore)];
  const help = values.help === true;
  if (!help && modelRepositories.length === 0) throw new CliError(`${CLI_FLAGS.modelRepository} is required\n\n${usage()}`);

  const mode = text(CLI_FLAGS.modelControlMode) ?? SERVER_DEFAULTS.modelControlMode;
  if (mode !== 'none' && mode !== 'poll' && mode !== 'explicit') {
    throw new CliError(`${CLI_FLAGS.modelControlMode} must be none, poll or explicit, got '${mode}'`);
  }
  const loadModels = list(CLI_FLAGS.loadModel);
  if (loadModels.length > 0 && mode !== 'explicit') {
    throw new CliError(`${CLI_FLAGS.loadModel} requires ${CLI_FLAGS.modelControlMode}=explicit`);
  }
  let metricsConfig: MetricsConfig;
  try {
    metricsConfig = parseMetricsConfig(list(CLI_FLAGS.metricsConfig));
  } catch (error) {
    if (error instanceof MetricsConfigError) throw new CliError(error.message);
    throw error;
  }
  const grpcCompression = text(CLI_FLAGS.grpcInferResponseCompressionLevel) ?? 'none';
  if (grpcCompression !== 'none' && grpcCompression !== 'low' && grpcCompression !== 'med' && grpcCompression !== 'high') {
    throw new CliError(`${CLI_FLAGS.grpcInferResponseCompressionLevel} must be none, low, med or high, got '${grpcCompression}'`);
  }
  let cache;
  try {
    cache = parseCacheConfig(list(CLI_FLAGS.cacheConfig), text(CLI_FLAGS.responseCacheByteSize));
  } catch (error) {
    if (error instanceof CacheConfigError) throw new CliError(error.message);
    throw error;
  }
  const logFormat = text(CLI_FLAGS.logFormat) ?? 'default';
  if (logFormat !== 'default' && logFormat !== 'ISO8601') throw new CliError(`${CLI_FLAGS.logFormat} must be default or ISO8601`);

  let trace: TraceValues;
  try {
    trace = parseTraceFlags({
      config: list(CLI_FLAGS.traceConfig),
      file: text(CLI_FLAGS.traceFile),
      levels: list(CLI_FLAGS.traceLevel),
      rate: text(CLI_FLAGS.traceRate),
      count: text(CLI_FLAGS.traceCount),
      logFrequency: text(CLI_FLAGS.traceLogFrequency),
    });
  } catch (error) {
    if (error instanceof TraceFlagError) throw new CliError(error.message);
    throw error;
  }

  const strictModelConfig =
    bool(CLI_FLAGS.strictModelConfig, text(CLI_FLAGS.strictModelConfig), false) ||
    values[flagName(CLI_FLAGS.disableAutoCompleteConfig)] === true;

  return {
    modelRepositories,
    httpPort: int(CLI_FLAGS.httpPort, text(CLI_FLAGS.httpPort), DEFAULT_PORTS.http, 0, 65535),
    grpcPort: int(CLI_FLAGS.grpcPort, text(CLI_FLAGS.grpcPort), DEFAULT_PORTS.grpc, 0, 65535),
    metricsPort: int(CLI_FLAGS.metricsPort, text(CLI_FLAGS.metricsPort), DEFAULT_PORTS.metrics, 0, 65535),
    allowHttp: bool(CLI_FLAGS.allowHttp, text(CLI_FLAGS.allowHttp), true),
    allowGrpc: bool(CLI_FLAGS.allowGrpc, text(CLI_FLAGS.allowGrpc), true),
    allowMetrics: bool(CLI_FLAGS.allowMetrics, text(CLI_FLAGS.allowMetrics), true),
    allowGpuMetrics: bool(CLI_FLAGS.allowGpuMetrics, text(CLI_FLAGS.allowGpuMetrics), true),
    allowCpuMetrics: bool(CLI_FLAGS.allowCpuMetrics, text(CLI_FLAGS.allowCpuMetrics), true),
    metricsIntervalMs: int(CLI_FLAGS.metricsIntervalMs, text(CLI_FLAGS.metricsIntervalMs), 2000, 1),
    metricsConfig,
    modelControlMode: mode,
    repositoryPollSecs: int(CLI_FLAGS.repositoryPollSecs, text(CLI_FLAGS.repositoryPollSecs), SERVER_DEFAULTS.repositoryPollSecs, 0),
    loadModels,
    strictReadiness: bool(CLI_FLAGS.strictReadiness, text(CLI_FLAGS.strictReadiness), true),
    exitOnError: bool(CLI_FLAGS.exitOnError, text(CLI_FLAGS.exitOnError), true),
    exitTimeoutSecs: int(CLI_FLAGS.exitTimeoutSecs, text(CLI_FLAGS.exitTimeoutSecs), SERVER_DEFAULTS.exitTimeoutSecs, 0),
    maxInstancesPerModel: int(CLI_FLAGS.maxInstancesPerModel, text(CLI_FLAGS.maxInstancesPerModel), SERVER_DEFAULTS.maxInstancesPerModel, 1),
    autoCompleteConfig: !strictModelConfig,
    httpMaxInputSize: int(CLI_FLAGS.httpMaxInputSize, text(CLI_FLAGS.httpMaxInputSize), SERVER_DEFAULTS.httpMaxInputSizeBytes, 1),
    logVerbose: int(CLI_FLAGS.logVerbose, text(CLI_FLAGS.logVerbose), 0, 0),
    logFormat,
    backendConfig: parseBackendConfig(list(CLI_FLAGS.backendConfig)),
    host: text('--host') ?? '0.0.0.0',
    modelCacheDir: text(CLI_FLAGS.modelCacheDir),
    grpcMaxMessageBytes: int(CLI_FLAGS.grpcMaxMessageBytes, text(CLI_FLAGS.grpcMaxMessageBytes), DEFAULT_GRPC_MAX_MESSAGE_BYTES, 1, DEFAULT_GRPC_MAX_MESSAGE_BYTES),
    grpcKeepalive: {
      keepaliveTimeMs: int(CLI_FLAGS.grpcKeepaliveTime, text(CLI_FLAGS.grpcKeepaliveTime), GRPC_KEEPALIVE_DEFAULTS.keepaliveTimeMs, 1),
      keepaliveTimeoutMs: int(CLI_FLAGS.grpcKeepaliveTimeout, text(CLI_FLAGS.grpcKeepaliveTimeout), GRPC_KEEPALIVE_DEFAULTS.keepaliveTimeoutMs, 1),
      keepalivePermitWithoutCalls: bool(CLI_FLAGS.grpcKeepalivePermitWithoutCalls, text(CLI_FLAGS.grpcKeepalivePermitWithoutCalls), false),
      http2MaxPingsWithoutData: int(CLI_FLAGS.grpcHttp2MaxPingsWithoutData, text(CLI_FLAGS.grpcHttp2MaxPingsWithoutData), GRPC_KEEPALIVE_DEFAULTS.http2MaxPingsWithoutData, 0),
      http2MinRecvPingIntervalWithoutDataMs: int(
        CLI_FLAGS.grpcHttp2MinRecvPingIntervalWithoutData,
        text(CLI_FLAGS.grpcHttp2MinRecvPingIntervalWithoutData),
        GRPC_KEEPALIVE_DEFAULTS.http2MinRecvPingIntervalWithoutDataMs,
        0,
      ),
      http2MaxPingStrikes: int(CLI_FLAGS.grpcHttp2MaxPingStrikes, text(CLI_FLAGS.grpcHttp2MaxPingStrikes), GRPC_KEEPALIVE_DEFAULTS.http2MaxPingStrikes, 0),
    },
    grpcResponseCompressionLevel: grpcCompression,
    ...(cache.settings ? { responseCache: cache.settings } : {}),
    warnings: cache.warnings,
    trace,
    help,
  };
}

function bool(flag: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(value)) return true;
  if (['false', '0', 'off', 'no'].includes(value)) return false;
  throw new CliError(`${flag} expects true or false, got '${raw}'`);
}

function int(flag: string, raw: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?[0-9]+$/.test(raw.trim()) || value < min || value > max) {
    throw new CliError(`${flag} expects an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

/** `onnxruntime,intra_op_thread_count=2` → Map{onnxruntime → {intra_op_thread_count: '2'}} (Triton's syntax). */
function parseBackendConfig(entries: readonly string[]): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>();
  for (const entry of entries) {
    const match = /^([^,=]+),([^=]+)=(.*)$/.exec(entry);
    if (!match) throw new CliError(`${CLI_FLAGS.backendConfig} expects <backend>,<setting>=<value>, got '${entry}'`);
    const [, backend, key, value] = match;
    result.set(backend, { ...(result.get(backend) ?? {}), [key]: value });
  }
  return result;
}
