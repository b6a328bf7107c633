/**
 * The opt-in event-loop instance (model parameter `execute_on_event_loop`): same results and errors as the worker
 * instance, chosen only when a model asks, and served through the whole server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InstanceContext } from '../../server/backends/backend';
import { OnnxRuntimeBackend } from '../../server/backends/onnxruntime/backend';
import { InlineOnnxRuntimeInstance } from '../../server/backends/onnxruntime/inline-instance';
import { OnnxRuntimeInstance } from '../../server/backends/onnxruntime/instance';
import { planSession } from '../../server/backends/onnxruntime/session-options';
import { InferenceError } from '../../server/core/errors';
import { startCli } from '../server/cli-process';
import { copyRepository, EXAMPLES, sum } from '../server/repo-fixture';

const ON_EVENT_LOOP = { execute_on_event_loop: { string_value: 'true' } };

function context(model: string, version: number, parameters: Record<string, { string_value: string }> = {}): InstanceContext {
  const modelDir = path.join(EXAMPLES, model);
  return {
    modelName: model,
    version,
    modelDir,
    versionDir: path.join(modelDir, String(version)),
    config: { name: model, parameters },
    instanceName: `${model}_0`,
    kind: 'KIND_CPU',
    backendConfig: {},
  };
}

describe('execute_on_event_loop', () => {
  it('is off unless a model (or --backend-config) asks, and refuses values that are not booleans', () => {
    expect(planSession(context('simple', 2)).executeOnEventLoop).toBe(false);
    expect(planSession(context('simple', 2, ON_EVENT_LOOP)).executeOnEventLoop).toBe(true);
    expect(planSession({ ...context('simple', 2), backendConfig: { execute_on_event_loop: 'on' } }).executeOnEventLoop).toBe(true);
    expect(() => planSession(context('simple', 2, { execute_on_event_loop: { string_value: 'maybe' } }))).toThrow(
      "failed to convert 'maybe' to a boolean for 'execute_on_event_loop'",
    );
  });

  it('the backend runs a model that asks on the event loop, every other on a worker', async () => {
    const backend = new OnnxRuntimeBackend();
    const inline = await backend.createInstance(context('simple', 2, ON_EVENT_LOOP));
    const worker = await backend.createInstance(context('simple', 2));
    try {
      expect(inline).toBeInstanceOf(InlineOnnxRuntimeInstance);
      expect(worker).toBeInstanceOf(OnnxRuntimeInstance);
    } finally {
      await Promise.all([inline.close(), worker.close()]);
    }
    // Closed: refuses work. (Runs are checked through the real server below: under jest's VM, onnxruntime's native
    // binding checks typed arrays against another realm's constructors, which is why backends normally run in workers.)
    await expect(inline.execute([], ['OUTPUT0'])).rejects.toBeInstanceOf(InferenceError);
  });

  it('serves models through the real server: results as on a worker, per-run errors, BYTES', async () => {
    const repository = copyRepository(['simple', 'string_upper']);
    for (const model of ['simple', 'string_upper']) {
      fs.appendFileSync(path.join(repository, model, 'config.pbtxt'), '\nparameters { key: "execute_on_event_loop" value: { string_value: "true" } }\n');
    }
    const cli = await startCli([`--model-repository=${repository}`, '--http-port=0', '--grpc-port=0', '--metrics-port=0'], 'HTTP service started');
    const infer = (model: string, body: unknown) =>
      fetch(`http://127.0.0.1:${cli.port}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        json: (await r.json()) as { outputs?: Array<{ name: string; data: unknown[] }>; error?: string },
      }));
    const simpleBody = (offset: number) => ({
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i + offset) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(1) },
      ],
    });
    try {
      const answers = await Promise.all([0, 1, 2, 3].map((offset) => infer('simple', simpleBody(offset))));
      answers.forEach((answer, offset) => {
        expect(answer.status).toBe(200);
        expect(answer.json.outputs?.find((o) => o.name === 'OUTPUT0')?.data).toEqual(sum(offset));
      });
      const upper = await infer('string_upper', { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2], data: ['ab', 'Cd'] }] });
      expect(upper).toMatchObject({ status: 200, json: { outputs: [{ name: 'OUTPUT0', data: ['AB', 'CD'] }] } });
      // A run ORT refuses fails alone; the model keeps serving.
      const upperShape = await infer('string_upper', { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], data: ['ab', 'Cd'] }] });
      expect(upperShape.status).toBeGreaterThanOrEqual(400);
      expect((await infer('simple', simpleBody(5))).json.outputs?.[0].data).toEqual(sum(5));
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exit;
      fs.rmSync(repository, { recursive: true, force: true });
    }
  });
});
