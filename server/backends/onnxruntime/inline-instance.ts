import type * as ort from 'onnxruntime-node';
import { Errors } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import type { BackendInstance, ExecutionRequest, ExecutionResult } from '../backend';
import { fromWire, ortTypeOf, viewWire } from './instance';
import type { WorkerInit } from './messages';

/**
 * OPT-IN, NOT THE DEFAULT: an instance whose session runs on the event loop, with no worker thread (model parameter
 * `execute_on_event_loop: "true"`). By default every session runs in a worker (instance.ts) because session.run
 * blocks the thread it runs on. For a model whose run takes a few microseconds, the thread hand-off costs more than
 * the model (bench/README.md, "Small requests"); this skips it. The trade-off: while a run executes, this server
 * serves nothing else — other models' requests, health probes, metrics — so it suits only tiny models.
 */
export class InlineOnnxRuntimeInstance implements BackendInstance {
  private closed = false;
  /** The runs in progress: close() waits for them before releasing the session. */
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly modelName: string,
    private readonly session: ort.InferenceSession,
    private readonly run: typeof import('./session-run').runOne,
  ) {}

  static async start(name: string, modelName: string, init: WorkerInit): Promise<InlineOnnxRuntimeInstance> {
    // onnxruntime is loaded on the main thread only when a model asks for this. A plain require, not import(): under
    // ts-jest, import() loads the module outside the test's module registry (another realm's typed arrays).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createSession, runOne } = require('./session-run') as typeof import('./session-run');
    return new InlineOnnxRuntimeInstance(name, modelName, await createSession(init), runOne);
  }

  async execute(inputs: Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const [result] = await this.executeMany([{ inputs, outputNames }]);
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  executeMany(runs: readonly ExecutionRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]> {
    if (this.closed) return Promise.reject(Errors.unloading(this.modelName));
    try {
      runs.forEach((run) => run.inputs.forEach(ortTypeOf)); // as the worker instance: refuse the whole job up front
    } catch (error) {
      return Promise.reject(error);
    }
    const done = this.runAll(runs);
    this.busy = Promise.all([this.busy, done.catch(() => undefined)]);
    return done;
  }

  private async runAll(runs: readonly ExecutionRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]> {
    const settled: PromiseSettledResult<ExecutionResult>[] = [];
    for (const run of runs) {
      const result = await this.run(this.session, { inputs: run.inputs.map(viewWire), outputNames: [...run.outputNames] });
      if (!result.ok) {
        settled.push({ status: 'rejected', reason: Errors.backendFailed(this.modelName, result.message) });
        continue;
      }
      try {
        // A malformed output fails its own run only, as the worker instance settles each run on its own.
        const outputs = result.outputs.map(fromWire);
        settled.push({
          status: 'fulfilled',
          value: { outputs, computeInputNs: result.inputNs, computeInferNs: result.inferNs, computeOutputNs: result.outputNs },
        });
      } catch (error) {
        settled.push({ status: 'rejected', reason: error });
      }
    }
    return settled;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.busy;
    await this.session.release();
  }
}
