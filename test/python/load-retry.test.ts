/**
 * --model-load-retry-count (Triton's): a model version whose load fails is tried again, up to the count. The model
 * here fails its first initialize (it leaves a marker file) and succeeds from the second.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer } from './helpers';

const MODEL_PY = `
import os
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        marker = os.path.join(os.path.dirname(__file__), "tried")
        attempts = int(open(marker).read()) if os.path.exists(marker) else 0
        with open(marker, "w") as f:
            f.write(str(attempts + 1))
        if attempts == 0:
            raise pb_utils.TritonModelException("first load fails")

    def execute(self, requests):
        return [pb_utils.InferenceResponse([pb_utils.Tensor("OUT", np.array([1], dtype=np.int32))]) for _ in requests]
`;

function flakyRepository(): { repo: string; attempts: () => number } {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'flaky-'));
  fs.mkdirSync(path.join(repo, 'flaky', '1'), { recursive: true });
  fs.writeFileSync(
    path.join(repo, 'flaky', 'config.pbtxt'),
    'name: "flaky"\nbackend: "python"\nmax_batch_size: 0\ninput [ { name: "IN", data_type: TYPE_INT32, dims: [ 1 ] } ]\noutput [ { name: "OUT", data_type: TYPE_INT32, dims: [ 1 ] } ]\n',
  );
  fs.writeFileSync(path.join(repo, 'flaky', '1', 'model.py'), MODEL_PY);
  return { repo, attempts: () => Number(fs.readFileSync(path.join(repo, 'flaky', '1', 'tried'), 'utf8')) };
}

it('without retries the failed load stays failed', async () => {
  const { repo, attempts } = flakyRepository();
  const server = await startServer({ modelRepositories: [repo], loadModels: ['flaky'] });
  try {
    expect(server.failedModels).toEqual(['flaky']);
    expect(attempts()).toBe(1);
  } finally {
    await server.app.stop();
  }
});

it('with --model-load-retry-count=2 the second attempt serves', async () => {
  const { repo, attempts } = flakyRepository();
  const server = await startServer({ modelRepositories: [repo], loadModels: ['flaky'], modelLoadRetryCount: 2 });
  try {
    expect(server.failedModels).toEqual([]);
    expect(attempts()).toBe(2);
    expect(server.app.service.isModelReady('flaky')).toBe(true);
  } finally {
    await server.app.stop();
  }
});
