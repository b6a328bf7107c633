/**
 * perf_analyzer's --shared-memory=system: the input tensors are written once into a POSIX shared memory object
 * (a /dev/shm file: the server must run on this host), each output gets a window of --output-shared-memory-size
 * bytes, the windows are registered with the server, and every request only references them.
 */
import * as fs from 'node:fs';
import { rawFromData } from '../../server/protocol/grpc/tensor-contents';
import type { InferenceServerClient } from '../client';
import { InferInput, InferRequestedOutput } from '../tensor';

export interface PerfSharedMemory {
  /** The inputs as references to their regions. */
  readonly inputs: InferInput[];
  /** Every output, written to its region. */
  readonly outputs: InferRequestedOutput[];
  /** Unregister the regions and remove the shared memory object. */
  release(): Promise<void>;
}

let objects = 0;

export async function setUpSystemSharedMemory(
  client: InferenceServerClient,
  model: string,
  inputs: readonly InferInput[],
  outputNames: readonly string[],
  outputByteSize: number,
): Promise<PerfSharedMemory> {
  objects += 1;
  const key = `/inference_perf_${process.pid}_${objects}`;
  const file = `/dev/shm/${key.slice(1)}`;
  const raws = inputs.map((input) => rawFromData(input.data));
  const inputBytes = raws.reduce((sum, raw) => sum + raw.byteLength, 0);
  fs.writeFileSync(file, Buffer.concat([...raws, Buffer.alloc(outputByteSize * outputNames.length)]), { mode: 0o600 });
  const regions: string[] = [];
  const release = async () => {
    for (const region of regions) await client.unregisterSystemSharedMemory(region).catch(() => undefined);
    fs.rmSync(file, { force: true });
  };
  try {
    let offset = 0;
    const shmInputs: InferInput[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const region = `${model}_input_${inputs[i].name}_${process.pid}_${objects}`;
      await client.registerSystemSharedMemory(region, key, raws[i].byteLength, offset);
      regions.push(region);
      const { name, datatype, shape } = inputs[i];
      shmInputs.push(InferInput.fromSharedMemory(name, datatype, shape, { region, byteSize: raws[i].byteLength }));
      offset += raws[i].byteLength;
    }
    const outputs: InferRequestedOutput[] = [];
    for (let i = 0; i < outputNames.length; i++) {
      const region = `${model}_output_${outputNames[i]}_${process.pid}_${objects}`;
      await client.registerSystemSharedMemory(region, key, outputByteSize, inputBytes + i * outputByteSize);
      regions.push(region);
      outputs.push({ name: outputNames[i], sharedMemory: { region, byteSize: outputByteSize } });
    }
    return { inputs: shmInputs, outputs, release };
  } catch (error) {
    await release();
    throw error;
  }
}
