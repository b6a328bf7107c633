import type { InferenceServerApp } from '../../server/app';
import { copyRepository, simpleConfigJson, simpleRequest, startServer, sum } from './repo-fixture';

const BATCHING_CONFIG = simpleConfigJson({ dynamic_batching: { max_queue_delay_microseconds: 20000, preferred_batch_size: [8] } });

describe('inference through the scheduler on real ONNX Runtime instances', () => {
  let server: InferenceServerApp;
  beforeAll(async () => {
    server = startServer({ modelRepositories: [copyRepository(['simple'])], modelControlMode: 'explicit', loadModels: ['simple'] });
    await server.start();
  });
  afterAll(() => server.stop());

  it('answers many concurrent requests of a model without batching, each with its own values', async () => {
    await server.service.loadModel('simple');
    const before = server.service.modelStatistics('simple')[0];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => server.service.infer(simpleRequest('simple', undefined, i * 3))));
    results.forEach((result, i) => {
      expect(Array.from(result.outputs[0].data as Int32Array)).toEqual(sum(i * 3));
      expect(result.outputs[1].shape).toEqual([1, 16]);
    });
    const after = server.service.modelStatistics('simple')[0];
    expect(after.execution_count - before.execution_count).toBe(40); // no batching: one execution per request
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(40);
  });

  it('merges requests with dynamic batching and splits the outputs back correctly', async () => {
    await server.service.loadModel('simple', { config: BATCHING_CONFIG });
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => server.service.infer(simpleRequest('simple', undefined, i * 100))),
    );
    results.forEach((result, i) => {
      expect(Array.from(result.outputs[0].data as Int32Array)).toEqual(sum(i * 100));
      expect(Array.from(result.outputs[1].data as Int32Array)).toEqual(Array.from({ length: 16 }, (_, k) => k + i * 100 - 1));
    });
    const stats = server.service.modelStatistics('simple')[0];
    expect(stats.inference_count).toBe(24);
    expect(stats.execution_count).toBeLessThan(24);
    expect(Math.max(...stats.batch_stats.map((b) => b.batch_size))).toBeGreaterThan(1);
    expect(stats.batch_stats.every((b) => b.batch_size <= 8)).toBe(true);
  });

  it('mixes batch sizes in one merged batch and refuses a batch over max_batch_size', async () => {
    await server.service.loadModel('simple', { config: BATCHING_CONFIG });
    const twoRows = simpleRequest();
    const big = {
      ...twoRows,
      inputs: twoRows.inputs.map((input) => ({
        ...input,
        shape: [3, 16],
        data: Int32Array.from({ length: 48 }, (_, k) => (input.name === 'INPUT0' ? k : 1)),
      })),
    };
    const [a, b] = await Promise.all([server.service.infer(big), server.service.infer(simpleRequest('simple', undefined, 7))]);
    expect(a.outputs[0].shape).toEqual([3, 16]);
    expect(Array.from(a.outputs[0].data as Int32Array)).toEqual(Array.from({ length: 48 }, (_, k) => k + 1));
    expect(Array.from(b.outputs[0].data as Int32Array)).toEqual(sum(7));
    const tooBig = { ...big, inputs: big.inputs.map((input) => ({ ...input, shape: [9, 16], data: new Int32Array(144) })) };
    await expect(server.service.infer(tooBig)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/batch-size must be <= 8/),
    });
  });

  it('validates the priority and timeout request parameters', async () => {
    await expect(server.service.infer({ ...simpleRequest(), parameters: { priority: -1 } })).rejects.toMatchObject({ code: 'INVALID_ARG' });
    await expect(server.service.infer({ ...simpleRequest(), parameters: { timeout: 'soon' } })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
    const ok = await server.service.infer({ ...simpleRequest(), parameters: { priority: 0, timeout: 60_000_000 } }); // 60 s: never reached, even on a slow machine
    expect(Array.from(ok.outputs[0].data as Int32Array)).toEqual(sum());
  });

  it("names the request id and the inputs given in Triton's error messages", async () => {
    const request = simpleRequest();
    await expect(server.service.infer({ ...request, id: 'req-7', inputs: [request.inputs[0]] })).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message:
        "[request id: req-7] expected 2 inputs but got 1 inputs for model 'simple'. Got input(s) ['INPUT0'], " +
        "but missing required input(s) ['INPUT1']. Please provide all required input(s).",
    });
    await expect(
      server.service.infer({ ...request, inputs: [{ ...request.inputs[0], datatype: 'FP32', data: new Float32Array(16) }, request.inputs[1]] }),
    ).rejects.toMatchObject({
      message: "[request id: <id_unknown>] inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'",
    });
  });
});
