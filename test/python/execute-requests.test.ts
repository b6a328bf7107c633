/**
 * The backend instance directly: several requests in one TritonPythonModel.execute call (Triton's `requests` list),
 * through PythonInstance.executeRequests: an error response fails only its request, an exception fails them all.
 */
import { BytesData } from '../../server/core/bytes-data';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionResult } from '../../server/backends/backend';
import { PythonBackend } from '../../server/backends/python/backend';
import type { PythonInstance } from '../../server/backends/python/instance';
import { normalizeModelConfig } from '../../server/config/normalize';
import { parseModelConfigText } from '../../server/config/pbtxt';
import type { Tensor } from '../../server/core/tensor';
import { requirePythonWithNumpy, TEST_MODELS } from './helpers';

const python = requirePythonWithNumpy();
const backend = new PythonBackend({ backendConfig: python === 'python3' ? {} : { 'execution-env-path': python } });
const instances: PythonInstance[] = [];

async function start(model: string): Promise<PythonInstance> {
  const modelDir = path.join(TEST_MODELS, model);
  const file = path.join(modelDir, 'config.pbtxt');
  const config = normalizeModelConfig(parseModelConfigText(fs.readFileSync(file, 'utf8'), file), { modelDirectoryName: model });
  const instance = (await backend.createInstance({
    modelName: model,
    version: 1,
    modelDir,
    versionDir: path.join(modelDir, '1'),
    config,
    instanceName: `${model}_0`,
    kind: 'KIND_CPU',
    backendConfig: {},
  })) as PythonInstance;
  instances.push(instance);
  return instance;
}

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
});

const int32 = (name: string, values: number[]): Tensor => ({ name, datatype: 'INT32', shape: [values.length, 1], data: Int32Array.from(values) });
const mode = (value: string): Tensor => ({ name: 'MODE', datatype: 'BYTES', shape: [1], data: BytesData.fromStrings([value]) });
const valueOf = (result: PromiseSettledResult<ExecutionResult>, name: string) => {
  if (result.status !== 'fulfilled') throw result.reason;
  return Array.from(result.value.outputs.find((t) => t.name === name)!.data as Int32Array);
};

test('execute() receives every request in its list; each gets its own rows back', async () => {
  const instance = await start('batch_probe');
  const results = await instance.executeRequests([
    { inputs: [int32('INPUT0', [1, 2])], outputNames: ['OUTPUT0', 'ROWS', 'REQUESTS'] },
    { inputs: [int32('INPUT0', [3])], outputNames: ['OUTPUT0', 'ROWS', 'REQUESTS'] },
    { inputs: [int32('INPUT0', [4, 5, 6])], outputNames: ['OUTPUT0'] },
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  expect(valueOf(results[0], 'OUTPUT0')).toEqual([2, 4]);
  expect(valueOf(results[0], 'ROWS')).toEqual([2, 2]);
  expect(valueOf(results[0], 'REQUESTS')).toEqual([3, 3]);
  expect(valueOf(results[1], 'OUTPUT0')).toEqual([6]);
  expect(valueOf(results[2], 'OUTPUT0')).toEqual([8, 10, 12]);
  // Only requested outputs come back.
  expect((results[2] as PromiseFulfilledResult<ExecutionResult>).value.outputs.map((t) => t.name)).toEqual(['OUTPUT0']);
});

test('an error response fails only its own request; an exception fails them all', async () => {
  const instance = await start('raiser');
  const mixed = await instance.executeRequests([
    { inputs: [mode('ok')], outputNames: ['PID'] },
    { inputs: [mode('error')], outputNames: ['PID'] },
    { inputs: [mode('ok')], outputNames: ['PID'] },
  ]);
  expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((mixed[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_ARG', message: 'custom failure' });
  const raised = await instance.executeRequests([
    { inputs: [mode('ok')], outputNames: ['PID'] },
    { inputs: [mode('raise')], outputNames: ['PID'] },
  ]);
  expect(raised.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect((raised[0] as PromiseRejectedResult).reason.message).toMatch(/^Failed to process the request\(s\) for model instance 'raiser_0', message: ValueError/);
  // And plain execute() still works on the same stub.
  const single = await instance.execute([mode('ok')], ['PID']);
  expect(single.outputs[0].name).toBe('PID');
});
