/**
 * The PyTorch example (examples/python_models/torch_mlp) where an interpreter with torch exists (Debian:
 * python3-torch). Skipped with a message elsewhere: torch is large and not needed by the other suites.
 */
import { spawnSync } from 'node:child_process';
import { findPython, outputs, post, PYTHON_EXAMPLES, Started, startServer, waitFor } from './helpers';

const python = findPython('numpy', 'torch');
const describeWithTorch = python ? describe : describe.skip;
if (!python) {
  console.warn('torch_mlp tests skipped: no python3 with torch and numpy here (Debian: apt-get install -y python3-torch)');
}

describeWithTorch('torch_mlp: a PyTorch model behind the Python backend', () => {
  let server: Started;

  beforeAll(async () => {
    server = await startServer({
      modelRepositories: [PYTHON_EXAMPLES],
      loadModels: ['torch_mlp'],
      backendConfig: new Map([['python', { 'execution-env-path': python! }]]),
    });
    expect(server.failedModels).toEqual([]);
    // initialize() says where the model runs through pb_utils.Logger (the stub's stderr, read as it comes).
    await waitFor(() => server.stubOutput.join('').includes('torch_mlp on '));
    expect(server.stubOutput.join('')).toMatch(/^I python: torch_mlp on cpu \(torch [^)]+\)$/m);
  }, 120_000);

  afterAll(async () => {
    await server?.app.stop();
  });

  test('answers with the logits torch computes for the same weights', async () => {
    const batch = 3;
    const data = Array.from({ length: batch * 784 }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const response = await post(server.httpPort, '/v2/models/torch_mlp/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [batch, 784], data }],
    });
    expect(response.statusCode).toBe(200);
    const logits = outputs(response).OUTPUT0;
    expect(logits).toMatchObject({ datatype: 'FP32', shape: [batch, 10] });

    // The same network, built the same way, outside the server.
    const reference = spawnSync(
      python!,
      [
        '-c',
        [
          'import json, sys, torch',
          'torch.manual_seed(0)',
          'net = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10)).eval()',
          'x = torch.tensor(json.load(sys.stdin), dtype=torch.float32).reshape(-1, 784)',
          'print(json.dumps(net(x).detach().reshape(-1).tolist()))',
        ].join('\n'),
      ],
      { input: JSON.stringify(data), encoding: 'utf8', timeout: 60_000 },
    );
    expect(reference.status).toBe(0);
    const expected = JSON.parse(reference.stdout) as number[];
    (logits.data as number[]).forEach((value, i) => expect(value).toBeCloseTo(expected[i], 4));
  });

  test('concurrent requests are batched and each gets its own rows', async () => {
    const rows = await Promise.all(
      [0, 1, 2, 3].map((k) =>
        post(server.httpPort, '/v2/models/torch_mlp/infer', {
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 784], data: new Array(784).fill(k / 10) }],
        }).then((response) => outputs(response).OUTPUT0.data as number[]),
      ),
    );
    const alone = await post(server.httpPort, '/v2/models/torch_mlp/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 784], data: new Array(784).fill(0.2) }],
    });
    (outputs(alone).OUTPUT0.data as number[]).forEach((value, i) => expect(rows[2][i]).toBeCloseTo(value, 5));
  });
});
