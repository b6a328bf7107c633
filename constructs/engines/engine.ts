import { CLI_FLAGS, ModelControlMode, WRITABLE_PATHS } from '../../server/contract';
import { TRITON_FLAGS, TritonFlagValue } from './triton-flags';

/**
 * Which server the InferenceServer construct runs: `builtin`, this repository's server (image built from the
 * Dockerfile), or `triton`, NVIDIA's Triton Inference Server from its NGC image. Both serve the same KServe v2 protocol
 * on the same ports and health paths, so Services, probes, scraping and autoscaling are the same.
 */
export type InferenceEngine = 'builtin' | 'triton';

export const INFERENCE_ENGINES: readonly InferenceEngine[] = ['builtin', 'triton'];

export function isInferenceEngine(value: string): value is InferenceEngine {
  return (INFERENCE_ENGINES as readonly string[]).includes(value);
}

/**
 * The Triton release the `triton` engine runs unless an image is given: NGC tag `<yy.mm>-py3` of
 * nvcr.io/nvidia/tritonserver. 26.07 is Triton 2.71.0 (TRITON_VERSION at tag v2.71.0 of triton-inference-server/server,
 * branch r26.07, whose README runs `nvcr.io/nvidia/tritonserver:26.07-py3`); the NGC catalog lists the tags and the
 * release notes map each to its Triton version. TRITON_FLAGS is read from the same commit: move them together.
 */
export const TRITON_RELEASE = {
  ngcTag: '26.07-py3',
  version: '2.71.0',
  commit: '819ee37770df2fcd6d799d2a5d1dacf812f7d62c',
} as const;

export const TRITON_IMAGE = `nvcr.io/nvidia/tritonserver:${TRITON_RELEASE.ngcTag}`;

/**
 * GKE GPUs the pinned Triton cannot use: Triton's release notes for 26.07 ("GPU Requirements") support CUDA compute
 * capability 7.5 and later; V100 is 7.0 and P4 6.1 (NVIDIA's CUDA GPUs list). The release is built on CUDA 13.3.1,
 * so the nodes also need a driver that runs CUDA 13 (docs/engines.md).
 */
/**
 * The oldest NGC tag that knows every flag the construct passes: `--allow-client-shm` first appears in
 * command_line_parser.cc at v2.68.0 (26.04); v2.67.0 lacks it.
 */
export const TRITON_OLDEST_TAG = '26.04';

export const TRITON_UNSUPPORTED_GPUS: readonly string[] = ['nvidia-tesla-v100', 'nvidia-tesla-p4'];

/**
 * Where Triton copies a gs:// repository before loading it (docs/user_guide/model_repository.md, "Cloud Storage with
 * Environment variables"; by default a folder under /tmp). Triton core's GCSFileSystem::LocalizePath
 * (src/filesystem/implementations/gcs.h) makes a fresh temporary folder inside it at each start, so a copy left by a
 * crashed container in the emptyDir does not get in the way. Credentials: GOOGLE_APPLICATION_CREDENTIALS if set,
 * else the metadata server, which on GKE is Workload Identity.
 */
export const TRITON_GCS_MOUNT_ENV = 'TRITON_GCS_MOUNT_DIRECTORY';

/** Resolved settings both engines turn into their command line. */
export interface EngineSettings {
  readonly modelRepositories: readonly string[];
  readonly modelControlMode: ModelControlMode;
  readonly repositoryPollSecs?: number;
  readonly exitTimeoutSecs: number;
  readonly numGpus: number;
  readonly logVerbose?: number;
  readonly responseCacheByteSize?: number;
  /** `<groups>:<header>=<value>` for the restricted endpoints (the same syntax in both engines). */
  readonly restriction?: string;
  readonly allowClientShm: boolean;
  readonly extraArgs: readonly string[];
}

/** What the container runs. */
export interface EngineContainer {
  /** Undefined: the image's entrypoint. */
  readonly command?: string[];
  readonly args: string[];
  readonly env: Record<string, string>;
}

const hasGcs = (s: EngineSettings) => s.modelRepositories.some((r) => r.startsWith('gs://'));

/**
 * The command line of each engine. Both spell these flags as Triton does; the differences: the builtin server downloads
 * gs:// repositories into `--model-cache-dir`, Triton into the folder TRITON_GCS_MOUNT_DIRECTORY names. Triton runs as
 * `tritonserver` (NGC's entrypoint would run the first argument as a program).
 */
export function engineContainer(engine: InferenceEngine, s: EngineSettings): EngineContainer {
  const args = [
    ...s.modelRepositories.map((repo) => `${CLI_FLAGS.modelRepository}=${repo}`),
    `${CLI_FLAGS.modelControlMode}=${s.modelControlMode}`,
    ...(s.repositoryPollSecs !== undefined ? [`${CLI_FLAGS.repositoryPollSecs}=${s.repositoryPollSecs}`] : []),
    `${CLI_FLAGS.exitTimeoutSecs}=${s.exitTimeoutSecs}`,
    ...(engine === 'builtin' && hasGcs(s) ? [`${CLI_FLAGS.modelCacheDir}=${WRITABLE_PATHS.modelCache}`] : []),
    `${CLI_FLAGS.allowGpuMetrics}=${s.numGpus > 0}`,
    ...(s.logVerbose ? [`${CLI_FLAGS.logVerbose}=${s.logVerbose}`] : []),
    ...(s.responseCacheByteSize !== undefined ? [`${CLI_FLAGS.cacheConfig}=local,size=${s.responseCacheByteSize}`] : []),
    ...(s.restriction ? [`${CLI_FLAGS.httpRestrictedApi}=${s.restriction}`, `${CLI_FLAGS.grpcRestrictedProtocol}=${s.restriction}`] : []),
    `${CLI_FLAGS.allowClientShm}=${s.allowClientShm}`,
    ...s.extraArgs,
  ];
  if (engine === 'builtin') return { args, env: {} };
  return {
    command: ['tritonserver'],
    args,
    env: {
      ...(hasGcs(s) ? { [TRITON_GCS_MOUNT_ENV]: WRITABLE_PATHS.modelCache } : {}),
      // The root filesystem is read-only: caches that go under $HOME (CUDA's JIT cache, Python packages of the python
      // backend) go to the writable /tmp instead of failing.
      HOME: WRITABLE_PATHS.tmp,
    },
  };
}

/** The flag of a `--flag=value` or `--flag` argument. */
export function flagName(arg: string): string {
  const equals = arg.indexOf('=');
  return equals < 0 ? arg : arg.slice(0, equals);
}

/** The flags the builtin server gives a meaning to (server/contract.ts); others it ignores with a warning or refuses. */
const BUILTIN_FLAGS: ReadonlySet<string> = new Set(Object.values(CLI_FLAGS));

/** Why `arg` cannot be passed to `engine`, or undefined when it can. */
export function argumentError(engine: InferenceEngine, arg: string): string | undefined {
  if (!arg.startsWith('--')) return `"${arg}" is not a --flag=value argument`;
  const flag = flagName(arg);
  const value = arg.includes('=') ? arg.slice(flag.length + 1) : undefined;
  if (engine === 'builtin') {
    if (BUILTIN_FLAGS.has(flag)) return undefined;
    return flag in TRITON_FLAGS
      ? `${flag} has no effect on the builtin engine (docs/triton-flags.md says what it does with each Triton flag)`
      : `${flag} is not a flag of the builtin engine`;
  }
  const kind = TRITON_FLAGS[flag] as TritonFlagValue | undefined;
  if (kind === undefined) return `${flag} is not a tritonserver flag (Triton ${TRITON_RELEASE.version} exits on unknown flags)`;
  return valueError(flag, kind, value);
}

function valueError(flag: string, kind: TritonFlagValue, value: string | undefined): string | undefined {
  if (kind === 'none') return value === undefined ? undefined : `${flag} takes no value`;
  // `--flag value` (two arguments) is not produced here; every generated flag carries its value after '='.
  if (value === undefined) return `${flag} needs a value: ${flag}=<${kind}>`;
  if (kind === 'bool' && !['true', 'on', '1', 'false', 'off', '0'].includes(value.toLowerCase())) {
    return `${flag}=${value}: Triton takes true/false, on/off or 1/0`;
  }
  if (kind === 'int' && !/^-?\d+$/.test(value)) return `${flag}=${value}: Triton takes a whole number`;
  if (kind === 'float' && (value.trim() === '' || !Number.isFinite(Number(value)))) return `${flag}=${value}: Triton takes a number`;
  return undefined;
}

/** The props engineErrors reads (InferenceServerProps has them). */
export interface EngineProps {
  readonly engine?: string;
  readonly modelRepositories: readonly string[];
  readonly extraArgs?: readonly string[];
  readonly env?: Record<string, string>;
  readonly acceleratorType?: string;
  readonly image?: string;
}

/** Props the engine cannot honour, each message naming the prop and the engine. */
export function engineErrors(props: EngineProps, engine: string): string[] {
  if (!isInferenceEngine(engine)) return [`engine "${engine}" must be one of ${INFERENCE_ENGINES.join(', ')}`];
  const errors: string[] = [];
  for (const arg of props.extraArgs ?? []) {
    const why = argumentError(engine, arg);
    if (why) errors.push(`extraArgs "${arg}" cannot go to engine "${engine}": ${why}`);
  }
  if (engine === 'triton' && props.acceleratorType !== undefined && TRITON_UNSUPPORTED_GPUS.includes(props.acceleratorType)) {
    errors.push(`acceleratorType "${props.acceleratorType}" cannot run engine "triton": Triton ${TRITON_RELEASE.ngcTag} needs CUDA compute `
      + 'capability 7.5 or later (T4, L4 and newer); use the builtin engine or a newer GPU');
  }
  const tag = /\/tritonserver:(\d{2}\.\d{2})-/.exec(props.image ?? '')?.[1];
  if (engine === 'triton' && tag !== undefined && tag < TRITON_OLDEST_TAG) {
    errors.push(`image "${props.image}" is too old for engine "triton": the construct passes --allow-client-shm, which Triton has from `
      + `${TRITON_OLDEST_TAG} on; use ${TRITON_OLDEST_TAG} or later (default ${TRITON_RELEASE.ngcTag})`);
  }
  const gcsMount = props.env?.[TRITON_GCS_MOUNT_ENV];
  if (engine === 'triton' && gcsMount !== undefined && props.modelRepositories.some((r) => r.startsWith('gs://'))) {
    errors.push(`env must not set ${TRITON_GCS_MOUNT_ENV} with engine "triton": it points Triton at the model cache volume (modelCacheSize)`);
  }
  return errors;
}
