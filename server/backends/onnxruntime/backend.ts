import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { autoCompleteOnnx } from '../../config/autocomplete';
import type { ModelConfig } from '../../config/model-config';
import type { Backend, BackendInstance, InstanceContext } from '../backend';
import { OnnxRuntimeInstance } from './instance';
import { planSession } from './session-options';

/**
 * Triton's onnxruntime backend on onnxruntime-node: one worker thread per instance; session settings (threads,
 * providers, memory) from session-options.ts.
 */
export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly defaultModelFilename = 'model.onnx';

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
    return OnnxRuntimeInstance.start(context.instanceName, context.modelName, {
      modelPath: path.join(context.versionDir, modelFile),
      ...plan.init,
    });
  }
}
