import type { EnsembleStep } from '../config/ensemble-graph';
import { Errors, type InferenceError, toInferenceError } from '../core/errors';
import type { SequenceFlags } from '../core/sequence-parameters';
import { isBytesData, type Tensor } from '../core/tensor';
import type { Parameters } from '../core/types';
import { stepRequest, type ComposingModelRunner } from './composing-runner';
import { EnsemblePlan, type EnsembleOptions } from './ensemble-plan';
import type { SourceBatchSize } from './ensemble-reshape';
import { StreamingEnsembleRun } from './ensemble-stream';
import type { JobResult, Scheduler, SchedulerJob } from './scheduler';

export type { ComposingModelRunner, StepRequest, StepResult } from './composing-runner';
export type { EnsembleLog, EnsembleOptions } from './ensemble-plan';

/**
 * Triton's ensemble scheduler: the steps form a data-flow graph over named ensemble tensors. Only the steps the
 * requested outputs need run; a step starts as soon as every tensor it reads exists, so independent steps run
 * concurrently; the job resolves with the requested outputs once every step has run. The first failing step fails
 * the job with that step's error, once the steps already running have ended (as Triton answers an ensemble's error
 * only with no step in flight). A job whose client has gone (its signal aborted) starts no further step and fails
 * CANCELLED the same way, as Triton checks for cancellation between ensemble steps.
 */
export class EnsembleScheduler implements Scheduler {
  private pending = 0;
  private readonly idle = new Set<() => void>();
  private readonly plan: EnsemblePlan;

  constructor(
    /** The ensemble's name. */
    readonly ensemble: string,
    private readonly steps: readonly EnsembleStep[],
    private readonly runner: ComposingModelRunner,
    options: EnsembleOptions = {},
  ) {
    this.plan = new EnsemblePlan(ensemble, steps, runner, options);
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** An ensemble has no queue of its own: its steps wait in the composing models' queues. */
  get queuedCount(): number {
    return 0;
  }

  /** Triton makes an ensemble decoupled when a composing model is: its responses then stream (ensemble-stream.ts). */
  hasDecoupledStep(): boolean {
    return this.steps.some((step) => this.runner.isDecoupled?.(step.modelName, step.modelVersion === undefined ? undefined : String(step.modelVersion)) === true);
  }

  async enqueue(job: SchedulerJob): Promise<JobResult> {
    this.pending += 1;
    try {
      if (job.sink) return await new StreamingEnsembleRun(this.plan, stepsNeeded(this.steps, job.outputNames), job).run();
      return await new EnsembleRun(this.plan, job).run();
    } finally {
      this.pending -= 1;
      if (this.pending === 0) for (const resolve of [...this.idle]) resolve();
    }
  }

  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}

/**
 * The steps a request needs, as Triton prunes an ensemble: walking back from the requested outputs, a step runs only
 * when some tensor it writes is requested or read by another step that runs.
 */
export function stepsNeeded(steps: readonly EnsembleStep[], requested: readonly string[]): EnsembleStep[] {
  const neededTensors = new Set(requested);
  const needed = new Set<EnsembleStep>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const step of steps) {
      if (needed.has(step) || ![...step.outputMap.values()].some((tensor) => neededTensors.has(tensor))) continue;
      needed.add(step);
      for (const tensor of step.inputMap.values()) neededTensors.add(tensor);
      grew = true;
    }
  }
  return steps.filter((step) => needed.has(step));
}

/** Triton puts the request's sequence id and flags on every ensemble response whose outputs came from its steps. */
function sequenceResponseParameters(sequence: SequenceFlags | undefined): Parameters {
  const id = sequence?.id ?? 0n;
  return {
    sequence_id: typeof id === 'string' || id > BigInt(Number.MAX_SAFE_INTEGER) ? id : Number(id),
    sequence_start: sequence?.start ?? false,
    sequence_end: sequence?.end ?? false,
  };
}

/**
 * The state of one ensemble request: the tensors produced so far and the steps still to start. A tensor a step
 * was to write but did not is kept as `null`: a step reading it runs without that input (the composing model refuses
 * it unless the input is optional) and a requested output left `null` is left out of the response, as Triton does.
 */
class EnsembleRun {
  private readonly tensors = new Map<string, Tensor | null>();
  /** The batch size each tensor was made with (0: without batching), to shape it for its readers as Triton does. */
  private readonly batchSizes = new Map<string, SourceBatchSize>();
  /** Readers left per tensor (steps not started, plus one when it is a requested output): the last reader may move it. */
  private readonly readersLeft = new Map<string, number>();
  private readonly waiting: Set<EnsembleStep>;
  private queueNs = 0;
  private readonly timings = { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };

  constructor(
    private readonly plan: EnsemblePlan,
    private readonly job: SchedulerJob,
  ) {
    this.waiting = new Set(stepsNeeded(plan.steps, job.outputNames));
    for (const step of this.waiting) for (const tensor of step.inputMap.values()) this.addReader(tensor);
    for (const name of job.outputNames) this.addReader(name);
    for (const input of job.inputs) {
      this.tensors.set(input.name, input);
      this.batchSizes.set(input.name, plan.inputBatchSize(job));
    }
  }

  run(): Promise<JobResult> {
    const ranSteps = this.waiting.size > 0;
    return new Promise((resolve, reject) => {
      let running = 0;
      // The first failure (a step's error, or the client gone). As Triton's ensemble, no further step starts and the
      // job answers only once the steps already running have ended: its promise holds their resources (an
      // ensemble's inflight slot), and a client then sees no answer while the ensemble's work still runs.
      let failure: InferenceError | undefined;
      const settleIfDone = (): void => {
        if (running > 0) return;
        if (failure) reject(failure);
        else resolve(this.finish(ranSteps));
      };
      const launchReady = (): void => {
        if (!failure && this.job.signal?.aborted && this.waiting.size > 0) {
          failure = Errors.inEnsemble(this.plan.ensemble, Errors.requestCancelled(this.job.requestId));
        }
        if (failure) return;
        for (const step of [...this.waiting]) {
          if (![...step.inputMap.values()].every((tensor) => this.tensors.has(tensor))) continue;
          this.waiting.delete(step);
          running += 1;
          this.runStep(step).then(
            () => {
              running -= 1;
              launchReady();
              settleIfDone();
            },
            (error: unknown) => {
              running -= 1;
              failure ??= Errors.inEnsemble(this.plan.ensemble, toInferenceError(error));
              settleIfDone();
            },
          );
        }
      };
      launchReady();
      settleIfDone();
    });
  }

  private async runStep(step: EnsembleStep): Promise<void> {
    const inputs: Tensor[] = [];
    const batchSizes = new Map<string, SourceBatchSize>();
    for (const [modelInput, tensorName] of step.inputMap) {
      const tensor = this.take(tensorName);
      if (tensor) inputs.push({ ...tensor, name: modelInput });
      batchSizes.set(modelInput, this.batchSizes.get(tensorName) ?? 0);
    }
    const request = stepRequest(step, inputs, this.job, batchSizes, this.job.trace);
    // A step waiting for its backpressure slot when the client goes leaves the queue unsent.
    const result = await this.plan.send(step, () => this.plan.runner.runStep(request), this.job.signal);
    if (!result) throw Errors.requestCancelled(this.job.requestId);
    this.queueNs += result.queueNs;
    this.timings.computeInputNs += result.timings.computeInputNs;
    this.timings.computeInferNs += result.timings.computeInferNs;
    this.timings.computeOutputNs += result.timings.computeOutputNs;
    const produced = new Map(result.outputs.map((output) => [output.name, output]));
    for (const [modelOutput, tensorName] of step.outputMap) {
      const output = produced.get(modelOutput);
      this.tensors.set(tensorName, output ? { ...output, name: tensorName } : null);
      this.batchSizes.set(tensorName, result.batchSize);
    }
  }

  /** Every step that could run has run: answer with the requested outputs that exist. */
  private finish(ranSteps: boolean): JobResult {
    const outputs: Tensor[] = [];
    for (const name of this.job.outputNames) {
      const tensor = this.tensors.get(name);
      if (tensor) outputs.push(this.plan.shapeOutput(tensor, this.batchSizes.get(name) ?? 0));
      // Triton's verbose line, word for word: its qa tests look for it in the server log.
      else this.plan.log?.debug({ ensemble: this.plan.ensemble }, `Composing models did not output tensor ${name}`);
    }
    return {
      outputs,
      ...(ranSteps ? { parameters: sequenceResponseParameters(this.job.sequence) } : {}),
      queueNs: this.queueNs,
      timings: { batchSize: this.job.batchSize, ...this.timings },
    };
  }

  private addReader(tensor: string): void {
    this.readersLeft.set(tensor, (this.readersLeft.get(tensor) ?? 0) + 1);
  }

  /**
   * The tensor for one reader (null: its step did not produce it). Backends may move (detach) the buffers they are
   * given, so every reader but the last gets a copy, and so does the last one when the tensor is a view into a buffer
   * that holds more than it: the body of a binary request (other inputs, read by other steps), the rows of a batch or
   * the outputs of one Python execute (other requests).
   */
  private take(name: string): Tensor | null {
    const tensor = this.tensors.get(name)!;
    const left = (this.readersLeft.get(name) ?? 1) - 1;
    this.readersLeft.set(name, left);
    if (tensor === null) return null;
    const ownsBuffer = spansBuffer(isBytesData(tensor.data) ? tensor.data.serialized : tensor.data);
    if (left <= 0 && ownsBuffer) return tensor;
    return { ...tensor, data: tensor.data.slice() };
  }
}

function spansBuffer(data: ArrayBufferView): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}
