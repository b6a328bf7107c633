/**
 * The GPU proof's pieces that run without a GPU: the conv model generator, the bundle's dependency walk, the check's
 * comparison, repository and wire helpers. The proof itself runs on a GPU machine (bench/README.md ("GPU proof")).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { autoCompleteOnnx } from '../../server/config/autocomplete';
import { parseModelConfigText } from '../../server/config/pbtxt';
import {
  buildConvModel,
  CONV_CLASSES,
  CONV_INPUT_SHAPE,
  convFlopsPerImage,
  convInput,
  convWeights,
  parseConvVariant,
} from '../../bench/gpu/build-conv-model';
import { packageClosure, packageName, walkRequires } from '../../bench/gpu/bundle-deps';
import { compareOutputs, decodeOutput, executionProviders, inferBody, writeRepository } from '../../bench/gpu/check';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-bundle-test-'));

describe('conv model', () => {
  const bytes = buildConvModel();

  it('is deterministic and a few MB', () => {
    expect(Buffer.from(buildConvModel()).equals(Buffer.from(bytes))).toBe(true);
    expect(bytes.length).toBeGreaterThan(4_000_000);
    expect(bytes.length).toBeLessThan(6_000_000);
    expect(convFlopsPerImage()).toBeGreaterThan(1e9);
  });

  it('has a ResNet-50-sized variant: about 8.2 GFLOP per image and 25.6 M weights, within 15 %', () => {
    // ResNet-50: 4.1 G multiply-adds (8.2 GFLOP as counted here), 25.6 M parameters.
    expect(convFlopsPerImage('resnet50') / 8.2e9).toBeGreaterThan(0.85);
    expect(convFlopsPerImage('resnet50') / 8.2e9).toBeLessThan(1.15);
    expect(convWeights('resnet50') / 25.6e6).toBeGreaterThan(0.85);
    expect(convWeights('resnet50') / 25.6e6).toBeLessThan(1.15);
    // The small model's weights are what its file holds: 4 bytes each, plus the graph.
    expect(bytes.length - convWeights() * 4).toBeGreaterThan(0);
    expect(bytes.length - convWeights() * 4).toBeLessThan(10_000);
    expect(parseConvVariant(undefined)).toBe('small');
    expect(() => parseConvVariant('vgg')).toThrow("unknown conv model variant 'vgg' (small, resnet50)");
  });

  it('auto-completes as a batched FP32 image model', () => {
    const config = autoCompleteOnnx({ name: 'conv' } as never, bytes);
    expect(config.max_batch_size).toBe(4);
    expect(config.input?.[0]).toMatchObject({ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [...CONV_INPUT_SHAPE] });
    expect(config.output?.[0]).toMatchObject({ name: 'OUTPUT0', dims: [CONV_CLASSES] });
  });

  it('runs on the CPU provider with bounded, non-trivial outputs', () => {
    // In a child process: onnxruntime-node's typed arrays come from another realm than jest's VM context.
    const dir = tmp();
    const model = path.join(dir, 'conv.onnx');
    const input = path.join(dir, 'input.bin');
    const batch = 2;
    fs.writeFileSync(model, bytes);
    fs.writeFileSync(input, convInput(batch));
    const script = `
      const ort = require('onnxruntime-node');
      const fs = require('fs');
      (async () => {
        const [model, input, batch] = process.argv.slice(1);
        const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
        const raw = fs.readFileSync(input);
        const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const out = (await session.run({ INPUT0: new ort.Tensor('float32', data, [Number(batch), 3, 224, 224]) })).OUTPUT0;
        console.log(JSON.stringify({ dims: out.dims, data: Array.from(out.data) }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const stdout = execFileSync(process.execPath, ['-e', script, model, input, String(batch)], {
      cwd: path.resolve(__dirname, '..', '..'),
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout) as { dims: number[]; data: number[] };
    expect(out.dims).toEqual([batch, CONV_CLASSES]);
    const max = Math.max(...out.data.map(Math.abs));
    expect(Number.isFinite(max)).toBe(true);
    expect(max).toBeGreaterThan(1e-3);
    expect(max).toBeLessThan(1e3);
    // Different images give different scores.
    expect(out.data.slice(0, CONV_CLASSES)).not.toEqual(out.data.slice(CONV_CLASSES));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('bundle dependency walk', () => {
  it('names packages from specifiers', () => {
    expect(packageName('fastify')).toBe('fastify');
    expect(packageName('@grpc/grpc-js/build/src')).toBe('@grpc/grpc-js');
    expect(packageName('lodash/fp')).toBe('lodash');
  });

  it('follows relative requires and resolves packages nearest first', () => {
    const dir = tmp();
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    };
    write('dist/a.js', 'require("./b"); require("node:fs"); require("path"); require("@s/x/deep");');
    write('dist/b.js', 'const y = require("y");');
    write('dist/unused.js', 'require("z");');
    const pkg = (rel: string, deps: Record<string, string> = {}, optional: Record<string, string> = {}) =>
      write(`${rel}/package.json`, JSON.stringify({ name: rel, dependencies: deps, optionalDependencies: optional }));
    pkg('node_modules/@s/x', { w: '1' });
    pkg('node_modules/y', { w: '2' }, { 'not-installed': '1' });
    pkg('node_modules/y/node_modules/w');
    pkg('node_modules/w');
    pkg('node_modules/z');

    const walked = walkRequires([path.join(dir, 'dist/a.js')]);
    expect([...walked.files].map((f) => path.relative(dir, f)).sort()).toEqual(['dist/a.js', 'dist/b.js']);
    expect([...walked.packages].sort()).toEqual(['@s/x', 'y']);
    const closure = packageClosure(dir, walked.packages);
    expect(closure.packages).toEqual(['node_modules/@s/x', 'node_modules/w', 'node_modules/y', 'node_modules/y/node_modules/w']);
    expect(closure.missing).toEqual([]);
    expect(packageClosure(dir, ['absent']).missing).toEqual(['absent']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('check helpers', () => {
  it('compares within ATOL + RTOL * max|ref|', () => {
    expect(compareOutputs([1, 2, 3], [1, 2, 3]).pass).toBe(true);
    expect(compareOutputs([1, 2, 3.02], [1, 2, 3]).pass).toBe(true);
    expect(compareOutputs([1, 2, 3.1], [1, 2, 3]).pass).toBe(false);
    expect(compareOutputs([NaN], [1]).pass).toBe(false);
    expect(compareOutputs([1], [1, 2]).pass).toBe(false);
  });

  it('maps providers to onnxruntime-node execution providers', () => {
    expect(executionProviders('cpu')).toEqual(['cpu']);
    expect(executionProviders('cuda')).toEqual([{ name: 'cuda', deviceId: 0 }]);
    expect(executionProviders('webgpu')).toEqual(['webgpu']);
  });

  it('writes a repository the server parses, KIND_GPU only with a GPU provider', () => {
    const dir = tmp();
    const model = path.join(dir, 'conv.onnx');
    fs.writeFileSync(model, Buffer.from('not a model'));
    expect(writeRepository(path.join(dir, 'cpu'), model, 8, undefined, 2)).toEqual(['conv_cpu']);
    expect(writeRepository(path.join(dir, 'gpu'), model, 8, 'webgpu', 2)).toEqual(['conv_gpu', 'conv_cpu']);
    const gpu = parseModelConfigText(fs.readFileSync(path.join(dir, 'gpu/conv_gpu/config.pbtxt'), 'utf8'), 'config.pbtxt');
    expect(gpu.instance_group?.[0]).toMatchObject({ kind: 'KIND_GPU', count: 1 });
    expect(gpu.optimization?.execution_accelerators?.gpu_execution_accelerator?.[0]?.name).toBe('webgpu');
    expect(gpu.max_batch_size).toBe(8);
    const cpu = parseModelConfigText(fs.readFileSync(path.join(dir, 'gpu/conv_cpu/config.pbtxt'), 'utf8'), 'config.pbtxt');
    expect(cpu.instance_group?.[0]).toMatchObject({ kind: 'KIND_CPU' });
    expect(cpu.parameters?.intra_op_thread_count?.string_value).toBe('2');
    expect(fs.readFileSync(path.join(dir, 'gpu/conv_cpu/1/model.onnx'), 'utf8')).toBe('not a model');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds binary-extension bodies and decodes binary outputs', () => {
    const { body, headerLength } = inferBody(1);
    const header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    expect(header.inputs[0]).toMatchObject({ name: 'INPUT0', datatype: 'FP32', shape: [1, 3, 224, 224] });
    expect(body.length - headerLength).toBe(header.inputs[0].parameters.binary_data_size);

    const values = new Float32Array([1.5, -2, 3.25]);
    const json = Buffer.from(JSON.stringify({ outputs: [{ name: 'OUTPUT0', parameters: { binary_data_size: 12 } }] }));
    const response = Buffer.concat([json, Buffer.from(values.buffer)]);
    expect(Array.from(decodeOutput({ 'inference-header-content-length': String(json.length) }, response))).toEqual([1.5, -2, 3.25]);
    const jsonOnly = Buffer.from(JSON.stringify({ outputs: [{ name: 'OUTPUT0', data: [4, 5] }] }));
    expect(Array.from(decodeOutput({}, jsonOnly))).toEqual([4, 5]);
  });
});
