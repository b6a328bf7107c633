import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Backend, BackendInstance, InstanceContext } from '../backends/backend';
import type {
  ModelQueuePolicy,
  NormalizedDynamicBatching,
  NormalizedInstanceGroup,
  NormalizedModelConfig,
} from '../config/model-config';
import { Errors } from '../core/errors';
import type { ObserverHub } from '../core/observer';
import { recordServed } from '../core/request-accounting';
import { ExecutionTimings, StatisticsRecorder } from '../core/statistics';
import { GpuInventory, placeInstances, PlacementLedger } from '../scheduler/gpu-placement';
import { InstancePoolScheduler, SINGLE_LEVEL } from '../scheduler/instance-pool-scheduler';
import type { PriorityPolicy, QueuePolicy } from '../scheduler/priority-queue';
import type { Scheduler } from '../scheduler/scheduler';
import { SequenceBatcher } from '../scheduler/sequence-batcher';
import { loadStateSpecs, StateSpec } from '../scheduler/sequence-state';
import { warmUpInstance } from './warmup-runner';
import { prepareWarmupSamples, skippedWarmupSamples } from './warmup-samples';

/** What loading a version needs besides the config: backend settings, event sinks and the GPU placement state. */
export interface VersionLoadContext {
  readonly backend: Backend;
  readonly modelDir: string;
  readonly backendConfig: Readonly<Record<string, string>>;
  readonly observers: ObserverHub;
  readonly gpus: GpuInventory;
  readonly ledger: PlacementLedger;
  readonly log: Logger;
}

interface PlannedInstance {
  /** `<group name>_<index in the group>`, as Triton names instances (e.g. `add_sub_0_0`). */
  readonly name: string;
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  readonly deviceId?: number;
  readonly uuid?: string;
  /** KIND_AUTO: fall back to the CPU when the GPU provider does not initialise. */
  readonly cpuFallback: boolean;
}

/** A model version whose instances are running: what the facade sends requests to. */
export class LoadedModelVersion {
  readonly stats: StatisticsRecorder;
  readonly scheduler: Scheduler;

  private constructor(
    readonly name: string,
    readonly version: number,
    readonly config: NormalizedModelConfig,
    private readonly instances: BackendInstance[],
    private readonly placedOn: string[],
    private readonly ledger: PlacementLedger,
    private readonly observers: ObserverHub,
    /** Class labels per output (label_filename), for the classification extension. */
    readonly labels: ReadonlyMap<string, string[]>,
    /** Implicit states of a model with sequence_batching. */
    states: readonly StateSpec[],
    /** Given for versions without instances of their own (ensembles). */
    scheduler?: Scheduler,
  ) {
    this.stats = new StatisticsRecorder(name, String(version));
    const batching = config.dynamic_batching;
    const versionText = String(version);
    const onExecution = (timings: ExecutionTimings) => {
      this.stats.recordExecution(timings);
      const { batchSize, computeInputNs, computeInferNs, computeOutputNs } = timings;
      observers.onExecution({ model: name, version: versionText, batchSize, computeInputNs, computeInferNs, computeOutputNs });
    };
    if (scheduler) {
      this.scheduler = scheduler;
      return;
    }
    if (config.sequence_batching) {
      const policy = { modelName: name, maxBatchSize: config.max_batch_size, sequenceBatching: config.sequence_batching, states };
      this.scheduler = new SequenceBatcher(instances, policy, onExecution);
      return;
    }
    this.scheduler = new InstancePoolScheduler(
      instances,
      {
        enabled: batching !== undefined && config.max_batch_size > 0,
        maxBatchSize: Math.max(1, config.max_batch_size),
        preferredBatchSizes: batching?.preferred_batch_size ?? [],
        maxQueueDelayNs: (batching?.max_queue_delay_microseconds ?? 0) * 1000,
        preserveOrdering: batching?.preserve_ordering ?? false,
      },
      batching ? priorityPolicy(batching) : SINGLE_LEVEL,
      onExecution,
    );
  }

  /** Create every instance of every instance_group; if one fails, the ones started are closed again. */
  static async load(config: NormalizedModelConfig, version: number, context: VersionLoadContext): Promise<LoadedModelVersion> {
    const versionDir = path.join(context.modelDir, String(version));
    const labels = await readLabels(config, context.modelDir);
    // Checked before any instance starts: a bad model_warmup entry fails the load at once.
    const samples = await prepareWarmupSamples(config, context.modelDir);
    for (const sample of skippedWarmupSamples(config)) {
      context.log.info({ model: config.name, version, sample }, 'skipping warmup sample with batch_size 0');
    }
    const states = config.sequence_batching ? await loadStateSpecs(config.sequence_batching, context.modelDir) : [];
    const plan = await planInstances(config, versionDir, context);
    const instances: BackendInstance[] = [];
    const placedOn: string[] = [];
    try {
      for (const planned of plan) {
        const base: InstanceContext = {
          modelName: config.name,
          version,
          modelDir: context.modelDir,
          versionDir,
          config,
          instanceName: planned.name,
          kind: planned.kind,
          deviceId: planned.deviceId,
          backendConfig: context.backendConfig,
          warn: (message) => context.log.warn({ model: config.name, version }, message),
        };
        let instance: BackendInstance;
        try {
          instance = await context.backend.createInstance(base);
        } catch (error) {
          if (!planned.cpuFallback) throw error;
          context.log.warn(
            { model: config.name, version, err: (error as Error).message },
            'KIND_AUTO: GPU execution provider did not initialise, running the instance on the CPU',
          );
          instance = await context.backend.createInstance({ ...base, kind: 'KIND_CPU', deviceId: undefined });
          instances.push(instance);
          continue;
        }
        instances.push(instance);
        if (planned.uuid) placedOn.push(planned.uuid);
        if (planned.kind === 'KIND_GPU') {
          context.log.info({ model: config.name, version, instance: base.instanceName, device: planned.deviceId }, 'instance on GPU');
        }
      }
    } catch (error) {
      await Promise.allSettled(instances.map((instance) => instance.close()));
      throw error;
    }
    for (const uuid of placedOn) context.ledger.add(uuid, 1);
    const loaded = new LoadedModelVersion(config.name, version, config, instances, placedOn, context.ledger, context.observers, labels, states);
    if (samples.length > 0) {
      const target = { model: config.name, version, outputNames: config.output.map((o) => o.name), recorder: loaded, log: context.log };
      try {
        // Every instance is warmed (each on its own worker or stub, so side by side) before the version is READY.
        await Promise.all(instances.map((instance) => warmUpInstance(instance, samples, target)));
      } catch (error) {
        await loaded.unload({ drain: false });
        throw error;
      }
    }
    return loaded;
  }

  /** A model_warmup execution: counted like requests, as Triton's warmup requests report their statistics. */
  onWarmupExecution(timings: ExecutionTimings, requestNs: number): void {
    const version = String(this.version);
    this.stats.recordExecution(timings);
    this.observers.onExecution({ model: this.name, version, ...timings });
    const account = { stats: this.stats, observers: this.observers, model: this.name, version };
    for (let i = 0; i < timings.batchSize; i++) recordServed(account, 1, requestNs, { queueNs: 0, timings });
  }

  /** An ensemble version: no instances; its scheduler runs each request's steps on the composing models. */
  static async ensemble(
    config: NormalizedModelConfig,
    version: number,
    modelDir: string,
    scheduler: Scheduler,
    observers: ObserverHub,
  ): Promise<LoadedModelVersion> {
    // An ensemble's own outputs may name a label_filename for classification, as any model's.
    const labels = await readLabels(config, modelDir);
    return new LoadedModelVersion(config.name, version, config, [], [], new PlacementLedger(), observers, labels, [], scheduler);
  }

  /**
   * Let accepted requests finish (unless `drain` is false: then closing the instances fails what is left), then stop
   * the instances; ending their workers frees their memory.
   */
  async unload({ drain = true }: { drain?: boolean } = {}): Promise<void> {
    if (drain) await this.scheduler.drain();
    else this.scheduler.abort?.(Errors.unloading(this.name));
    await Promise.allSettled(this.instances.map((instance) => instance.close()));
    for (const uuid of this.placedOn.splice(0)) this.ledger.add(uuid, -1);
  }
}

/** Resolve instance kinds and devices: explicit `gpus` as given, otherwise the placement policy on the current GPUs. */
async function planInstances(
  config: NormalizedModelConfig,
  versionDir: string,
  context: VersionLoadContext,
): Promise<PlannedInstance[]> {
  const wantsGpu = (group: NormalizedInstanceGroup) =>
    (group.kind === 'KIND_GPU' || group.kind === 'KIND_AUTO') && group.gpus.length === 0;
  const devices = config.instance_group.some(wantsGpu) ? await context.gpus.devices() : [];
  const bytes = await modelBytes(versionDir, config.default_model_filename);
  const plan: PlannedInstance[] = [];
  for (const group of config.instance_group) {
    let index = 0;
    const name = () => `${group.name}_${index++}`;
    if (group.kind === 'KIND_GPU' && group.gpus.length > 0) {
      for (const deviceId of group.gpus) {
        for (let i = 0; i < group.count; i++) plan.push({ name: name(), kind: 'KIND_GPU', deviceId, cpuFallback: false });
      }
    } else if (group.kind === 'KIND_GPU' || (group.kind === 'KIND_AUTO' && devices.length > 0)) {
      if (devices.length === 0) {
        throw new Error(`instance group '${group.name}' is KIND_GPU but no usable GPU was found (nvidia-smi lists none)`);
      }
      for (const device of placeInstances(devices, group.count, bytes, context.ledger)) {
        plan.push({ name: name(), kind: 'KIND_GPU', deviceId: device.deviceId, uuid: device.uuid, cpuFallback: group.kind === 'KIND_AUTO' });
      }
    } else {
      for (let i = 0; i < group.count; i++) plan.push({ name: name(), kind: 'KIND_CPU', cpuFallback: false });
    }
  }
  return plan;
}

/** label_filename files (one label per line, in the model directory), by output name. */
async function readLabels(config: NormalizedModelConfig, modelDir: string): Promise<Map<string, string[]>> {
  const labels = new Map<string, string[]>();
  for (const output of config.output) {
    if (!output.label_filename) continue;
    const text = await fs.readFile(path.join(modelDir, output.label_filename), 'utf8');
    labels.set(output.name, text.split(/\r?\n/).filter((line, i, all) => line !== '' || i < all.length - 1));
  }
  return labels;
}

async function modelBytes(versionDir: string, fileName: string): Promise<number> {
  try {
    return (await fs.stat(path.join(versionDir, fileName))).size;
  } catch {
    return 0;
  }
}

function queuePolicy(policy: ModelQueuePolicy): QueuePolicy {
  return {
    timeoutAction: policy.timeout_action === 'DELAY' ? 'DELAY' : 'REJECT',
    defaultTimeoutNs: (policy.default_timeout_microseconds ?? 0) * 1000,
    allowTimeoutOverride: policy.allow_timeout_override ?? false,
    maxQueueSize: policy.max_queue_size ?? 0,
  };
}

function priorityPolicy(batching: NormalizedDynamicBatching): PriorityPolicy {
  const levelPolicies = new Map<number, QueuePolicy>();
  for (const [level, policy] of Object.entries(batching.priority_queue_policy)) {
    levelPolicies.set(Number(level), queuePolicy(policy));
  }
  return {
    priorityLevels: batching.priority_levels,
    defaultPriorityLevel: batching.default_priority_level,
    defaultQueuePolicy: queuePolicy(batching.default_queue_policy),
    levelPolicies,
  };
}
