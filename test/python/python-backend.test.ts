/**
 * The Python backend end to end: a real server (HTTP, gRPC, metrics on loopback) serving the Python examples, the test
 * fixtures and the ONNX examples side by side.
 */
import { serializeBytesElements } from '../../server/core/tensor';
import { binaryRequest, parseBinaryResponse, rawBytes } from '../http/helpers';
import { rawClient, RawClient, unary, unaryError } from '../grpc/helpers';
import { errorOf, get, ONNX_EXAMPLES, outputs, post, PYTHON_EXAMPLES, Started, startServer, TEST_MODELS } from './helpers';

const MODELS = [
  'add_sub',
  'image_preprocess',
  'classify_postprocess',
  'image_classify',
  'batch_probe',
  'raiser',
  'bytes_echo',
  'identity',
  'simple',
  'mlp',
  'add_sub_autocomplete',
];

let server: Started;
let client: RawClient;

beforeAll(async () => {
  server = await startServer({ modelRepositories: [PYTHON_EXAMPLES, TEST_MODELS, ONNX_EXAMPLES], loadModels: MODELS });
  expect(server.failedModels).toEqual([]);
  client = rawClient(server.grpcPort!);
});

afterAll(async () => {
  client?.close();
  await server?.app.stop();
});

function addSubRequest(batch = 1, offset = 0) {
  const in0 = Array.from({ length: batch * 4 }, (_, i) => i + offset);
  const in1 = new Array<number>(batch * 4).fill(0.5);
  return {
    body: {
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [batch, 4], data: in0 },
        { name: 'INPUT1', datatype: 'FP32', shape: [batch, 4], data: in1 },
      ],
    },
    sum: in0.map((v) => v + 0.5),
    difference: in0.map((v) => v - 0.5),
  };
}

function mode(value: string) {
  return { inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], data: [value] }] };
}

describe('serving a Python model', () => {
  test('add_sub answers like Triton: outputs, model_version, id', async () => {
    const request = addSubRequest(2);
    const response = await post(server.httpPort, '/v2/models/add_sub/infer', { id: 'r-1', ...request.body });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { model_name: string; model_version: string; id: string };
    expect(body).toMatchObject({ model_name: 'add_sub', model_version: '1', id: 'r-1' });
    const out = outputs(response);
    expect(out.OUTPUT0).toMatchObject({ datatype: 'FP32', shape: [2, 4], data: request.sum });
    expect(out.OUTPUT1).toMatchObject({ datatype: 'FP32', shape: [2, 4], data: request.difference });
  });

  test('metadata and config describe it as a python backend model', async () => {
    const metadata = (await get(server.httpPort, '/v2/models/add_sub')).json() as Record<string, unknown>;
    expect(metadata).toMatchObject({
      name: 'add_sub',
      versions: ['1'],
      platform: '',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [-1, 4] },
      ],
    });
    const config = (await get(server.httpPort, '/v2/models/add_sub/config')).json() as Record<string, unknown>;
    expect(config).toMatchObject({ name: 'add_sub', backend: 'python', max_batch_size: 8, default_model_filename: 'model.py' });
    expect((await get(server.httpPort, '/v2/models/add_sub/ready')).statusCode).toBe(200);
  });

  test('one requested output only, in binary form', async () => {
    const in0 = new Float32Array([1, 2, 3, 4]);
    const in1 = new Float32Array([4, 3, 2, 1]);
    const { body, headers } = binaryRequest(
      {
        inputs: [
          { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
          { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
        ],
        outputs: [{ name: 'OUTPUT1', parameters: { binary_data: true } }],
      },
      rawBytes(in0),
      rawBytes(in1),
    );
    const response = await post(server.httpPort, '/v2/models/add_sub/infer', body, headers);
    expect(response.statusCode).toBe(200);
    const parsed = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    expect(parsed.json.outputs.map((o) => o.name)).toEqual(['OUTPUT1']);
    const raw = new Uint8Array(parsed.raw.get('OUTPUT1')!);
    expect(Array.from(new Float32Array(raw.buffer, raw.byteOffset, 4))).toEqual([-3, -1, 1, 3]);
  });

  test('BYTES tensors cross both ways (JSON): UTF-8, empty elements', async () => {
    const response = await post(server.httpPort, '/v2/models/bytes_echo/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [3], data: ['hello', 'wörld', ''] }],
    });
    expect(response.statusCode).toBe(200);
    const out = outputs(response);
    expect(out.OUTPUT0).toMatchObject({ datatype: 'BYTES', shape: [3] });
    expect(out.OUTPUT0.data[0]).toBe('olleh');
    expect(out.OUTPUT0.data[2]).toBe('');
    expect(out.LENGTHS).toMatchObject({ datatype: 'INT32', shape: [3], data: [5, 6, 0] });
  });

  test('BYTES tensors cross both ways (binary): arbitrary bytes including NUL', async () => {
    const elements = [Uint8Array.from([0, 1, 2, 255]), Uint8Array.from([]), Buffer.from('abc\0def')];
    const serialized = serializeBytesElements(elements);
    const { body, headers } = binaryRequest(
      {
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: serialized.byteLength } }],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      },
      serialized,
    );
    const response = await post(server.httpPort, '/v2/models/bytes_echo/infer', body, headers);
    expect(response.statusCode).toBe(200);
    const parsed = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    const expected = serializeBytesElements(elements.map((e) => Uint8Array.from(e).reverse()));
    expect(Buffer.from(parsed.raw.get('OUTPUT0')!)).toEqual(Buffer.from(expected));
  });
});

describe('large tensors through the shared-memory files', () => {
  test('16 MiB in and out, then smaller and larger again (the files grow, views stay correct)', async () => {
    for (const count of [4 << 20, 1000, 6 << 20]) {
      const input = new Float32Array(count);
      for (let i = 0; i < count; i++) input[i] = (i % 9973) * 0.5;
      const { body, headers } = binaryRequest(
        {
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [count], parameters: { binary_data_size: input.byteLength } }],
          outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
        },
        rawBytes(input),
      );
      const response = await post(server.httpPort, '/v2/models/identity/infer', body, headers);
      expect(response.statusCode).toBe(200);
      const parsed = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
      expect(parsed.json.outputs[0].shape).toEqual([count]);
      expect(Buffer.compare(parsed.raw.get('OUTPUT0')!, rawBytes(input))).toBe(0);
    }
  });
});

describe('dynamic batching through execute()', () => {
  test('concurrent requests are merged into one execute; each gets its own rows back', async () => {
    const before = await stats('batch_probe');
    const values = [1, 2, 3, 4, 5, 6];
    const responses = await Promise.all(
      values.map((value) =>
        post(server.httpPort, '/v2/models/batch_probe/infer', {
          inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], data: [value] }],
        }),
      ),
    );
    const rows: number[] = [];
    responses.forEach((response, i) => {
      expect(response.statusCode).toBe(200);
      const out = outputs(response);
      expect(out.OUTPUT0.data).toEqual([values[i] * 2]);
      expect(out.REQUESTS.data).toEqual([1]); // the merged batch reaches execute() as one request
      rows.push(out.ROWS.data[0] as number);
    });
    // 6 requests within the 200 ms queue delay: merged (all six, or split by arrival around the first dispatch).
    expect(Math.max(...rows)).toBeGreaterThan(1);
    const after = await stats('batch_probe');
    expect(after.inference_count - before.inference_count).toBe(6);
    expect(after.execution_count - before.execution_count).toBeLessThan(6);
  });
});

describe("errors raised in Python reach the client in Triton's shape", () => {
  test('an exception in execute: 500, the instance, the exception and the model frames', async () => {
    const response = await post(server.httpPort, '/v2/models/raiser/infer', mode('raise'));
    expect(response.statusCode).toBe(500);
    const message = errorOf(response);
    expect(message).toMatch(/^Failed to process the request\(s\) for model instance 'raiser_0', message: ValueError: bad input: -1\n\nAt:\n/);
    expect(message).toMatch(/raiser\/1\/model\.py\(\d+\): check\n {2}.*raiser\/1\/model\.py\(\d+\): execute/);
    expect(message).not.toContain('stub.py');
  });

  test('TritonModelException is reported by its name', async () => {
    const response = await post(server.httpPort, '/v2/models/raiser/infer', mode('model_exception'));
    expect(response.statusCode).toBe(500);
    expect(errorOf(response)).toContain("message: TritonModelException: model says no");
  });

  test('an error response keeps its TritonError code and message', async () => {
    const invalid = await post(server.httpPort, '/v2/models/raiser/infer', mode('error'));
    expect(invalid.statusCode).toBe(400);
    expect(errorOf(invalid)).toBe('custom failure');
    const internal = await post(server.httpPort, '/v2/models/raiser/infer', mode('error_default'));
    expect(internal.statusCode).toBe(500);
    expect(errorOf(internal)).toBe('An Error Occurred');
  });

  test('a wrong number of responses, or no list, fails the request with the reason', async () => {
    const mismatch = await post(server.httpPort, '/v2/models/raiser/infer', mode('count_mismatch'));
    expect(mismatch.statusCode).toBe(500);
    expect(errorOf(mismatch)).toContain(
      'Number of InferenceResponse objects do not match the number of InferenceRequest objects. InferenceRequest(s) size is:1, and InferenceResponse(s) size is:0',
    );
    const notList = await post(server.httpPort, '/v2/models/raiser/infer', mode('not_a_list'));
    expect(notList.statusCode).toBe(500);
    expect(errorOf(notList)).toContain('Expected a list in the execute return');
  });

  test('the instance keeps serving after errors, and failures count as BACKEND', async () => {
    const ok = await post(server.httpPort, '/v2/models/raiser/infer', mode('ok'));
    expect(ok.statusCode).toBe(200);
    const metrics = (await get(server.metricsPort!, '/metrics')).body;
    const failures = metrics.match(/nv_inference_request_failure\{[^}]*model="raiser"[^}]*reason="BACKEND"[^}]*\} (\d+)/)
      ?? metrics.match(/nv_inference_request_failure\{[^}]*reason="BACKEND"[^}]*model="raiser"[^}]*\} (\d+)/);
    expect(failures).not.toBeNull();
    expect(Number(failures![1])).toBeGreaterThanOrEqual(6);
  });

  test('gRPC: an exception in execute is an INTERNAL status with the same message', async () => {
    const error = await unaryError(client, 'ModelInfer', {
      model_name: 'raiser',
      inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('raise')] } }],
    });
    expect(error.code).toBe(13);
    expect(error.details).toContain("Failed to process the request(s) for model instance 'raiser_0', message: ValueError");
  });
});

describe('alongside ONNX models', () => {
  test('interleaved concurrent requests to Python and ONNX models all answer correctly', async () => {
    const jobs: Array<Promise<void>> = [];
    for (let i = 0; i < 24; i++) {
      if (i % 3 === 0) {
        const request = addSubRequest(1, i);
        jobs.push(
          post(server.httpPort, '/v2/models/add_sub/infer', request.body).then((response) => {
            expect(response.statusCode).toBe(200);
            expect(outputs(response).OUTPUT0.data).toEqual(request.sum);
          }),
        );
      } else if (i % 3 === 1) {
        const request = addSubRequest(1, i);
        jobs.push(
          post(server.httpPort, '/v2/models/add_sub_autocomplete/infer', request.body).then((response) => {
            expect(response.statusCode).toBe(200);
            expect(outputs(response).OUTPUT1.data).toEqual(request.difference);
          }),
        );
      } else {
        const in0 = Array.from({ length: 16 }, (_, k) => k + i);
        jobs.push(
          post(server.httpPort, '/v2/models/simple/infer', {
            inputs: [
              { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: in0 },
              { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(1) },
            ],
          }).then((response) => {
            expect(response.statusCode).toBe(200);
            expect(outputs(response).OUTPUT0.data).toEqual(in0.map((v) => v + 1));
          }),
        );
      }
    }
    await Promise.all(jobs);
  });

  test('an ensemble-free pipeline: image_preprocess (Python) → mlp (ONNX) → classify_postprocess (Python)', async () => {
    const batch = 3;
    const pixels = Array.from({ length: batch * 784 }, (_, i) => (i * 37) % 256);
    const pre = await post(server.httpPort, '/v2/models/image_preprocess/infer', {
      inputs: [{ name: 'IMAGE', datatype: 'UINT8', shape: [batch, 28, 28], data: pixels }],
    });
    expect(pre.statusCode).toBe(200);
    const features = outputs(pre).INPUT0;
    expect(features.shape).toEqual([batch, 784]);
    expect(features.data[1] as number).toBeCloseTo((37 / 255 - 0.1307) / 0.3081, 5);

    const mlp = await post(server.httpPort, '/v2/models/mlp/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [batch, 784], data: features.data }],
    });
    expect(mlp.statusCode).toBe(200);
    const logits = outputs(mlp).OUTPUT0.data as number[];

    const post_ = await post(server.httpPort, '/v2/models/classify_postprocess/infer', {
      inputs: [{ name: 'LOGITS', datatype: 'FP32', shape: [batch, 10], data: logits }],
    });
    expect(post_.statusCode).toBe(200);
    const result = outputs(post_);
    expect(result.LABEL).toMatchObject({ datatype: 'BYTES', shape: [batch, 1] });
    const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    for (let row = 0; row < batch; row++) {
      const rowLogits = logits.slice(row * 10, row * 10 + 10);
      const best = rowLogits.indexOf(Math.max(...rowLogits));
      expect(result.LABEL.data[row]).toBe(names[best]);
      const probabilities = (result.PROBABILITIES.data as number[]).slice(row * 10, row * 10 + 10);
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(result.SCORE.data[row] as number).toBeCloseTo(Math.max(...probabilities), 6);
    }
  });
});

describe('the pipeline as an ensemble (examples/python_models/image_classify)', () => {
  test('equals chaining image_preprocess → mlp → classify_postprocess by hand, in one request', async () => {
    const batch = 2;
    const pixels = Array.from({ length: batch * 784 }, (_, i) => (i * 53) % 256);
    const image = { name: 'IMAGE', datatype: 'UINT8', shape: [batch, 28, 28], data: pixels };
    const features = outputs(await post(server.httpPort, '/v2/models/image_preprocess/infer', { inputs: [image] })).INPUT0;
    const logits = outputs(
      await post(server.httpPort, '/v2/models/mlp/infer', {
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: features.shape, data: features.data }],
      }),
    ).OUTPUT0;
    const byHand = outputs(
      await post(server.httpPort, '/v2/models/classify_postprocess/infer', {
        inputs: [{ name: 'LOGITS', datatype: 'FP32', shape: logits.shape, data: logits.data }],
      }),
    );
    const response = await post(server.httpPort, '/v2/models/image_classify/infer', {
      inputs: [image],
      outputs: [{ name: 'LABEL' }, { name: 'SCORE' }],
    });
    expect(response.statusCode).toBe(200);
    const ensemble = outputs(response);
    expect(Object.keys(ensemble)).toEqual(['LABEL', 'SCORE']);
    expect(ensemble.LABEL).toEqual(byHand.LABEL);
    expect(ensemble.SCORE).toEqual(byHand.SCORE);
    const metadata = (await get(server.httpPort, '/v2/models/image_classify')).json() as { platform: string };
    expect(metadata.platform).toBe('ensemble');
  });
});

describe('concurrent ensemble requests', () => {
  test('each gets its own rows through the Python and ONNX steps (100 KB intermediate tensors)', async () => {
    // 32 images per request: 100 KB of features between the steps, large enough that the ONNX backend moves rather
    // than copies the buffers it is given.
    const batch = 32;
    const request = (seed: number) => ({
      inputs: [{ name: 'IMAGE', datatype: 'UINT8', shape: [batch, 28, 28], data: Array.from({ length: batch * 784 }, (_, i) => (i * seed) % 256) }],
      outputs: [{ name: 'LABEL' }],
    });
    const seeds = [3, 5, 7, 11, 13, 17, 19, 23];
    const alone = await Promise.all(seeds.map(async (seed) => outputs(await post(server.httpPort, '/v2/models/image_classify/infer', request(seed))).LABEL));
    for (let round = 0; round < 3; round++) {
      const together = await Promise.all(seeds.map((seed) => post(server.httpPort, '/v2/models/image_classify/infer', request(seed))));
      together.forEach((response, i) => {
        expect(response.statusCode).toBe(200);
        expect(outputs(response).LABEL).toEqual(alone[i]);
      });
    }
  });
});

describe('statistics, metrics and gRPC work for Python models as for ONNX ones', () => {
  test('statistics count requests, executions and timings', async () => {
    const before = await stats('add_sub');
    for (let i = 0; i < 3; i++) await post(server.httpPort, '/v2/models/add_sub/infer', addSubRequest(2).body);
    const after = await stats('add_sub');
    expect(after.inference_count - before.inference_count).toBe(6);
    expect(after.execution_count - before.execution_count).toBe(3);
    const success = after.inference_stats.success;
    expect(success.count - before.inference_stats.success.count).toBe(3);
    expect(after.inference_stats.compute_infer.ns).toBeGreaterThan(before.inference_stats.compute_infer.ns);
    expect(after.inference_stats.compute_input.ns).toBeGreaterThan(before.inference_stats.compute_input.ns);
  });

  test('Prometheus metrics carry the Python model', async () => {
    await post(server.httpPort, '/v2/models/add_sub/infer', addSubRequest().body);
    const metrics = (await get(server.metricsPort!, '/metrics')).body;
    for (const name of ['nv_inference_request_success', 'nv_inference_count', 'nv_inference_exec_count', 'nv_inference_compute_infer_duration_us']) {
      expect(metrics).toMatch(new RegExp(`${name}\\{[^}]*model="add_sub"[^}]*\\} [1-9]`));
    }
  });

  test('gRPC ModelInfer with raw contents', async () => {
    const response = await unary(client, 'ModelInfer', {
      model_name: 'add_sub',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4] },
      ],
      raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer), Buffer.from(new Float32Array([1, 1, 1, 1]).buffer)],
    });
    expect(response.model_name).toBe('add_sub');
    const names = response.outputs.map((o: { name: string }) => o.name);
    const raw: Buffer = response.raw_output_contents[names.indexOf('OUTPUT0')];
    const copy = new Uint8Array(raw);
    expect(Array.from(new Float32Array(copy.buffer, 0, 4))).toEqual([2, 3, 4, 5]);
  });
});

interface ModelStats {
  inference_count: number;
  execution_count: number;
  inference_stats: Record<string, { count: number; ns: number }>;
}

async function stats(model: string): Promise<ModelStats> {
  const response = await get(server.httpPort, `/v2/models/${model}/stats`);
  expect(response.statusCode).toBe(200);
  return (response.json() as { model_stats: ModelStats[] }).model_stats[0];
}
