import { configToKserve } from '../config/datatypes';
import type { NormalizedModelConfig } from '../config/model-config';
import type { ModelMetadata, TensorMetadata } from './types';

/** KServe model metadata from the effective config: a batching model shows its batch dimension as a leading -1. */
export function modelMetadataOf(name: string, config: NormalizedModelConfig, versions: string[]): ModelMetadata {
  const batchDim = config.max_batch_size > 0 ? [-1] : [];
  const tensor = (spec: { name: string; data_type: NormalizedModelConfig['input'][number]['data_type']; dims: number[] }): TensorMetadata => ({
    name: spec.name,
    datatype: configToKserve(spec.data_type),
    shape: [...batchDim, ...spec.dims],
  });
  return { name, versions, platform: config.platform, inputs: config.input.map(tensor), outputs: config.output.map(tensor) };
}
