import type { ModelConfig } from '../../config/model-config';
import { Errors } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import type { Backend, BackendInstance, ExecutionResult, InstanceContext } from '../backend';

/**
 * Triton's `identity` backend (triton-inference-server/identity_backend), which Triton's qa models and many pipeline
 * tests use: no model file; each output is a copy of the input at the same position in the configuration (OUTPUT0 of
 * INPUT0, ...), batched or not. The model parameter `execute_delay_ms` makes every execution take that long, as the
 * original's does (Triton's tests use it to hold requests in queues and traces).
 */
export class IdentityBackend implements Backend {
  readonly name = 'identity';
  readonly defaultModelFilename = '';

  async autoCompleteConfig(config: ModelConfig): Promise<ModelConfig> {
    return config; // nothing to read: the configuration says it all
  }

  async createInstance(context: InstanceContext): Promise<BackendInstance> {
    const { config } = context;
    const outputs = config.output ?? [];
    const inputs = config.input ?? [];
    if (outputs.length > inputs.length) {
      throw new Error(`identity model '${context.modelName}' has ${outputs.length} outputs but only ${inputs.length} inputs to copy`);
    }
    const delay = Number(config.parameters?.execute_delay_ms?.string_value ?? 0);
    if (!Number.isFinite(delay) || delay < 0) {
      throw new Error(`identity model '${context.modelName}': parameter execute_delay_ms must be a non-negative number`);
    }
    const sourceOf = new Map(outputs.map((output, i): [string, string] => [output.name ?? '', inputs[i].name ?? '']));
    return new IdentityInstance(context.instanceName, context.modelName, sourceOf, delay);
  }
}

class IdentityInstance implements BackendInstance {
  constructor(
    readonly name: string,
    private readonly modelName: string,
    /** Output name → the input it copies. */
    private readonly sourceOf: ReadonlyMap<string, string>,
    private readonly delayMs: number,
  ) {}

  async execute(inputs: Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const started = process.hrtime.bigint();
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const byName = new Map(inputs.map((input) => [input.name, input]));
    const outputs: Tensor[] = [];
    for (const name of outputNames) {
      const source = byName.get(this.sourceOf.get(name) ?? '');
      if (!source) throw Errors.backendFailed(this.modelName, `no input for output '${name}'`);
      // Tensors are never written in place downstream: the output shares the input's data.
      outputs.push({ name, datatype: source.datatype, shape: [...source.shape], data: source.data });
    }
    return { outputs, computeInputNs: 0, computeInferNs: Number(process.hrtime.bigint() - started), computeOutputNs: 0 };
  }

  async close(): Promise<void> {}
}
