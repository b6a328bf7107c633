/**
 * Ensembles in the model lifecycle: an ensemble loads after the models it composes (it needs their completed configs),
 * loading them first where Triton would (explicit mode, or not tried yet), and fails with Triton's dependency
 * messages when one is missing, failed, lacks a required version, or the ensembles depend on each other in a circle.
 * Its versions get no instances: an EnsembleScheduler that runs each step through the composing model.
 */
import { validateEnsembleComposition } from '../config/ensemble-composition';
import { composingModelNames, ensembleSteps } from '../config/ensemble-graph';
import type { NormalizedModelConfig } from '../config/model-config';
import type { ModelControlMode } from '../contract';
import { Errors } from '../core/errors';
import type { ObserverHub } from '../core/observer';
import { ComposingModelRunner, EnsembleLog, EnsembleScheduler, StepRequest } from '../scheduler/ensemble-scheduler';
import { LoadedModelVersion } from './loaded-version';

/** What the loader needs to know of a composing model. */
export interface ComposingModelState {
  /** The config the model's ready versions run with; absent while none is ready. */
  readonly config?: NormalizedModelConfig;
  readonly readyVersions: readonly number[];
  /** Why its last load failed, when it did. */
  readonly failure?: string;
}

/** The model manager, as the ensemble loader sees it. */
export interface EnsembleHost {
  readonly controlMode: ModelControlMode;
  /** Whether some repository holds the model. */
  inRepository(model: string): Promise<boolean>;
  /** Resolves once a load or unload of the model that is in progress has finished. */
  settled(model: string): Promise<void>;
  /** undefined: no load of the model was ever tried. */
  state(model: string): ComposingModelState | undefined;
  load(model: string): Promise<void>;
}

/** A model record of the lifecycle, as far as the loader reads it. */
export interface LifecycleRecordView {
  readonly versions: ReadonlyMap<number, { readonly state: string; readonly reason: string }>;
  readonly failure?: string;
  readonly config?: NormalizedModelConfig;
  readonly busy: Promise<void>;
}

/** The EnsembleHost over the lifecycle's records: a model never tried has no versions and no failure. */
export function lifecycleAsEnsembleHost(
  records: ReadonlyMap<string, LifecycleRecordView>,
  manager: Pick<EnsembleHost, 'controlMode' | 'inRepository' | 'load'>,
): EnsembleHost {
  return {
    controlMode: manager.controlMode,
    inRepository: (model) => manager.inRepository(model),
    load: (model) => manager.load(model),
    settled: (model) => records.get(model)?.busy ?? Promise.resolve(),
    state: (model) => {
      const record = records.get(model);
      if (!record || (record.versions.size === 0 && !record.failure)) return undefined;
      const versions = [...record.versions];
      const failed = versions.filter(([, entry]) => entry.state !== 'READY' && entry.reason !== 'unloaded');
      return {
        config: record.config,
        readyVersions: versions.filter(([, entry]) => entry.state === 'READY').map(([version]) => version),
        failure: record.failure ?? (failed.map(([version, entry]) => `version ${version}: ${entry.reason}`).join('; ') || undefined),
      };
    },
  };
}

export class EnsembleLoader {
  /** Ensemble → the models it is waiting for, to refuse circles instead of waiting forever. */
  private readonly waitsFor = new Map<string, readonly string[]>();
  private runner: ComposingModelRunner | undefined;

  constructor(
    private readonly host: EnsembleHost,
    private readonly observers: ObserverHub,
    /** Where ensemble requests note what Triton logs verbosely (an output no step produced). */
    private readonly log?: EnsembleLog,
  ) {}

  /** The facade runs the steps; set once it exists (it is built on top of the manager). */
  attachRunner(runner: ComposingModelRunner): void {
    this.runner = runner;
  }

  /** Make sure every composing model is loaded, then check the ensemble against their configs. Throws the reason. */
  async prepare(config: NormalizedModelConfig): Promise<void> {
    const name = config.name;
    const composing = composingModelNames(config);
    const circle = this.circleThrough(name, composing);
    if (circle) throw new Error(`circular dependency between ensembles: ${circle.join(' -> ')}`);
    this.waitsFor.set(name, composing);
    try {
      const missing: string[] = [];
      for (const model of composing) {
        if (this.host.state(model) === undefined && !(await this.host.inRepository(model))) missing.push(model);
      }
      if (missing.length > 0) {
        throw new Error(`ensemble ${name} contains models that are not available or ambiguous: ${missing.join(', ')}`);
      }
      await Promise.all(composing.map((model) => this.ensureLoaded(model)));
      const required = new Map<string, Set<number>>();
      for (const step of ensembleSteps(config)) {
        if (step.modelVersion === undefined) continue;
        required.set(step.modelName, (required.get(step.modelName) ?? new Set()).add(step.modelVersion));
      }
      for (const model of composing) {
        const state = this.host.state(model);
        if (!state?.config || state.readyVersions.length === 0) {
          throw new Error(
            state?.failure
              ? `ensemble '${name}' depends on '${model}' which is not valid. Model '${model}' failed with error: ${state.failure}`
              : `ensemble '${name}' depends on '${model}' which has no loaded version.`,
          );
        }
        for (const version of required.get(model) ?? []) {
          if (!state.readyVersions.includes(version)) {
            throw new Error(`ensemble '${name}' depends on '${model}' whose required version ${version} is not loaded.`);
          }
        }
      }
      validateEnsembleComposition(config, (model) => this.host.state(model)!.config!);
    } finally {
      this.waitsFor.delete(name);
    }
  }

  /** A version of a prepared ensemble. */
  version(config: NormalizedModelConfig, version: number, modelDir: string): Promise<LoadedModelVersion> {
    const runner: ComposingModelRunner = {
      runStep: (request: StepRequest) => {
        if (!this.runner) return Promise.reject(Errors.ensembleRunnerMissing(config.name));
        return this.runner.runStep(request);
      },
      runStepStream: (request, onResponse) => {
        if (!this.runner?.runStepStream) return Promise.reject(Errors.ensembleRunnerMissing(config.name));
        return this.runner.runStepStream(request, onResponse);
      },
      isDecoupled: (model, version) => this.runner?.isDecoupled?.(model, version) === true,
    };
    const maxInflightRequests = config.ensemble_scheduling?.max_inflight_requests ?? 0;
    // Triton's words: its qa looks for this line in the server log.
    if (maxInflightRequests > 0) this.log?.info({ model: config.name }, `Ensemble model '${config.name}' configured with max_inflight_requests: ${maxInflightRequests}`);
    const scheduler = new EnsembleScheduler(config.name, ensembleSteps(config), runner, {
      batching: config.max_batch_size > 0,
      outputDims: new Map(config.output.map((output) => [output.name, output.dims])),
      maxInflightRequests,
      log: this.log,
    });
    return LoadedModelVersion.ensemble(config, version, modelDir, scheduler, this.observers);
  }

  /** Wait for a load in progress; load the model when it was never tried, or (explicit mode) when none is ready. */
  private async ensureLoaded(model: string): Promise<void> {
    await this.host.settled(model);
    const state = this.host.state(model);
    const ready = state !== undefined && state.readyVersions.length > 0;
    if (ready || (state !== undefined && this.host.controlMode !== 'explicit')) return;
    // Its failure is reported from its state by prepare().
    await this.host.load(model).catch(() => undefined);
  }

  /** The path ensemble → ... → ensemble when waiting for `composing` would close a circle, else undefined. */
  private circleThrough(ensemble: string, composing: readonly string[]): string[] | undefined {
    const walk = (model: string, path: string[], seen: Set<string>): string[] | undefined => {
      if (model === ensemble) return [...path, model];
      if (seen.has(model)) return undefined;
      seen.add(model);
      for (const next of this.waitsFor.get(model) ?? []) {
        const found = walk(next, [...path, model], seen);
        if (found) return found;
      }
      return undefined;
    };
    const seen = new Set<string>();
    for (const model of composing) {
      const found = walk(model, [ensemble], seen);
      if (found) return found;
    }
    return undefined;
  }
}
