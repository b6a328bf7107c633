/**
 * The data flow of an ensemble (`platform: "ensemble"` + `ensemble_scheduling`), checked from its own config alone as
 * Triton's ValidateEnsembleSchedulingConfig does: every step is complete, every ensemble tensor is written by at most
 * one step, every ensemble input is consumed, every ensemble output is produced, and no tensor is left dangling.
 * Cycles show up as tensors that never become ready. Messages keep Triton's wording.
 */
import { ConfigError, ModelConfig } from './model-config';

export const ENSEMBLE_PLATFORM = 'ensemble';

/** One step as the scheduler runs it: the composing model and the tensor name maps (model name → ensemble name). */
export interface EnsembleStep {
  readonly modelName: string;
  /** undefined: the latest ready version (model_version -1 or absent). */
  readonly modelVersion?: number;
  /** composing model input → ensemble tensor */
  readonly inputMap: ReadonlyMap<string, string>;
  /** composing model output → ensemble tensor */
  readonly outputMap: ReadonlyMap<string, string>;
}

export function isEnsembleConfig(config: ModelConfig): boolean {
  return config.platform === ENSEMBLE_PLATFORM;
}

/** The steps of an ensemble config, as given (not validated). */
export function ensembleSteps(config: ModelConfig): EnsembleStep[] {
  return (config.ensemble_scheduling?.step ?? []).map((step) => ({
    modelName: step.model_name ?? '',
    modelVersion: step.model_version === undefined || step.model_version < 0 ? undefined : step.model_version,
    inputMap: new Map(Object.entries(step.input_map ?? {})),
    outputMap: new Map(Object.entries(step.output_map ?? {})),
  }));
}

/** Names of the models an ensemble's steps use, once each, in step order. */
export function composingModelNames(config: ModelConfig): string[] {
  return [...new Set(ensembleSteps(config).map((step) => step.modelName).filter((name) => name !== ''))];
}

interface TensorNode {
  readonly name: string;
  /** Written by a step's output_map. */
  written: boolean;
  ready: boolean;
  /** Tensors that must all be ready before this one can be (the inputs of the step writing it). */
  readonly producers: TensorNode[];
  /** Tensors computed from this one. */
  readonly consumers: TensorNode[];
}

/** Throws ConfigError for the first rule the ensemble's scheduling breaks. */
export function validateEnsembleScheduling(config: ModelConfig): void {
  const name = config.name ?? '';
  if ((config.model_warmup ?? []).length > 0) {
    throw new ConfigError(`model_warmup can not be specified for ensemble '${name}'`);
  }
  const steps = config.ensemble_scheduling?.step ?? [];
  if (steps.length === 0) throw new ConfigError(`must specify 'step' for ensemble '${name}'`);

  const tensors = new Map<string, TensorNode>();
  const node = (tensor: string): TensorNode => {
    let found = tensors.get(tensor);
    if (!found) {
      found = { name: tensor, written: false, ready: false, producers: [], consumers: [] };
      tensors.set(tensor, found);
    }
    return found;
  };
  steps.forEach((step, index) => {
    const where = `step ${index} of ensemble '${name}'`;
    if (!step.model_name) throw new ConfigError(`must specify 'model_name' in ${where}`);
    const inputs = Object.values(step.input_map ?? {});
    const outputs = Object.values(step.output_map ?? {});
    if (inputs.length === 0) throw new ConfigError(`must specify 'input_map' in ${where}`);
    if (outputs.length === 0) throw new ConfigError(`must specify 'output_map' in ${where}`);
    const written: TensorNode[] = [];
    for (const tensor of outputs) {
      const target = node(tensor);
      if (target.written) {
        throw new ConfigError(
          `ensemble tensor '${tensor}' can appear in an output map only once for ensemble '${name}' step ${index}`,
        );
      }
      target.written = true;
      written.push(target);
    }
    for (const tensor of inputs) {
      const source = node(tensor);
      for (const target of written) {
        target.producers.push(source);
        source.consumers.push(target);
      }
    }
  });

  // Flow readiness from the ensemble inputs: a tensor is ready once every input of the step writing it is.
  const queue: TensorNode[] = [];
  for (const input of config.input ?? []) {
    const start = tensors.get(input.name ?? '');
    if (!start) throw new ConfigError(`ensemble input '${input.name}' for ensemble ${name}' is not used`);
    start.ready = true;
    queue.push(start);
  }
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const next of current.consumers) {
      if (next.ready || !next.producers.every((producer) => producer.ready)) continue;
      next.ready = true;
      queue.push(next);
    }
  }

  const outputs = new Set<string>();
  for (const output of config.output ?? []) {
    const tensor = tensors.get(output.name ?? '');
    if (!tensor) throw new ConfigError(`ensemble output '${output.name}' for ensemble ${name}' is not used`);
    if (!tensor.ready) {
      const source = firstUnreadySource(tensor);
      throw new ConfigError(
        `output '${output.name}' for ensemble '${name}' is not written` +
          (source !== tensor ? `: at least one of its depending tensors, '${source.name}', is not connected` : ''),
      );
    }
    outputs.add(tensor.name);
  }
  for (const tensor of tensors.values()) {
    if (outputs.has(tensor.name)) continue;
    if (!tensor.ready || tensor.consumers.length === 0) {
      throw new ConfigError(`ensemble tensor '${tensor.name}' is unused in ensemble '${name}'`);
    }
  }
}

/** Walk back through tensors that are not ready to the first one that has no unready producer (or closes a cycle). */
function firstUnreadySource(tensor: TensorNode): TensorNode {
  const seen = new Set<string>([tensor.name]);
  let current = tensor;
  for (;;) {
    const next = current.producers.find((producer) => !producer.ready && !seen.has(producer.name));
    if (!next) return current;
    seen.add(next.name);
    current = next;
  }
}
