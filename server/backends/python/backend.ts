import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelConfigToJson } from '../../config/config-json';
import type { ModelConfig } from '../../config/model-config';
import type { Backend, BackendInstance, InferenceRunner, InstanceContext } from '../backend';
import { PythonEnvironment, resolvePythonEnvironment } from './environment';
import { PythonInstance } from './instance';
import type { CustomMetricRegistry } from './metric-calls';
import { StubOutput, StubProcess, StubSpawnOptions } from './stub-process';

/**
 * Settings, from `--backend-config=python,<key>=<value>` (server-wide) or the model's `parameters` (per model; the
 * model wins). Triton's names where Triton has the setting.
 */
export const PYTHON_SETTINGS = {
  /** Model parameter / backend config: interpreter or environment (see environment.ts). */
  executionEnvPath: { parameter: 'EXECUTION_ENV_PATH', backendConfig: 'execution-env-path' },
  /** Seconds one execute may take before the stub is killed and restarted; 0 disables. Default 30. */
  executeTimeout: { parameter: 'EXECUTE_TIMEOUT_SECONDS', backendConfig: 'execute-timeout-seconds' },
  /** Seconds for starting a stub and running initialize (which may load a large model). Default 300. */
  stubTimeout: { parameter: 'STUB_TIMEOUT_SECONDS', backendConfig: 'stub-timeout-seconds' },
  /** Seconds finalize may take at unload. Default 10. */
  finalizeTimeout: { parameter: 'FINALIZE_TIMEOUT_SECONDS', backendConfig: 'finalize-timeout-seconds' },
  /** Directory for the tensor files; default /dev/shm (tmpfs), else the temporary directory. */
  shmDirectory: { parameter: undefined, backendConfig: 'shm-directory' },
  /** Prefix of the tensor file names (Triton: shm-region-prefix-name). */
  shmPrefix: { parameter: undefined, backendConfig: 'shm-region-prefix-name' },
} as const;

const DEFAULTS = { executeTimeoutSeconds: 30, stubTimeoutSeconds: 300, finalizeTimeoutSeconds: 10 };

/** The name prefix of the stubs' tensor files in the shm directory (`shm-region-prefix-name`). */
export function pythonShmPrefix(backendConfig: Readonly<Record<string, string>> | undefined): string {
  return backendConfig?.[PYTHON_SETTINGS.shmPrefix.backendConfig] ?? 'inference_server_python_backend';
}

export interface PythonBackendOptions {
  /** `--backend-config=python,...` (also read from each instance's context). */
  readonly backendConfig?: Readonly<Record<string, string>>;
  /** Where the stubs' stdout/stderr go (model prints, tracebacks). Default: the server's stdout/stderr. */
  readonly output?: StubOutput;
  /** Runs models' BLS calls (pb_utils.InferenceRequest.exec) through the server; absent: they get an error response. */
  readonly runner?: InferenceRunner;
  /** The server's custom metrics (pb_utils.MetricFamily); absent: those calls fail with a clear error. */
  readonly customMetrics?: CustomMetricRegistry;
}

/**
 * Triton's Python backend: `backend: "python"`, `<version>/model.py` defining `class TritonPythonModel`. Every model
 * instance is a stub process (stub.py) running the model; tensors cross through files in /dev/shm, mapped by numpy.
 */
export class PythonBackend implements Backend {
  readonly name = 'python';
  readonly defaultModelFilename = 'model.py';

  constructor(private readonly options: PythonBackendOptions = {}) {}

  async autoCompleteConfig(config: ModelConfig, versionDir: string): Promise<ModelConfig> {
    const modelFile = path.join(versionDir, config.default_model_filename || this.defaultModelFilename);
    let source: string;
    try {
      source = await fs.promises.readFile(modelFile, 'utf8');
    } catch {
      return config; // loading reports the missing file
    }
    if (!source.includes('auto_complete_config')) return config; // no stub needed for models without the hook
    const backendConfig = this.options.backendConfig ?? {};
    const modelDir = path.dirname(versionDir);
    const environment = await environmentOf(config, backendConfig, modelDir);
    const stub = StubProcess.spawn(this.spawnOptions(environment, backendConfig, modelDir, `${config.name}_auto_complete`));
    try {
      const completed = await stub.autoComplete(
        { model_file: modelFile, version_dir: versionDir, config: modelConfigToJson(config) },
        seconds(config, backendConfig, 'stubTimeout', DEFAULTS.stubTimeoutSeconds) * 1000,
      );
      return mergeAutoCompleted(config, completed);
    } catch (error) {
      throw new Error(`auto_complete_config of '${modelFile}' failed: ${(error as Error).message}`);
    } finally {
      stub.kill();
      await stub.exited;
    }
  }

  async createInstance(context: InstanceContext): Promise<BackendInstance> {
    const { config } = context;
    const backendConfig = { ...this.options.backendConfig, ...context.backendConfig };
    const modelFile = path.join(context.versionDir, config.default_model_filename || this.defaultModelFilename);
    if (!fs.existsSync(modelFile)) throw new Error(`unable to find '${modelFile}' for model '${context.modelName}'`);
    const environment = await environmentOf(config, backendConfig, context.modelDir);
    const args: Record<string, string> = {
      model_config: JSON.stringify(modelConfigToJson(config)),
      model_instance_kind: context.kind === 'KIND_GPU' ? 'GPU' : 'CPU',
      model_instance_name: context.instanceName,
      model_instance_device_id: String(context.deviceId ?? 0),
      model_repository: context.modelDir,
      model_version: String(context.version),
      model_name: context.modelName,
    };
    return PythonInstance.start(context.instanceName, {
      modelName: context.modelName,
      spawn: this.spawnOptions(environment, backendConfig, context.modelDir, context.instanceName),
      initialize: {
        model_file: modelFile,
        version_dir: context.versionDir,
        instance_name: context.instanceName,
        decoupled: config.model_transaction_policy?.decoupled === true,
        args,
      },
      initializeTimeoutMs: seconds(config, backendConfig, 'stubTimeout', DEFAULTS.stubTimeoutSeconds) * 1000,
      executeTimeoutMs: seconds(config, backendConfig, 'executeTimeout', DEFAULTS.executeTimeoutSeconds) * 1000,
      finalizeTimeoutMs: seconds(config, backendConfig, 'finalizeTimeout', DEFAULTS.finalizeTimeoutSeconds) * 1000,
      runner: this.options.runner,
      customMetrics: this.options.customMetrics,
    });
  }

  private spawnOptions(
    environment: PythonEnvironment,
    backendConfig: Readonly<Record<string, string>>,
    modelDir: string,
    label: string,
  ): StubSpawnOptions {
    // The stub's parent-death check compares its parent with this pid: in a container the server is often pid 1.
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', INFERENCE_SERVER_PID: String(process.pid) };
    if (environment.envDir) {
      env.PATH = `${path.join(environment.envDir, 'bin')}${path.delimiter}${env.PATH ?? ''}`;
      env.CONDA_PREFIX = environment.envDir;
      delete env.PYTHONHOME;
    }
    return {
      python: environment.python,
      stubPath: resolveStubScript(),
      label,
      env,
      cwd: modelDir,
      shmDir: backendConfig[PYTHON_SETTINGS.shmDirectory.backendConfig] ?? defaultShmDir(),
      shmPrefix: pythonShmPrefix(backendConfig),
      output: this.options.output ?? forwardOutput,
    };
  }
}

type SettingName = keyof typeof PYTHON_SETTINGS;

/** The model's EXECUTION_ENV_PATH (checked as a config-named path) or else the server-wide one, resolved. */
function environmentOf(config: ModelConfig, backendConfig: Readonly<Record<string, string>>, modelDir: string): Promise<PythonEnvironment> {
  const fromModel = config.parameters?.[PYTHON_SETTINGS.executionEnvPath.parameter]?.string_value;
  if (fromModel !== undefined) return resolvePythonEnvironment(fromModel, modelDir, 'model-config');
  return resolvePythonEnvironment(backendConfig[PYTHON_SETTINGS.executionEnvPath.backendConfig], modelDir, 'server');
}

function setting(config: ModelConfig, backendConfig: Readonly<Record<string, string>>, name: SettingName): string | undefined {
  const { parameter, backendConfig: key } = PYTHON_SETTINGS[name];
  const fromModel = parameter ? config.parameters?.[parameter]?.string_value : undefined;
  return fromModel ?? backendConfig[key];
}

function seconds(
  config: ModelConfig,
  backendConfig: Readonly<Record<string, string>>,
  name: SettingName,
  fallback: number,
): number {
  const raw = setting(config, backendConfig, name);
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${PYTHON_SETTINGS[name].parameter ?? PYTHON_SETTINGS[name].backendConfig} must be a non-negative number of seconds, got '${raw}'`);
  }
  return value;
}

/** Take what auto_complete_config may set (inputs, outputs, max_batch_size, dynamic batching, transaction policy). */
function mergeAutoCompleted(config: ModelConfig, completed: Record<string, unknown>): ModelConfig {
  const merged: ModelConfig = { ...config };
  if (Array.isArray(completed.input)) merged.input = completed.input as ModelConfig['input'];
  if (Array.isArray(completed.output)) merged.output = completed.output as ModelConfig['output'];
  if (typeof completed.max_batch_size === 'number') merged.max_batch_size = completed.max_batch_size;
  if (completed.dynamic_batching && typeof completed.dynamic_batching === 'object') {
    merged.dynamic_batching = completed.dynamic_batching as ModelConfig['dynamic_batching'];
  }
  if (completed.model_transaction_policy && typeof completed.model_transaction_policy === 'object') {
    merged.model_transaction_policy = completed.model_transaction_policy as ModelConfig['model_transaction_policy'];
  }
  return merged;
}

function defaultShmDir(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

function forwardOutput(stream: 'stdout' | 'stderr', text: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(text);
}

let stubScript: string | undefined;

/** stub.py beside this module (dist/ gets it from scripts/copy-assets.js), else in the source tree (ts-jest, ts-node). */
export function resolveStubScript(): string {
  if (stubScript) return stubScript;
  const candidates = [path.join(__dirname, 'stub.py')];
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  candidates.push(path.join(dir, 'server', 'backends', 'python', 'stub.py'));
  for (const candidate of candidates) {
    if (fs.existsSync(candidate) && fs.existsSync(path.join(path.dirname(candidate), 'triton_python_backend_utils.py'))) {
      stubScript = candidate;
      return candidate;
    }
  }
  throw new Error(`the Python backend stub (stub.py) was not found in ${candidates.join(' or ')}`);
}
