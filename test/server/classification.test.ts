import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InferenceServerApp } from '../../server/app';
import type { BytesData } from '../../server/core/bytes-data';
import { classify } from '../../server/core/classification';
import { copyRepository, startServer } from './repo-fixture';

const decode = (data: unknown) => (data as BytesData).toStrings();

describe('classification extension', () => {
  let server: InferenceServerApp;
  beforeAll(async () => {
    const repo = copyRepository(['mlp']);
    const labels = Array.from({ length: 10 }, (_, i) => `digit-${i}`);
    fs.writeFileSync(path.join(repo, 'mlp', 'labels.txt'), `${labels.join('\n')}\n`);
    const config = fs.readFileSync(path.join(repo, 'mlp', 'config.pbtxt'), 'utf8');
    fs.writeFileSync(path.join(repo, 'mlp', 'config.pbtxt'), config.replace(/(name:\s*"OUTPUT0")/, '$1\n    label_filename: "labels.txt"'));
    server = startServer({ modelRepositories: [repo] });
    await server.start();
  });
  afterAll(() => server.stop());

  const request = (parameters?: Record<string, number>) => ({
    model: 'mlp',
    inputs: [
      { name: 'INPUT0', datatype: 'FP32' as const, shape: [2, 784], data: Float32Array.from({ length: 2 * 784 }, (_, i) => ((i * 7919) % 13) / 13) },
    ],
    outputs: [{ name: 'OUTPUT0', ...(parameters ? { parameters } : {}) }],
  });

  it('answers the top k classes per batch item as "value:index:label" strings, best first', async () => {
    const full = await server.service.infer(request());
    const scores = full.outputs[0].data as Float32Array;
    const top = await server.service.infer(request({ classification: 3 }));
    expect(top.outputs[0]).toMatchObject({ name: 'OUTPUT0', datatype: 'BYTES', shape: [2, 3] });
    const strings = decode(top.outputs[0].data);
    for (let row = 0; row < 2; row++) {
      const expected = Array.from({ length: 10 }, (_, i) => i)
        .sort((a, b) => scores[row * 10 + b] - scores[row * 10 + a])
        .slice(0, 3)
        .map((i) => `${scores[row * 10 + i].toFixed(6)}:${i}:digit-${i}`);
      expect(strings.slice(row * 3, row * 3 + 3)).toEqual(expected);
    }
  });

  it('refuses a classification count that is not a positive integer', async () => {
    await expect(server.service.infer(request({ classification: 0 }))).rejects.toMatchObject({ code: 'INVALID_ARG' });
  });
});

describe('classify: Triton bounds', () => {
  it('refuses more than 1,000,000 elements per batch item, and BOOL, FP16 and BF16 outputs', () => {
    const big = { name: 'P', datatype: 'FP32' as const, shape: [1, 1_000_001], data: new Float32Array(1_000_001) };
    expect(() => classify(big, 1, true, undefined)).toThrow('classification output tensor too large');
    expect(classify({ ...big, shape: [1, 1_000_000], data: new Float32Array(1_000_000) }, 1, true, undefined).shape).toEqual([1, 1]);
    for (const datatype of ['BOOL', 'FP16', 'BF16'] as const) {
      const tensor = { name: 'P', datatype, shape: [2], data: new Uint8Array(2) } as unknown as Parameters<typeof classify>[0];
      expect(() => classify(tensor, 1, false, undefined)).toThrow(`class result not available for output due to unsupported type '${datatype}'`);
    }
  });
});
