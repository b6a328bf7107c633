/**
 * An ensemble request when a step's model is decoupled (Triton makes such an ensemble decoupled): every response of a
 * decoupled step starts its own flow through the steps after it, and every flow that completes is one response of
 * the ensemble, sent as it comes (the one made when no other flow is left carries the final flag; otherwise the final
 * flag comes alone once the last flow ends). The first failure (a step's error, a full queue) is the stream's last
 * response: it ends the stream, and flows still running are left to finish unseen, as in Triton.
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
   * Flows still running: a flow counts from its start until it responds or ends, a flow running a decoupled step until
   * that step's final response (the flows it forked count on their own from then). As in Triton, a response made when
   * no other flow is left is the stream's last: it carries the final flag (clients wait for it, and an empty final
   * response reaches gRPC clients only when they ask for one). Flows are counted rather than steps because a step's
   * promise settles before its flow resumes: two flows whose last steps end in the same tick (one batch answering
   * both) would both see no step left, and the second response would come after the final one. Triton counts the
   * next steps in before it counts the finished one out, to the same end.
   */
  private liveFlows = 0;

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
    // Counted in before the first await: a fork is live from the moment its response arrives.
    this.liveFlows += 1;
    let live = true;
    const end = (): void => {
      if (live) this.liveFlows -= 1;
      live = false;
    };
    try {
      await this.runSteps(tensors, waiting, end);
    } finally {
      end();
    }
  }

  /** The body of flow(): `end` counts the flow out early, when a decoupled step has handed it on to its forks. */
  private async runSteps(tensors: FlowTensors, waiting: Set<EnsembleStep>, end: () => void): Promise<void> {
    const signal = this.job.signal;
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
        try {
          await this.plan.send(step, () => (this.stopped ? Promise.resolve() : runner.runStepStream!(request, streamed)), signal);
        } finally {
          end();
        }
        await Promise.all(forks);
        return;
      }
      // A step that waited for its backpressure slot past the stream's end is not sent.
      const result = await this.plan.send(step, () => (this.stopped ? Promise.resolve(undefined) : runner.runStep(request)), signal);
      if (!result) return;
      setOutputs(tensors, step, result.outputs, result.batchSize);
    }
    // Counted out in the same tick as its response (not in flow()'s finally, a microtask later): a flow responding
    // right after this one must find it gone.
    end();
    this.respond(tensors);
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
    const final = this.liveFlows === 0;
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
