/**
 * The command line: Triton's flags (cli-flags.ts says what each one does here) → CliOptions. Errors and warnings
 * carry Triton's texts (command_line_parser.cc): `Bad option: "--<flag>".` followed by the reason.
 */
import { formatHelp, HelpEntry, HelpGroup, OptionsConfig, parseFlags, UsageError } from './command-line';
import { LOG_FORMAT_VALUES, LogFormatRequest } from './log-output';
import { CLI_FLAGS, DEFAULT_PORTS, ModelControlMode, SERVER_DEFAULTS } from './contract';
import { FLAG_SPECS, FlagSpec } from './cli-flags';
import { DEFAULT_GRPC_MAX_MESSAGE_BYTES, GRPC_KEEPALIVE_DEFAULTS, GrpcCompressionLevel, GrpcKeepaliveOptions } from './protocol/grpc/server';
import { MetricsConfig, MetricsConfigError, parseMetricsConfig } from './metrics/config';
import { CacheConfigError, parseCacheConfig, ResponseCacheSettings } from './core/cache-config';
import { parseTraceFlags, TraceFlagError } from './cli-trace';
import { DEFAULT_SERVER_ID } from './core/inference-service';
import {
  addRestriction,
  GRPC_RESTRICTED_HEADER_PREFIX,
  RestrictedCategory,
  RestrictedFeatureError,
  RestrictedFeatures,
  Restriction,
} from './core/restricted-features';
import type { TraceValues } from './core/trace-setting';

/** Where --grpc-use-ssl finds its certificates (read at startup, see main.ts). */
export interface GrpcTlsFiles {
  readonly serverCert: string;
  readonly serverKey: string;
  readonly rootCert?: string;
  readonly mutual: boolean;
}

/** Parsed command line, with Triton's flag names and defaults. */
export interface CliOptions {
  /** --id: server metadata `name`. */
  serverId: string;
  modelRepositories: string[];
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  /** --http-address, --grpc-address, --metrics-address (metrics follows HTTP, as Triton; --host sets all three). */
  httpAddress: string;
  grpcAddress: string;
  metricsAddress: string;
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
  /** --model-config-name. */
  modelConfigName?: string;
  /** --model-load-retry-count. */
  modelLoadRetryCount: number;
  strictReadiness: boolean;
  exitOnError: boolean;
  exitTimeoutSecs: number;
  maxInstancesPerModel: number;
  httpFastInferPath: boolean;
  autoCompleteConfig: boolean;
  httpMaxInputSize: number;
  logVerbose: number;
  logInfo: boolean;
  logWarning: boolean;
  logError: boolean;
  /**
   * --log-format: Triton's `default` / `ISO8601`, or `json` / `pretty`; `auto` (not given): readable lines on a
   * terminal, JSON otherwise (log-output.ts).
   */
  logFormat: LogFormatRequest;
  /** --log-file: lines are appended there instead of going to stdout. */
  logFile?: string;
  backendConfig: Map<string, Record<string, string>>;
  /** --model-cache-dir; undefined → the server's default. */
  modelCacheDir?: string;
  grpcMaxMessageBytes: number;
  grpcKeepalive: GrpcKeepaliveOptions;
  grpcResponseCompressionLevel: GrpcCompressionLevel;
  /** --grpc-use-ssl / --grpc-use-ssl-mutual; undefined: plaintext. */
  grpcTls?: GrpcTlsFiles;
  /** --http-restricted-api / --grpc-restricted-protocol (the gRPC header names carry Triton's prefix). */
  httpRestrictedApis: RestrictedFeatures;
  grpcRestrictedProtocols: RestrictedFeatures;
  /** --http-header-forward-pattern / --grpc-header-forward-pattern. */
  httpHeaderForwardPattern?: string;
  grpcHeaderForwardPattern?: string;
  /** --allow-client-shm. */
  allowClientSharedMemory: boolean;
  /** --cache-config / --response-cache-byte-size; undefined: no response cache. */
  responseCache?: ResponseCacheSettings;
  /** Deprecation notices and ignored flags, one line each, to print at startup as Triton does. */
  warnings: string[];
  /** Triton's trace extension settings at startup (--trace-config and the deprecated --trace-* flags). */
  trace: TraceValues;
  help: boolean;
  /** --version: print the version and exit. */
  version: boolean;
}

/** A command line the server cannot start with (exit 2). */
export class CliError extends UsageError {}

const flagName = (flag: string) => flag.replace(/^--/, '');

/** Triton's wrapping of a flag's parse error. */
const badOption = (flag: string, message: string) => new CliError(`Bad option: "${flag}".\n${message}`);

export function usage(): string {
  const groups: HelpGroup[] = [];
  for (const spec of FLAG_SPECS) {
    const title = spec.group === '' ? 'General' : spec.group;
    if (groups[groups.length - 1]?.title !== title) groups.push({ title, entries: [] });
    (groups[groups.length - 1].entries as HelpEntry[]).push({
      flag: spec.flag,
      short: spec.short,
      value: spec.argument === 'none' ? undefined : spec.form ?? `<${VALUE_TYPE_NAMES[spec.argument]}>`,
      help: helpText(spec).replace(/`/g, ''),
    });
  }
  return formatHelp('Usage: inference-server --model-repository=<path> [options]', groups, [
    'Values: --flag=value or --flag value; <boolean> is true/on/1 or false/off/0, and a bare --flag means true.',
  ]).trimEnd();
}

const VALUE_TYPE_NAMES = { int: 'integer', bool: 'boolean', float: 'number', string: 'string', none: '' } as const;

/** What --help says of a flag (and the docs' note column). */
export function helpText(spec: FlagSpec): string {
  switch (spec.status) {
    case 'ignored':
      return `Accepted, no effect: ${spec.note}.`;
    case 'refused':
      return `Refused: ${spec.note}.`;
    case 'partial':
      return spec.refusedWhen ? `${spec.refusedValues} is refused: ${spec.note}.` : `${spec.note}. Refused: ${spec.refusedValues}.`;
    default:
      return spec.note;
  }
}

const INT = /^-?\d+$/;
const FLOAT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOL_VALUES = ['true', 'on', '1', 'false', 'off', '0'];

/** Triton's ParseOption checks by argument kind, the flag's own check, and refusals. */
function checkValue(spec: FlagSpec, value: string): void {
  if ((spec.argument === 'int' && !INT.test(value)) || (spec.argument === 'float' && !FLOAT.test(value))) {
    throw badOption(spec.flag, `Invalid option value. Got ${value}`);
  }
  if (spec.argument === 'bool' && !BOOL_VALUES.includes(value.toLowerCase())) {
    throw badOption(spec.flag, `invalid value for bool option: ${value}`);
  }
  const message = spec.check?.(value);
  if (message !== undefined) throw badOption(spec.flag, message);
  if (spec.status === 'refused') throw badOption(spec.flag, `not supported by this server: ${spec.note}`);
  if (spec.status === 'partial' && spec.refusedWhen?.(value)) {
    throw badOption(spec.flag, `${spec.flag}=${value} is not supported by this server: ${spec.note}`);
  }
}

type Values = Record<string, string | string[] | boolean | undefined>;

export function parseCli(argv: readonly string[]): CliOptions {
  const options: OptionsConfig = {};
  for (const spec of FLAG_SPECS) {
    options[flagName(spec.flag)] = {
      type: spec.argument === 'none' ? 'boolean' : 'string',
      multiple: spec.multiple === true,
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  const values = parseFlags(argv, options, {
    program: 'inference-server',
    trueWhenBare: FLAG_SPECS.filter((spec) => spec.argument === 'bool').map((spec) => flagName(spec.flag)),
  }) as Values;

  const warnings: string[] = [];
  for (const spec of FLAG_SPECS) {
    const given = values[flagName(spec.flag)];
    if (given === undefined || spec.argument === 'none') continue;
    for (const value of Array.isArray(given) ? given : [String(given)]) checkValue(spec, value);
    if (spec.status === 'ignored') warnings.push(`Warning: '${spec.flag}' has no effect on this server: ${spec.note}.`);
  }
  return readOptions(values, warnings);
}

function readOptions(values: Values, warnings: string[]): CliOptions {
  const text = (flag: string) => values[flagName(flag)] as string | undefined;
  const list = (flag: string) => (values[flagName(flag)] as string[] | undefined) ?? [];
  const bool = (flag: string, fallback: boolean) => {
    const raw = text(flag);
    return raw === undefined ? fallback : ['true', 'on', '1'].includes(raw.toLowerCase());
  };
  const int = (flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = text(flag);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (value < min || value > max) throw badOption(flag, `expects an integer between ${min} and ${max}, got '${raw}'`);
    return value;
  };
  /** Run a reader of its own module, turning its error type into a CliError. */
  const wrap = <T>(read: () => T, errorType: new (...args: never[]) => Error): T => {
    try {
      return read();
    } catch (error) {
      if (error instanceof errorType) throw new CliError(error.message);
      throw error;
    }
  };

  const modelRepositories = [...list(CLI_FLAGS.modelRepository), ...list(CLI_FLAGS.modelStore)];
  const help = values.help === true;
  const version = values.version === true;
  if (!help && !version && modelRepositories.length === 0) {
    throw new CliError(`${CLI_FLAGS.modelRepository} is required (inference-server --help lists every option)`);
  }

  const mode = (text(CLI_FLAGS.modelControlMode) ?? SERVER_DEFAULTS.modelControlMode).toLowerCase();
  if (mode !== 'none' && mode !== 'poll' && mode !== 'explicit') throw badOption(CLI_FLAGS.modelControlMode, 'invalid argument for --model-control-mode');
  const loadModels = list(CLI_FLAGS.loadModel);
  if (loadModels.length > 0 && mode !== 'explicit') {
    throw new CliError("Error: Use of '--load-model' requires setting '--model-control-mode=explicit' as well.");
  }
  const compression = (text(CLI_FLAGS.grpcInferResponseCompressionLevel) ?? 'none').toLowerCase();
  if (!['none', 'low', 'med', 'medium', 'high'].includes(compression)) {
    throw badOption(CLI_FLAGS.grpcInferResponseCompressionLevel, 'invalid argument for --grpc_infer_response_compression_level');
  }
  const logFormat = (text(CLI_FLAGS.logFormat) ?? 'auto') as LogFormatRequest;
  if (logFormat === 'auto' ? text(CLI_FLAGS.logFormat) !== undefined : !LOG_FORMAT_VALUES.includes(logFormat)) {
    throw badOption(CLI_FLAGS.logFormat, 'invalid argument for --log-format');
  }
  const httpMaxInputSize = text(CLI_FLAGS.httpMaxInputSize);
  if (httpMaxInputSize !== undefined && Number(httpMaxInputSize) <= 0) {
    throw badOption(CLI_FLAGS.httpMaxInputSize, 'Error: --http-max-input-size must be greater than 0.');
  }

  const cache = wrap(() => parseCacheConfig(list(CLI_FLAGS.cacheConfig), text(CLI_FLAGS.responseCacheByteSize)), CacheConfigError);
  warnings.push(...cache.warnings);
  warnings.push(...deprecationWarnings(values));
  const trace = wrap(
    () =>
      parseTraceFlags({
        config: list(CLI_FLAGS.traceConfig),
        file: text(CLI_FLAGS.traceFile),
        levels: list(CLI_FLAGS.traceLevel),
        rate: text(CLI_FLAGS.traceRate),
        count: text(CLI_FLAGS.traceCount),
        logFrequency: text(CLI_FLAGS.traceLogFrequency),
      }),
    TraceFlagError,
  );

  const host = text(CLI_FLAGS.host) ?? '0.0.0.0';
  const httpAddress = text(CLI_FLAGS.httpAddress) ?? host;
  const maxConnectionAge = text(CLI_FLAGS.grpcMaxConnectionAge);
  const maxConnectionAgeGrace = text(CLI_FLAGS.grpcMaxConnectionAgeGrace);
  const tls = grpcTls(values);

  return {
    serverId: text(CLI_FLAGS.id) ?? DEFAULT_SERVER_ID,
    modelRepositories,
    httpPort: int(CLI_FLAGS.httpPort, DEFAULT_PORTS.http, 0, 65535),
    grpcPort: int(CLI_FLAGS.grpcPort, DEFAULT_PORTS.grpc, 0, 65535),
    metricsPort: int(CLI_FLAGS.metricsPort, DEFAULT_PORTS.metrics, 0, 65535),
    httpAddress,
    grpcAddress: text(CLI_FLAGS.grpcAddress) ?? host,
    metricsAddress: text(CLI_FLAGS.metricsAddress) ?? httpAddress,
    allowHttp: bool(CLI_FLAGS.allowHttp, true),
    allowGrpc: bool(CLI_FLAGS.allowGrpc, true),
    allowMetrics: bool(CLI_FLAGS.allowMetrics, true),
    allowGpuMetrics: bool(CLI_FLAGS.allowGpuMetrics, true),
    allowCpuMetrics: bool(CLI_FLAGS.allowCpuMetrics, true),
    metricsIntervalMs: int(CLI_FLAGS.metricsIntervalMs, 2000, 1),
    metricsConfig: wrap(() => parseMetricsConfig(list(CLI_FLAGS.metricsConfig)), MetricsConfigError),
    modelControlMode: mode,
    repositoryPollSecs: int(CLI_FLAGS.repositoryPollSecs, SERVER_DEFAULTS.repositoryPollSecs, 0),
    loadModels,
    modelConfigName: text(CLI_FLAGS.modelConfigName),
    modelLoadRetryCount: int(CLI_FLAGS.modelLoadRetryCount, 0, 0),
    strictReadiness: bool(CLI_FLAGS.strictReadiness, true),
    exitOnError: bool(CLI_FLAGS.exitOnError, true),
    exitTimeoutSecs: int(CLI_FLAGS.exitTimeoutSecs, SERVER_DEFAULTS.exitTimeoutSecs, 0),
    maxInstancesPerModel: int(CLI_FLAGS.maxInstancesPerModel, SERVER_DEFAULTS.maxInstancesPerModel, 1),
    httpFastInferPath: bool(CLI_FLAGS.httpFastInferPath, false),
    autoCompleteConfig: !(bool(CLI_FLAGS.strictModelConfig, false) || values[flagName(CLI_FLAGS.disableAutoCompleteConfig)] === true),
    httpMaxInputSize: int(CLI_FLAGS.httpMaxInputSize, SERVER_DEFAULTS.httpMaxInputSizeBytes, 1),
    logVerbose: logVerbose(text(CLI_FLAGS.logVerbose)),
    logInfo: bool(CLI_FLAGS.logInfo, true),
    logWarning: bool(CLI_FLAGS.logWarning, true),
    logError: bool(CLI_FLAGS.logError, true),
    logFormat,
    logFile: text(CLI_FLAGS.logFile),
    backendConfig: parseBackendConfig(list(CLI_FLAGS.backendConfig)),
    modelCacheDir: text(CLI_FLAGS.modelCacheDir),
    grpcMaxMessageBytes: int(CLI_FLAGS.grpcMaxMessageBytes, DEFAULT_GRPC_MAX_MESSAGE_BYTES, 1, DEFAULT_GRPC_MAX_MESSAGE_BYTES),
    grpcKeepalive: {
      keepaliveTimeMs: int(CLI_FLAGS.grpcKeepaliveTime, GRPC_KEEPALIVE_DEFAULTS.keepaliveTimeMs, 1),
      keepaliveTimeoutMs: int(CLI_FLAGS.grpcKeepaliveTimeout, GRPC_KEEPALIVE_DEFAULTS.keepaliveTimeoutMs, 1),
      keepalivePermitWithoutCalls: bool(CLI_FLAGS.grpcKeepalivePermitWithoutCalls, false),
      http2MaxPingsWithoutData: int(CLI_FLAGS.grpcHttp2MaxPingsWithoutData, GRPC_KEEPALIVE_DEFAULTS.http2MaxPingsWithoutData, 0),
      http2MinRecvPingIntervalWithoutDataMs: int(
        CLI_FLAGS.grpcHttp2MinRecvPingIntervalWithoutData,
        GRPC_KEEPALIVE_DEFAULTS.http2MinRecvPingIntervalWithoutDataMs,
        0,
      ),
      http2MaxPingStrikes: int(CLI_FLAGS.grpcHttp2MaxPingStrikes, GRPC_KEEPALIVE_DEFAULTS.http2MaxPingStrikes, 0),
      ...(maxConnectionAge !== undefined ? { maxConnectionAgeMs: int(CLI_FLAGS.grpcMaxConnectionAge, 0, 1) } : {}),
      ...(maxConnectionAgeGrace !== undefined ? { maxConnectionAgeGraceMs: int(CLI_FLAGS.grpcMaxConnectionAgeGrace, 0, 0) } : {}),
    },
    grpcResponseCompressionLevel: compression as GrpcCompressionLevel,
    ...(tls ? { grpcTls: tls } : {}),
    httpRestrictedApis: restrictions(list(CLI_FLAGS.httpRestrictedApi), CLI_FLAGS.httpRestrictedApi, 'api', ''),
    grpcRestrictedProtocols: restrictions(list(CLI_FLAGS.grpcRestrictedProtocol), CLI_FLAGS.grpcRestrictedProtocol, 'protocol', GRPC_RESTRICTED_HEADER_PREFIX),
    allowClientSharedMemory: bool(CLI_FLAGS.allowClientShm, false),
    httpHeaderForwardPattern: text(CLI_FLAGS.httpHeaderForwardPattern),
    grpcHeaderForwardPattern: text(CLI_FLAGS.grpcHeaderForwardPattern),
    ...(cache.settings ? { responseCache: cache.settings } : {}),
    warnings,
    trace,
    help,
    version,
  };
}

/** Triton's ParseIntBoolOption: an integer, or true/false for 1/0. */
function logVerbose(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const value = raw.toLowerCase() === 'true' ? '1' : raw.toLowerCase() === 'false' ? '0' : raw;
  if (!INT.test(value) || Number(value) < 0) throw badOption(CLI_FLAGS.logVerbose, `Invalid option value. Got ${raw}`);
  return Number(value);
}

/** --grpc-use-ssl, or --grpc-use-ssl-mutual (which turns TLS on whatever its value, as in Triton). */
function grpcTls(values: Values): GrpcTlsFiles | undefined {
  const text = (flag: string) => values[flagName(flag)] as string | undefined;
  const isTrue = (raw: string | undefined) => raw !== undefined && ['true', 'on', '1'].includes(raw.toLowerCase());
  const mutualGiven = text(CLI_FLAGS.grpcUseSslMutual) !== undefined;
  if (!isTrue(text(CLI_FLAGS.grpcUseSsl)) && !mutualGiven) return undefined;
  const mutual = isTrue(text(CLI_FLAGS.grpcUseSslMutual));
  const serverCert = text(CLI_FLAGS.grpcServerCert);
  const serverKey = text(CLI_FLAGS.grpcServerKey);
  const rootCert = text(CLI_FLAGS.grpcRootCert);
  if (serverCert === undefined || serverKey === undefined) {
    throw new CliError(`${CLI_FLAGS.grpcUseSsl} requires ${CLI_FLAGS.grpcServerCert} and ${CLI_FLAGS.grpcServerKey}`);
  }
  if (mutual && rootCert === undefined) {
    throw new CliError(`${CLI_FLAGS.grpcUseSslMutual} requires ${CLI_FLAGS.grpcRootCert} (the CA that signs client certificates)`);
  }
  return { serverCert, serverKey, ...(rootCert !== undefined ? { rootCert } : {}), mutual };
}

function restrictions(entries: readonly string[], flag: string, feature: 'api' | 'protocol', prefix: string): RestrictedFeatures {
  const result = new Map<RestrictedCategory, Restriction>();
  for (const entry of entries) {
    try {
      addRestriction(result, entry, flagName(flag), feature, prefix);
    } catch (error) {
      if (error instanceof RestrictedFeatureError) throw badOption(flag, error.message);
      throw error;
    }
  }
  return result;
}

/** Triton's warnings for its deprecated flags (the cache one comes with the cache settings). */
function deprecationWarnings(values: Values): string[] {
  const given = (flag: string) => values[flagName(flag)] !== undefined;
  const warnings: string[] = [];
  if (given(CLI_FLAGS.strictModelConfig)) {
    warnings.push("Warning: '--strict-model-config' has been deprecated! Please use '--disable-auto-complete-config' instead.");
    const strict = ['true', 'on', '1'].includes(String(values[flagName(CLI_FLAGS.strictModelConfig)]).toLowerCase());
    if (!strict && values[flagName(CLI_FLAGS.disableAutoCompleteConfig)] === true) {
      warnings.push("Warning: Overriding deprecated '--strict-model-config' from False to True in favor of '--disable-auto-complete-config'!");
    }
  }
  const trace: ReadonlyArray<readonly [string, string]> = [
    [CLI_FLAGS.traceFile, "'--trace-config triton,file=<filepath> instead."],
    [CLI_FLAGS.traceLevel, "'--trace-config level=<OFF|TIMESTAMPS|TENSORS> instead."],
    [CLI_FLAGS.traceRate, "'--trace-config rate=<rate value> instead."],
    [CLI_FLAGS.traceCount, "'--trace-config count=<count value> instead."],
    [CLI_FLAGS.traceLogFrequency, "'--trace-config triton,log-frequency=<log frequency value> instead."],
  ];
  for (const [flag, instead] of trace) {
    if (given(flag)) warnings.push(`Warning: '${flag}' has been deprecated and will be removed in future releases. Please use ${instead}`);
  }
  return warnings;
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
