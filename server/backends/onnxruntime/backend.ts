import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { autoCompleteOnnx } from '../../config/autocomplete';
import type { ModelConfig } from '../../config/model-config';
import type { Backend, BackendInstance, InstanceContext } from '../backend';
import { InlineOnnxRuntimeInstance } from './inline-instance';
import { OnnxRuntimeInstance } from './instance';
import { planSession } from './session-options';
import { SpareWorker } from './spare-worker';

/**
 * Triton's onnxruntime backend on onnxruntime-node: one worker thread per instance (or, opted into per model with
 * `execute_on_event_loop`, the event loop: inline-instance.ts); session settings (threads, providers, memory) from
 * session-options.ts.
 */
export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly defaultModelFilename = 'model.onnx';
  private readonly spare: SpareWorker;

  /** `prestartWorker`: keep one worker thread started, onnxruntime loaded, for the next load (spare-worker.ts). */
  constructor(options: { prestartWorker?: boolean } = {}) {
    this.spare = new SpareWorker(options.prestartWorker ?? false);
    this.spare.replenish();
  }

  async autoCompleteConfig(config: ModelConfig, versionDir: string): Promise<ModelConfig> {
    const file = path.join(versionDir, config.default_model_filename || this.defaultModelFilename);
    const bytes = await fs.readFile(file);
    return autoCompleteOnnx(config, bytes);
  }

  async createInstance(context: InstanceContext): Promise<BackendInstance> {
    if (context.config.model_transaction_policy?.decoupled) {
      throw new Error('the onnxruntime backend does not support decoupled models (model_transaction_policy { decoupled: true })');
    }
    const modelFile = context.config.default_model_filename || this.defaultModelFilename;
    const plan = planSession(context);
    if (plan.notApplied.length > 0) {
      context.warn?.(
        `onnxruntime-node passes only the device id to GPU execution providers; not applied: ${plan.notApplied.join(', ')}`,
      );
    }
    const init = { modelPath: path.join(context.versionDir, modelFile), ...plan.init };
    if (plan.executeOnEventLoop) return InlineOnnxRuntimeInstance.start(context.instanceName, context.modelName, init);
    try {
      return await OnnxRuntimeInstance.start(
        context.instanceName,
        context.modelName,
        init,
        { spare: this.spare.take() },
      );
    } finally {
      // After the load, not during it: a thread starting beside a session being created slows it down.
      this.spare.replenish();
    }
  }

  async close(): Promise<void> {
    await this.spare.close();
  }
}
