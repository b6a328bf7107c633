/**
 * A dynamic batch in and out of one execution: its requests' inputs merged into one request, and the execution's
 * result split back into each request's answer (or its error) with the execution's timings.
 */
import type { ExecutionRequest, ExecutionResult } from '../backends/backend';
import { InferenceError, toInferenceError } from '../core/errors';
import { captureCompute } from '../core/request-trace';
import type { ExecutionTimings } from '../core/statistics';
import type { QueueEntry } from './priority-queue';
import type { JobResult, SchedulerJob } from './scheduler';
import { mergeInputs, splitOutputs } from './tensor-batching';

/** A queued request and how to answer it. */
export interface Waiting {
  readonly job: SchedulerJob;
  resolve(result: JobResult): void;
  reject(error: InferenceError): void;
}

export type Outcome = { ok: true; result: JobResult } | { ok: false; error: InferenceError };

/** The batch size of `jobs` run together (each request's own batch dimension, summed). */
export function batchSizeOf(jobs: readonly SchedulerJob[]): number {
  return jobs.reduce((sum, job) => sum + job.batchSize, 0);
}

/** An execution's timings, for statistics and traces. */
export function executionTimings(batchSize: number, result: ExecutionResult): ExecutionTimings {
  return { batchSize, computeInputNs: result.computeInputNs, computeInferNs: result.computeInferNs, computeOutputNs: result.computeOutputNs };
}

/** One execution's request for `batch`: a lone request's inputs as they are, else merged; every output any asked for. */
export function executionRequestOf(batch: readonly QueueEntry<Waiting>[]): ExecutionRequest {
  const jobs = batch.map((entry) => entry.item.job);
  return {
    inputs: jobs.length === 1 ? jobs[0].inputs : mergeInputs(jobs.map((job) => job.inputs)),
    outputNames: [...new Set(jobs.flatMap((job) => job.outputNames))],
  };
}

/** Every request of `batch` fails with `failure`. */
export function failedOutcomes(batch: readonly QueueEntry<Waiting>[], failure: InferenceError): Outcome[] {
  return batch.map(() => ({ ok: false, error: failure }));
}

/** Split one execution's result back to the requests of its batch; `onExecution` gets the timings of one that ran. */
export function outcomesOf(
  batch: readonly QueueEntry<Waiting>[],
  settled: PromiseSettledResult<ExecutionResult>,
  startedAt: bigint,
  onExecution: (timings: ExecutionTimings) => void,
): Outcome[] {
  if (settled.status === 'rejected') return failedOutcomes(batch, toInferenceError(settled.reason));
  const jobs = batch.map((entry) => entry.item.job);
  const result = settled.value;
  const timings = executionTimings(batchSizeOf(jobs), result);
  onExecution(timings);
  let endedAt: bigint | undefined;
  for (const job of jobs) if (job.trace) captureCompute(job.trace, startedAt, (endedAt ??= process.hrtime.bigint()), timings);
  try {
    const perJob = splitOutputs(
      result.outputs,
      jobs.map((job) => job.batchSize),
    );
    return batch.map((entry, i) => ({
      ok: true,
      result: { outputs: perJob[i], queueNs: Number(startedAt - entry.enqueuedAt), timings },
    }));
  } catch (error) {
    return failedOutcomes(batch, toInferenceError(error));
  }
}

/** Answers each request of `batch` with its outcome. */
export function settleOutcomes(batch: readonly QueueEntry<Waiting>[], outcomes: readonly Outcome[]): void {
  batch.forEach((entry, i) => {
    const outcome = outcomes[i];
    if (outcome.ok) entry.item.resolve(outcome.result);
    else entry.item.reject(outcome.error);
  });
}
