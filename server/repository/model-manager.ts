import type { Logger } from 'pino';
import type { Backend } from '../backends/backend';
import type { ModelConfig, NormalizedModelConfig } from '../config/model-config';
import { composingModelNames, isEnsembleConfig } from '../config/ensemble-graph';
import { Errors } from '../core/errors';
import { ObserverHub } from '../core/observer';
import type { ModelState, RepositoryIndexEntry } from '../core/types';
import type { ModelControlMode } from '../contract';
import type { ComposingModelRunner } from '../scheduler/ensemble-scheduler';
import { GpuInventory, NvidiaSmiInventory, PlacementLedger } from '../scheduler/gpu-placement';
import { OverrideFiles, removeOverrideModel, writeOverrideModel } from './file-override';
import { EnsembleLoader, lifecycleAsEnsembleHost } from './ensemble-loading';
import { ModelLoadPlan, planModelLoad } from './load-plan';
import { LoadedModelVersion } from './loaded-version';
import { RepositoryPoller } from './repository-poller';
import type { RepositorySource } from './source';

export interface ModelManagerOptions {
  readonly sources: RepositorySource[];
  readonly backends: Backend[];
  readonly controlMode: ModelControlMode;
  /** Models to load at startup in explicit mode; '*' loads all. */
  readonly startupModels: readonly string[];
  /** Fill configs from the model files (Triton's auto-complete); false with --strict-model-config=true. */
  readonly autoCompleteConfig: boolean;
  /** `--backend-config` settings per backend name. */
  readonly backendConfig: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly log: Logger;
  /** Receives load, unload and execution events. */
  readonly observers?: ObserverHub;
  /** The GPUs for KIND_GPU / KIND_AUTO placement. @default nvidia-smi's list (none when it is absent) */
  readonly gpus?: GpuInventory;
  /** Most instances one version may start, over all its instance groups. @default unlimited */
  readonly maxInstancesPerModel?: number;
  /** --model-config-name: read `<model>/configs/<name>.pbtxt` where it exists instead of config.pbtxt. */
  readonly modelConfigName?: string;
  /** --model-load-retry-count: a version whose backend load fails is tried this many more times. @default 0 */
  readonly loadRetryCount?: number;
}

interface VersionRecord {
  state: ModelState;
  reason: string;
  loaded?: LoadedModelVersion;
}

interface ModelRecord {
  readonly name: string;
  versions: Map<number, VersionRecord>;
  /** Why the model as a whole could not load (bad config, no versions), shown in the index. */
  failure?: string;
  /** Serialises load/unload of this model. */
  busy: Promise<void>;
  config?: NormalizedModelConfig;
  /** The source's fingerprint of the files last loaded; poll mode reloads when it changes. */
  fingerprint?: string;
  /** The temporary model folder of a load with `file:` parameters that is serving (removed when replaced). */
  overrideDir?: string;
}

/** Model lifecycle: discovery across repository roots, load/unload/reload with version policies, the index. */
export class ModelManager {
  private readonly models = new Map<string, ModelRecord>();
  private readonly backends: Map<string, Backend>;
  private readonly observers: ObserverHub;
  private readonly gpus: GpuInventory;
  private readonly ledger = new PlacementLedger();
  private readonly poller: RepositoryPoller;
  private readonly ensembles: EnsembleLoader;

  constructor(private readonly options: ModelManagerOptions) {
    this.backends = new Map(options.backends.map((backend) => [backend.name, backend]));
    this.observers = options.observers ?? new ObserverHub();
    this.gpus = options.gpus ?? new NvidiaSmiInventory();
    this.ensembles = new EnsembleLoader(
      lifecycleAsEnsembleHost(this.models, {
        controlMode: options.controlMode,
        inRepository: async (model) => (await this.discover()).has(model),
        load: (model) => this.load(model),
      }),
      this.observers,
      options.log,
    );
    this.poller = new RepositoryPoller(
      {
        models: this.models,
        discover: () => this.discover(),
        load: (model) => this.load(model),
        remove: (model) => this.unload(model).then(() => this.models.delete(model)),
      },
      options.log,
    );
  }

  /** The facade that runs ensemble steps through the composing models (it is built on top of this manager). */
  attachComposingRunner(runner: ComposingModelRunner): void {
    this.ensembles.attachRunner(runner);
  }

  /** The models an ensemble's last loaded config composes; empty for other models. */
  composingModels(name: string): string[] {
    const config = this.models.get(name)?.config;
    return config && isEnsembleConfig(config) ? composingModelNames(config) : [];
  }

  /** Load the models the control mode asks for; resolves with the names that failed. */
  async start(): Promise<string[]> {
    const available = await this.discover();
    let wanted: string[];
    if (this.options.controlMode === 'explicit') {
      wanted = this.options.startupModels.includes('*') ? [...available.keys()] : [...this.options.startupModels];
    } else {
      wanted = [...available.keys()];
    }
    const results = await Promise.all(
      wanted.map((name) =>
        this.load(name).then(
          () => undefined,
          (error: Error) => {
            this.options.log.error({ model: name, err: error.message }, 'failed to load model');
            return name;
          },
        ),
      ),
    );
    return results.filter((name): name is string => name !== undefined);
  }

  /** Model name → the source holding it. Triton refuses a name that appears in two roots. */
  async discover(): Promise<Map<string, RepositorySource>> {
    const found = new Map<string, RepositorySource>();
    for (const source of this.options.sources) {
      for (const name of await source.listModels()) {
        const existing = found.get(name);
        if (existing) {
          throw new Error(`model '${name}' appears in two repositories: '${existing.root}' and '${source.root}'`);
        }
        found.set(name, source);
      }
    }
    return found;
  }

  /** Load or reload a model. The versions already serving keep serving until the new ones are ready. */
  load(name: string, configOverride?: ModelConfig, files?: OverrideFiles): Promise<void> {
    const record = this.record(name);
    const run = record.busy.then(() => this.loadNow(record, configOverride, files));
    record.busy = run.catch(() => undefined);
    return run;
  }

  /** Unload a model; `drain: false` (shutdown past its deadline) fails what is still queued instead of running it. */
  unload(name: string, { drain = true }: { drain?: boolean } = {}): Promise<void> {
    const record = this.models.get(name);
    if (!record) return Promise.reject(Errors.unloadNotServed());
    const run = record.busy.then(async () => {
      const loaded = [...record.versions.entries()];
      for (const [, version] of loaded) {
        if (version.state === 'READY') version.state = 'UNLOADING';
      }
      // A model that never loaded (its load failed) has nothing to report unloading.
      const wasServing = loaded.some(([, version]) => version.loaded !== undefined);
      await Promise.all(loaded.map(async ([, version]) => version.loaded?.unload({ drain })));
      for (const [number, version] of loaded) {
        if (version.loaded) this.observers.onModelUnload({ model: name, version: String(number) });
        version.state = 'UNAVAILABLE';
        version.reason = 'unloaded';
        version.loaded = undefined;
      }
      record.failure = undefined;
      if (record.overrideDir) await removeOverrideModel(record.overrideDir);
      record.overrideDir = undefined;
      if (wasServing) this.options.log.info({ model: name }, 'unloaded model');
    });
    record.busy = run.catch(() => undefined);
    return run;
  }

  /** Poll mode: rescan the repositories every interval; load new models, reload changed ones, unload removed ones. */
  startPolling(intervalMs: number): void {
    this.poller.start(intervalMs);
  }

  /** One poll pass (also what the timer runs); concurrent calls share the pass in progress. */
  poll(): Promise<void> {
    return this.poller.poll();
  }

  /** Unload everything (shutdown); `drain: false` once the exit deadline has passed. */
  async stop({ drain = true }: { drain?: boolean } = {}): Promise<void> {
    await this.poller.stop();
    // Ensembles first, so their requests in flight still find the composing models.
    const names = [...this.models.keys()];
    const ensembles = names.filter((name) => this.composingModels(name).length > 0);
    for (const wave of [ensembles, names.filter((name) => !ensembles.includes(name))]) {
      await Promise.all(wave.map((name) => this.unload(name, { drain }).catch(() => undefined)));
    }
  }

  /** The version to serve: the given one if ready, else the highest ready version. Throws Triton's errors. */
  getReady(name: string, version?: string): LoadedModelVersion {
    const record = this.models.get(name);
    if (!record) throw Errors.modelNotFound(name);
    if (version === undefined || version === '') {
      let best: LoadedModelVersion | undefined;
      for (const [number, entry] of record.versions) {
        if (entry.state === 'READY' && entry.loaded && (!best || number > best.version)) best = entry.loaded;
      }
      if (!best) throw Errors.noAvailableVersions(name);
      return best;
    }
    if (!/^[0-9]+$/.test(version)) throw Errors.badVersion(version);
    const entry = record.versions.get(Number(version));
    if (!entry) throw Errors.versionNotFound(name, version);
    if (entry.state !== 'READY' || !entry.loaded) throw Errors.versionNotReady(name, version);
    return entry.loaded;
  }

  /** Every ready version, for statistics. */
  readyVersions(name?: string): LoadedModelVersion[] {
    const records = name === undefined ? [...this.models.values()] : [this.models.get(name)].filter(Boolean);
    const result: LoadedModelVersion[] = [];
    for (const record of records as ModelRecord[]) {
      for (const entry of record.versions.values()) if (entry.state === 'READY' && entry.loaded) result.push(entry.loaded);
    }
    return result.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  }

  /** Whether every model that was asked for has a ready version (strict readiness). */
  allReady(): boolean {
    for (const record of this.models.values()) {
      const wanted = [...record.versions.values()].filter((v) => v.reason !== 'unloaded');
      if (record.failure || wanted.some((v) => v.state !== 'READY')) return false;
    }
    return true;
  }

  /** Triton's repository index: every model in the repositories, with state and reason for those tried. */
  async index(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    const names = new Set<string>(this.models.keys());
    try {
      for (const name of (await this.discover()).keys()) names.add(name);
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message }, 'repository scan failed');
    }
    const entries: RepositoryIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const record = this.models.get(name);
      if (!record || (record.versions.size === 0 && !record.failure)) {
        if (!readyOnly) entries.push({ name });
        continue;
      }
      if (record.versions.size === 0) {
        if (!readyOnly) entries.push({ name, state: 'UNAVAILABLE', reason: record.failure });
        continue;
      }
      for (const [version, entry] of [...record.versions.entries()].sort((a, b) => a[0] - b[0])) {
        if (readyOnly && entry.state !== 'READY') continue;
        entries.push({ name, version: String(version), state: entry.state, reason: entry.reason });
      }
    }
    return entries;
  }

  private record(name: string): ModelRecord {
    let record = this.models.get(name);
    if (!record) {
      record = { name, versions: new Map(), busy: Promise.resolve() };
      this.models.set(name, record);
    }
    return record;
  }

  private async loadNow(record: ModelRecord, configOverride?: ModelConfig, files?: OverrideFiles): Promise<void> {
    const started = process.hrtime.bigint();
    const written = files && (await this.writeOverride(record, configOverride, files));
    try {
      await this.loadFrom(record, configOverride, written, started);
    } catch (error) {
      // Unless versions loaded from it serve (a load where only some versions failed).
      if (written && record.overrideDir !== written) await removeOverrideModel(written);
      throw error;
    }
  }

  /** A load's `file:` parameters written to a temporary model folder; Triton's poll failure (INTERNAL) otherwise. */
  private async writeOverride(record: ModelRecord, configOverride: ModelConfig | undefined, files: OverrideFiles): Promise<string> {
    try {
      // Triton requires the config with files: the repository's config.pbtxt is not read for such a load.
      if (!configOverride) throw new Error("a load with 'file:' parameters needs the 'config' parameter too");
      return await writeOverrideModel(record.name, files);
    } catch (error) {
      if (record.versions.size === 0) this.models.delete(record.name);
      throw Errors.loadPollFailed(record.name, (error as Error).message);
    }
  }

  private async loadFrom(record: ModelRecord, configOverride: ModelConfig | undefined, overrideDir: string | undefined, started: bigint): Promise<void> {
    const name = record.name;
    let modelDir: string;
    let plan: ModelLoadPlan;
    try {
      const source = overrideDir ? undefined : (await this.discover()).get(name);
      if (overrideDir) {
        modelDir = overrideDir;
        record.fingerprint = undefined;
      } else if (!source) {
        // Not in any repository: keep no record, so a mistyped name leaves readiness and the index untouched.
        if (record.versions.size === 0) this.models.delete(name);
        throw new Error('failed to poll from model repository');
      } else {
        // Taken before the files are read, so a change made during the load is seen by the next poll.
        record.fingerprint = await source.fingerprint?.(name);
        modelDir = await source.materialize(name);
      }
      plan = await planModelLoad(name, modelDir, configOverride, {
        backends: this.backends,
        autoCompleteConfig: this.options.autoCompleteConfig,
        modelConfigName: this.options.modelConfigName,
        maxInstancesPerModel: this.options.maxInstancesPerModel,
      });
      if (!plan.backend) await this.ensembles.prepare(plan.config);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // A failed reload keeps what is serving; a first load leaves the model UNAVAILABLE with the reason.
      if (![...record.versions.values()].some((v) => v.state === 'READY')) {
        record.failure = reason;
        for (const entry of record.versions.values()) {
          entry.state = 'UNAVAILABLE';
          entry.reason = reason;
        }
      }
      throw Errors.loadFailed(name, reason);
    }
    const { config, backend, versions } = plan;

    const backendConfig = (backend && this.options.backendConfig.get(backend.name)) || {};
    const fresh = new Map<number, VersionRecord>();
    await Promise.all(
      versions.map(async (version) => {
        const entry: VersionRecord = { state: 'LOADING', reason: '' };
        fresh.set(version, entry);
        if (!record.versions.has(version)) record.versions.set(version, entry);
        const versionStarted = process.hrtime.bigint();
        try {
          const load = (versionBackend: Backend) => () =>
            LoadedModelVersion.load(config, version, {
              backend: versionBackend,
              modelDir,
              backendConfig,
              observers: this.observers,
              gpus: this.gpus,
              ledger: this.ledger,
              log: this.options.log,
            });
          entry.loaded = !backend ? await this.ensembles.version(config, version, modelDir) : await this.withLoadRetries(name, version, load(backend));
          entry.state = 'READY';
        } catch (error) {
          entry.state = 'UNAVAILABLE';
          entry.reason = error instanceof Error ? error.message : String(error);
        }
        const seconds = Number(process.hrtime.bigint() - versionStarted) / 1e9;
        this.observers.onModelLoad({ model: name, version: String(version), ok: entry.state === 'READY', seconds });
      }),
    );

    const failed = [...fresh.entries()].filter(([, entry]) => entry.state !== 'READY');
    const previous = record.versions;
    const freshEntries = new Set(fresh.values());
    const oldServing = [...previous.values()].some((v) => v.state === 'READY' && !freshEntries.has(v));
    if (failed.length > 0 && oldServing) {
      // Reload failed: the old versions keep serving; discard what did start.
      await Promise.all([...fresh.values()].map((entry) => entry.loaded?.unload()));
      for (const [version, entry] of previous) if (freshEntries.has(entry)) previous.delete(version);
      throw Errors.loadFailed(name, describeFailures(failed));
    }

    // Swap atomically, then retire the versions that were replaced or fell out of the policy.
    const retired = [...previous.entries()].filter(([version, entry]) => fresh.get(version) !== entry);
    record.versions = fresh;
    record.config = config;
    record.failure = undefined;
    await Promise.all(retired.map(async ([, entry]) => entry.loaded?.unload()));
    const replacedOverride = record.overrideDir;
    record.overrideDir = overrideDir;
    if (replacedOverride && replacedOverride !== overrideDir) await removeOverrideModel(replacedOverride);

    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (failed.length > 0) throw Errors.loadFailed(name, describeFailures(failed));
    this.options.log.info({ model: name, versions, seconds: Number(seconds.toFixed(3)) }, 'loaded model');
  }

  /** Triton's --model-load-retry-count: the backend load of a version is tried up to 1 + count times. */
  private async withLoadRetries<T>(model: string, version: number, load: () => Promise<T>): Promise<T> {
    const retries = this.options.loadRetryCount ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await load();
      } catch (error) {
        if (attempt >= retries) throw error;
        this.options.log.warn({ model, version, attempt: attempt + 1, err: (error as Error).message }, 'model load failed; retrying');
      }
    }
  }
}

function describeFailures(failed: [number, VersionRecord][]): string {
  return failed.map(([version, entry]) => `version ${version}: ${entry.reason}`).join('; ');
}
