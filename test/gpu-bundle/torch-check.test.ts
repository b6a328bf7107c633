/** The GPU proof's PyTorch models (bench/gpu/torch-check.ts): what it writes, and how it reads the devices. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseModelConfigText } from '../../server/config/pbtxt';
import { torchDevices, torchInput, writeTorchModels } from '../../bench/gpu/torch-check';

const MODEL_PY = path.resolve(__dirname, '..', '..', 'examples', 'python_models', 'torch_mlp', '1', 'model.py');

describe('GPU proof: torch models', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-check-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes torch_gpu (KIND_GPU) only when asked, and torch_cpu, both the example model, configs the server parses', () => {
    expect(writeTorchModels(path.join(dir, 'cpu'), MODEL_PY, false)).toEqual(['torch_cpu']);
    expect(writeTorchModels(path.join(dir, 'gpu'), MODEL_PY, true)).toEqual(['torch_gpu', 'torch_cpu']);
    for (const [name, kind] of [['torch_gpu', 'KIND_GPU'], ['torch_cpu', 'KIND_CPU']]) {
      const folder = path.join(dir, 'gpu', name);
      const config = parseModelConfigText(fs.readFileSync(path.join(folder, 'config.pbtxt'), 'utf8'), 'config.pbtxt');
      expect(config).toMatchObject({ name, backend: 'python', max_batch_size: 64 });
      expect(config.instance_group).toEqual([expect.objectContaining({ kind, count: 1 })]);
      expect(fs.readFileSync(path.join(folder, '1', 'model.py'), 'utf8')).toBe(fs.readFileSync(MODEL_PY, 'utf8'));
    }
  });

  it('reads each model\'s device from the example\'s log line, and makes the same input every time', () => {
    const log = [
      '{"level":30,"msg":"torch_mlp on cuda:0 (torch 2.11.0+cu130)","model":"torch_gpu"}',
      '{"level":30,"msg":"torch_mlp on cpu (torch 2.11.0+cu130)","model":"torch_cpu"}',
    ].join('\n');
    expect(torchDevices(log)).toEqual(['cuda:0', 'cpu']);
    expect(torchDevices('nothing here')).toEqual([]);
    expect(torchInput(2)).toHaveLength(2 * 784);
    expect(torchInput()).toEqual(torchInput());
    // The example logs exactly the text torchDevices looks for.
    expect(fs.readFileSync(MODEL_PY, 'utf8')).toContain('"torch_mlp on %s (torch %s)"');
  });
});
