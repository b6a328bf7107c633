/**
 * An ensemble checked against the completed configs of the models it composes, as Triton's ValidateEnsembleConfig
 * does once those models are loaded: batch sizes, every mapped name exists, every required input is mapped, and the
 * datatype (and shape, where both are fixed) of each ensemble tensor agrees wherever it is produced or consumed.
 * Messages keep Triton's wording.
 */
import { ensembleSteps } from './ensemble-graph';
import { ConfigError, DataType, NormalizedModelConfig } from './model-config';

interface TensorFact {
  readonly model: string;
  readonly type: DataType;
  readonly dims: readonly number[];
  /** dims with the batch dimension (-1) in front when the model batches. */
  readonly fullDims: readonly number[];
}

function fact(model: string, batching: boolean, type: DataType, dims: readonly number[]): TensorFact {
  return { model, type, dims, fullDims: batching ? [-1, ...dims] : [...dims] };
}

/** Throws ConfigError for the first disagreement between the ensemble and a composing model's config. */
export function validateEnsembleComposition(
  ensemble: NormalizedModelConfig,
  composing: (model: string) => NormalizedModelConfig,
): void {
  const name = ensemble.name;
  const batching = ensemble.max_batch_size > 0;
  const tensors = new Map<string, TensorFact>();
  for (const input of ensemble.input) {
    tensors.set(input.name, fact(name, batching, input.data_type, input.reshape?.shape ?? input.dims));
  }
  for (const output of ensemble.output) {
    tensors.set(output.name, fact(name, batching, output.data_type, output.reshape?.shape ?? output.dims));
  }
  const agree = (tensor: string, found: TensorFact): void => {
    const known = tensors.get(tensor);
    if (!known) {
      tensors.set(tensor, found);
      return;
    }
    const prefix = `in ensemble ${name}, ensemble tensor ${tensor}: `;
    if (known.type !== found.type) {
      throw new ConfigError(
        `${prefix}inconsistent data type: ${known.type} is inferred from model ${known.model} while ${found.type} is ` +
          `inferred from model ${found.model}`,
      );
    }
    // A batching model's [d...] and a non-batching model's [-1, d...] describe the same tensor.
    if (!dimsAgree(known.dims, found.dims) && !dimsAgree(known.fullDims, found.fullDims)) {
      throw new ConfigError(
        `${prefix}inconsistent shape: ${fmt(known.fullDims)} is inferred from model ${known.model} while ` +
          `${fmt(found.fullDims)} is inferred from model ${found.model}`,
      );
    }
  };

  for (const step of ensembleSteps(ensemble)) {
    const model = composing(step.modelName);
    const stepBatching = model.max_batch_size > 0;
    if (model.max_batch_size !== 0 && model.max_batch_size < ensemble.max_batch_size) {
      throw new ConfigError(
        `ensemble ${name} allows maximum batch size ${ensemble.max_batch_size}, but it contains model ` +
          `${step.modelName} which only allows maximum batch size to be ${model.max_batch_size}`,
      );
    }
    const inputs = new Map(model.input.map((input) => [input.name, input]));
    for (const [modelInput, tensor] of step.inputMap) {
      if (!inputs.has(modelInput)) {
        throw new ConfigError(
          `in ensemble ${name}, ensemble tensor ${tensor} is mapping to non-existing input ${modelInput} in model ${step.modelName}`,
        );
      }
    }
    for (const input of model.input) {
      const tensor = step.inputMap.get(input.name);
      if (tensor === undefined) {
        if (input.optional) continue;
        throw new ConfigError(
          `in ensemble ${name}, input ${input.name} in model ${step.modelName} is not mapped to any ensemble tensors`,
        );
      }
      agree(tensor, fact(step.modelName, stepBatching, input.data_type, input.dims));
    }
    const outputs = new Map(model.output.map((output) => [output.name, output]));
    for (const [modelOutput, tensor] of step.outputMap) {
      const output = outputs.get(modelOutput);
      if (!output) {
        throw new ConfigError(
          `in ensemble ${name}, ensemble tensor ${tensor} is mapped from non-existing output ${modelOutput} in model ${step.modelName}`,
        );
      }
      agree(tensor, fact(step.modelName, stepBatching, output.data_type, output.dims));
    }
  }
}

/** Equal rank, and equal dimensions where neither is variable (-1). */
function dimsAgree(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === -1 || b[i] === -1 || dim === b[i]);
}

function fmt(dims: readonly number[]): string {
  return `[${dims.join(',')}]`;
}
