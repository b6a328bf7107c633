/**
 * An ensemble request when a step's model is decoupled (Triton makes such an ensemble decoupled): every response of a
 * decoupled step starts its own flow through the steps after it, and every flow that completes is one response of
 * the ensemble, sent as it comes. The first failure (a step's error, a full queue) is the stream's last response: it
 * ends the stream, and flows still running are left to finish unseen, as in Triton.
 *
 * Within one flow the steps run one after another in the order their inputs become available (the flows, one per
 * response, are what runs concurrently).
 */
import type { EnsembleStep } from '../config/ensemble-graph';
import { Errors, toInferenceError } from '../core/errors';
import type { Tensor } from '../core/tensor';
import { stepRequest, type ComposingModelRunner, type StepRequest } from './composing-runner';
import type { JobResult, SchedulerJob } from './scheduler';

/** The composing model's tensors of one flow, by ensemble tensor name (null: the step did not produce it). */
type FlowTensors = Map<string, Tensor | null>;

export class StreamingEnsembleRun {
  private closed = false;

  constructor(
    private readonly ensemble: string,
    private readonly steps: readonly EnsembleStep[],
    private readonly runner: ComposingModelRunner,
    private readonly job: SchedulerJob,
  ) {}

  async run(): Promise<JobResult> {
    const tensors: FlowTensors = new Map(this.job.inputs.map((input) => [input.name, input]));
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

  /** Run the steps left for this flow; a decoupled step forks one flow per response and ends this one. */
  private async flow(tensors: FlowTensors, waiting: Set<EnsembleStep>): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const step = [...waiting].find((candidate) => [...candidate.inputMap.values()].every((tensor) => tensors.has(tensor)));
      if (!step) break;
      waiting.delete(step);
      const request = this.stepRequest(step, tensors);
      if (this.runner.runStepStream && this.runner.isDecoupled?.(request.model, request.version)) {
        const forks: Promise<void>[] = [];
        await this.runner.runStepStream(request, (outputs) => {
          if (this.closed) return;
          const next: FlowTensors = new Map(tensors);
          setOutputs(next, step, outputs);
          forks.push(this.flow(next, new Set(waiting)).catch((error: unknown) => this.fail(error)));
        });
        await Promise.all(forks);
        return;
      }
      setOutputs(tensors, step, (await this.runner.runStep(request)).outputs);
    }
    this.respond(tensors);
  }

  private stepRequest(step: EnsembleStep, tensors: FlowTensors): StepRequest {
    const inputs: Tensor[] = [];
    for (const [modelInput, tensorName] of step.inputMap) {
      const tensor = tensors.get(tensorName);
      // Flows share tensors and backends may move the buffers they get: every step reads a copy.
      if (tensor) inputs.push({ ...tensor, name: modelInput, data: tensor.data.slice() });
    }
    return stepRequest(step, inputs, this.job);
  }

  private respond(tensors: FlowTensors): void {
    if (this.closed) return;
    const outputs: Tensor[] = [];
    for (const name of this.job.outputNames) {
      const tensor = tensors.get(name);
      if (tensor) outputs.push(tensor);
    }
    this.job.sink!({ outputs }, false);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.job.sink!({ error: Errors.inEnsemble(this.ensemble, toInferenceError(error)) }, true);
  }
}

function setOutputs(tensors: FlowTensors, step: EnsembleStep, outputs: readonly Tensor[]): void {
  const produced = new Map(outputs.map((output) => [output.name, output]));
  for (const [modelOutput, tensorName] of step.outputMap) {
    const output = produced.get(modelOutput);
    tensors.set(tensorName, output ? { ...output, name: tensorName } : null);
  }
}
