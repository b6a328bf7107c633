import type { Backend, BackendInstance } from '../backends/backend';
import type { ModelQueuePolicy, NormalizedDynamicBatching, NormalizedModelConfig } from '../config/model-config';
import type { ObserverHub } from '../core/observer';
import { StatisticsRecorder } from '../core/statistics';
import { InstancePoolScheduler, SINGLE_LEVEL } from '../scheduler/instance-pool-scheduler';
import type { PriorityPolicy, QueuePolicy } from '../scheduler/priority-queue';
import type { Scheduler } from '../scheduler/scheduler';

/** A model version whose instances are running: what the facade sends requests to. */
export class LoadedModelVersion {
  readonly stats: StatisticsRecorder;
  readonly scheduler: Scheduler;

  private constructor(
    readonly name: string,
    readonly version: number,
    readonly config: NormalizedModelConfig,
    private readonly instances: BackendInstance[],
    observers: ObserverHub,
  ) {
    this.stats = new StatisticsRecorder(name, String(version));
    const batching = config.dynamic_batching;
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
      (timings) => {
        this.stats.recordExecution(timings);
        observers.onExecution({ model: name, version: String(version), ...timings });
      },
    );
  }

  /** Create every instance of every instance_group; if one fails, the ones started are closed again. */
  static async load(
    backend: Backend,
    config: NormalizedModelConfig,
    modelDir: string,
    version: number,
    backendConfig: Readonly<Record<string, string>>,
    observers: ObserverHub,
  ): Promise<LoadedModelVersion> {
    const instances: BackendInstance[] = [];
    try {
      for (const group of config.instance_group) {
        const kind = group.kind === 'KIND_GPU' ? 'KIND_GPU' : 'KIND_CPU';
        const devices = kind === 'KIND_GPU' && group.gpus.length > 0 ? group.gpus : [undefined];
        for (const deviceId of devices) {
          for (let i = 0; i < group.count; i++) {
            instances.push(
              await backend.createInstance({
                modelName: config.name,
                version,
                modelDir,
                versionDir: `${modelDir}/${version}`,
                config,
                instanceName: `${group.name}_${instances.length}`,
                kind,
                deviceId,
                backendConfig,
              }),
            );
          }
        }
      }
    } catch (error) {
      await Promise.allSettled(instances.map((instance) => instance.close()));
      throw error;
    }
    return new LoadedModelVersion(config.name, version, config, instances, observers);
  }

  /** Let accepted requests finish, then stop the instances (terminating workers frees their memory). */
  async unload(): Promise<void> {
    await this.scheduler.drain();
    await Promise.allSettled(this.instances.map((instance) => instance.close()));
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
