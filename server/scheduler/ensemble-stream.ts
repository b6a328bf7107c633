/**
 * An ensemble request when a step's model is decoupled (Triton makes such an ensemble decoupled): every response of a
 * decoupled step starts its own flow through the steps after it, and every flow that completes is one response of
 * the ensemble, sent as it comes (the one made when no step is left in flight carries the final flag; otherwise the
 * final flag comes alone once the last step ends). The first failure (a step's error, a full queue) is the stream's last response: it
 * ends the stream, and flows still running are left to finish unseen, as in Triton.
 *
 * Within one flow the steps run one after another in the order their inputs become available (the flows, one per
 * response, are what runs concurrently).
 */
import type { EnsembleStep } from '../config/ensemble-graph';
import { Errors, toInferenceError } from '../core/errors';
import type { Tensor } from '../core/tensor';
import { stepRequest, type StepRequest } from './composing-runner';
import type { EnsemblePlan } from './ensemble-plan';
import type { SourceBatchSize } from './ensemble-reshape';
import type { JobResult, SchedulerJob } from './scheduler';

/**
 * The tensors of one flow by ensemble tensor name (tensor null: the step did not produce it), each with the batch
 * size it was made with (0: without batching).
 */
type FlowTensors = Map<string, { readonly tensor: Tensor | null; readonly batchSize: SourceBatchSize }>;

export class StreamingEnsembleRun {
  private closed = false;
  /**
   * Steps sent (or waiting for their backpressure slot) whose final response has not come. As in Triton, a response
   * made while none is left is the stream's last: it carries the final flag (clients wait for it, and an empty final
   * response reaches gRPC clients only when they ask for one).
   */
  private inflightSteps = 0;

  constructor(
    private readonly plan: EnsemblePlan,
    private readonly steps: readonly EnsembleStep[],
    private readonly job: SchedulerJob,
  ) {}

  async run(): Promise<JobResult> {
    const batchSize = this.plan.inputBatchSize(this.job);
    const tensors: FlowTensors = new Map(this.job.inputs.map((input) => [input.name, { tensor: input, batchSize }]));
    try {
      await this.flow(tensors, new Set(this.steps));
    } catch (error) {
      this.fail(error);
    }
    if (!this.closed) {
      this.closed = true;
      this.job.sink!(undefined, true);
    }
    return { outputs: [], queueNs: 0, timings: { batchSize: this.job.batchSize, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 } };
  }

  /** The stream has ended, or its client is gone: no further step starts (steps running finish unseen). */
  private get stopped(): boolean {
    return this.closed || this.job.signal?.aborted === true;
  }

  /** Run the steps left for this flow; a decoupled step forks one flow per response and ends this one. */
  private async flow(tensors: FlowTensors, waiting: Set<EnsembleStep>): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const step = [...waiting].find((candidate) => [...candidate.inputMap.values()].every((tensor) => tensors.has(tensor)));
      if (!step) break;
      waiting.delete(step);
      const request = this.stepRequest(step, tensors);
      const runner = this.plan.runner;
      if (runner.runStepStream && runner.isDecoupled?.(request.model, request.version)) {
        const forks: Promise<void>[] = [];
        const streamed = (outputs: Tensor[], batchSize: SourceBatchSize): void => {
          if (this.stopped) return;
          const next: FlowTensors = new Map(tensors);
          setOutputs(next, step, outputs, batchSize);
          forks.push(this.flow(next, new Set(waiting)).catch((error: unknown) => this.fail(error)));
        };
        // The step's backpressure slot is held until its final response; the flows it started hold their own.
        await this.inFlight(() => this.plan.send(step, () => (this.stopped ? Promise.resolve() : runner.runStepStream!(request, streamed))));
        await Promise.all(forks);
        return;
      }
      // A step that waited for its backpressure slot past the stream's end is not sent.
      const result = await this.inFlight(() => this.plan.send(step, () => (this.stopped ? Promise.resolve(undefined) : runner.runStep(request))));
      if (!result) return;
      setOutputs(tensors, step, result.outputs, result.batchSize);
    }
    this.respond(tensors);
  }

  private async inFlight<T>(step: () => Promise<T>): Promise<T> {
    this.inflightSteps += 1;
    try {
      return await step();
    } finally {
      this.inflightSteps -= 1;
    }
  }

  private stepRequest(step: EnsembleStep, tensors: FlowTensors): StepRequest {
    const inputs: Tensor[] = [];
    const batchSizes = new Map<string, SourceBatchSize>();
    for (const [modelInput, tensorName] of step.inputMap) {
      const entry = tensors.get(tensorName);
      const tensor = entry?.tensor;
      // Flows share tensors and backends may move the buffers they get: every step reads a copy.
      if (tensor) inputs.push({ ...tensor, name: modelInput, data: tensor.data.slice() });
      batchSizes.set(modelInput, entry?.batchSize ?? 0);
    }
    return stepRequest(step, inputs, this.job, batchSizes);
  }

  private respond(tensors: FlowTensors): void {
    if (this.closed) return;
    const outputs: Tensor[] = [];
    for (const name of this.job.outputNames) {
      const entry = tensors.get(name);
      if (entry?.tensor) outputs.push(this.plan.shapeOutput(entry.tensor, entry.batchSize));
    }
    const final = this.inflightSteps === 0;
    if (final) this.closed = true;
    this.job.sink!({ outputs }, final);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.job.sink!({ error: Errors.inEnsemble(this.plan.ensemble, toInferenceError(error)) }, true);
  }
}

function setOutputs(tensors: FlowTensors, step: EnsembleStep, outputs: readonly Tensor[], batchSize: SourceBatchSize): void {
  const produced = new Map(outputs.map((output) => [output.name, output]));
  for (const [modelOutput, tensorName] of step.outputMap) {
    const output = produced.get(modelOutput);
    tensors.set(tensorName, { tensor: output ? { ...output, name: tensorName } : null, batchSize });
  }
}
