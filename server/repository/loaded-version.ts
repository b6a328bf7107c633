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
import type { ObserverHub } from '../core/observer';
import { StatisticsRecorder } from '../core/statistics';
import { GpuInventory, placeInstances, PlacementLedger } from '../scheduler/gpu-placement';
import { InstancePoolScheduler, SINGLE_LEVEL } from '../scheduler/instance-pool-scheduler';
import type { PriorityPolicy, QueuePolicy } from '../scheduler/priority-queue';
import type { Scheduler } from '../scheduler/scheduler';

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
    observers: ObserverHub,
    /** Class labels per output (label_filename), for the classification extension. */
    readonly labels: ReadonlyMap<string, string[]>,
    /** Given for versions without instances of their own (ensembles). */
    scheduler?: Scheduler,
  ) {
    this.stats = new StatisticsRecorder(name, String(version));
    const batching = config.dynamic_batching;
    this.scheduler = scheduler ?? new InstancePoolScheduler(
      instances,
      {
        enabled: batching !== undefined && config.max_batch_size > 0,
        maxBatchSize: Math.max(1, config.max_batch_size),
        preferredBatchSizes: batching?.preferred_batch_size ?? [],
        maxQueueDelayNs: (batching?.max_queue_delay_microseconds ?? 0) * 1000,
        preserveOrdering: batching?.preserve_ordering ?? false,
      },
      batching ? priorityPolicy(batching) : SINGLE_LEVEL,
      (timings) => {
        this.stats.recordExecution(timings);
        observers.onExecution({ model: name, version: String(version), ...timings });
      },
    );
  }

  /** Create every instance of every instance_group; if one fails, the ones started are closed again. */
  static async load(config: NormalizedModelConfig, version: number, context: VersionLoadContext): Promise<LoadedModelVersion> {
    const versionDir = path.join(context.modelDir, String(version));
    const labels = await readLabels(config, context.modelDir);
    const plan = await planInstances(config, versionDir, context);
    const instances: BackendInstance[] = [];
    const placedOn: string[] = [];
    try {
      for (const [i, planned] of plan.entries()) {
        const base: InstanceContext = {
          modelName: config.name,
          version,
          modelDir: context.modelDir,
          versionDir,
          config,
          instanceName: `${config.name}_${i}`,
          kind: planned.kind,
          deviceId: planned.deviceId,
          backendConfig: context.backendConfig,
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
    return new LoadedModelVersion(config.name, version, config, instances, placedOn, context.ledger, context.observers, labels);
  }

  /** An ensemble version: no instances; its scheduler runs each request's steps on the composing models. */
  static ensemble(config: NormalizedModelConfig, version: number, scheduler: Scheduler, observers: ObserverHub): LoadedModelVersion {
    return new LoadedModelVersion(config.name, version, config, [], [], new PlacementLedger(), observers, new Map(), scheduler);
  }

  /**
   * Let accepted requests finish (unless `drain` is false: then closing the instances fails what is left), then stop
   * the instances; ending their workers frees their memory.
   */
  async unload({ drain = true }: { drain?: boolean } = {}): Promise<void> {
    if (drain) await this.scheduler.drain();
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
    if (group.kind === 'KIND_GPU' && group.gpus.length > 0) {
      for (const deviceId of group.gpus) {
        for (let i = 0; i < group.count; i++) plan.push({ kind: 'KIND_GPU', deviceId, cpuFallback: false });
      }
    } else if (group.kind === 'KIND_GPU' || (group.kind === 'KIND_AUTO' && devices.length > 0)) {
      if (devices.length === 0) {
        throw new Error(`instance group '${group.name}' is KIND_GPU but no usable GPU was found (nvidia-smi lists none)`);
      }
      for (const device of placeInstances(devices, group.count, bytes, context.ledger)) {
        plan.push({ kind: 'KIND_GPU', deviceId: device.deviceId, uuid: device.uuid, cpuFallback: group.kind === 'KIND_AUTO' });
      }
    } else {
      for (let i = 0; i < group.count; i++) plan.push({ kind: 'KIND_CPU', cpuFallback: false });
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
