import type { Backend, BackendInstance } from '../backends/backend';
import type { NormalizedModelConfig } from '../config/model-config';
import { StatisticsRecorder } from '../core/statistics';
import { InstancePoolScheduler } from '../scheduler/instance-pool-scheduler';
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
      },
      (timings) => this.stats.recordExecution(timings),
    );
  }

  /** Create every instance of every instance_group; if one fails, the ones started are closed again. */
  static async load(
    backend: Backend,
    config: NormalizedModelConfig,
    modelDir: string,
    version: number,
    backendConfig: Readonly<Record<string, string>>,
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
    return new LoadedModelVersion(config.name, version, config, instances);
  }

  /** Let accepted requests finish, then stop the instances (terminating workers frees their memory). */
  async unload(): Promise<void> {
    await this.scheduler.drain();
    await Promise.allSettled(this.instances.map((instance) => instance.close()));
  }
}
