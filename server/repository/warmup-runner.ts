/**
 * Runs the prepared model_warmup samples on one instance directly (not through the scheduler, which could send every
 * sample to the same instance), as Triton warms each instance on its backend thread before the version is READY.
 * The first failing sample ends the warmup with Triton's "failed to run warmup sample" message.
 */
import type { Logger } from 'pino';
import type { BackendInstance } from '../backends/backend';
import { Errors } from '../core/errors';
import type { ExecutionTimings } from '../core/statistics';
import type { WarmupSample } from './warmup-samples';

/** Where warmup executions are counted: Triton's warmup requests report statistics like any other request. */
export interface WarmupRecorder {
  /** One backend execution of `timings.batchSize` requests of one row each (one unbatched request without batching). */
  onWarmupExecution(timings: ExecutionTimings, requestNs: number): void;
}

export interface WarmupTarget {
  readonly model: string;
  readonly version: number;
  readonly outputNames: readonly string[];
  readonly recorder: WarmupRecorder;
  readonly log: Logger;
}

export async function warmUpInstance(instance: BackendInstance, samples: readonly WarmupSample[], target: WarmupTarget): Promise<void> {
  for (const sample of samples) {
    for (let iteration = 1; iteration <= sample.count; iteration++) {
      const started = process.hrtime.bigint();
      for (const inputs of sample.executions()) {
        const executionStarted = process.hrtime.bigint();
        let timings: ExecutionTimings;
        try {
          const result = await instance.execute(inputs, target.outputNames);
          timings = {
            batchSize: sample.rowsPerExecution,
            computeInputNs: result.computeInputNs,
            computeInferNs: result.computeInferNs,
            computeOutputNs: result.computeOutputNs,
          };
        } catch (error) {
          throw Errors.warmupFailed(sample.name, error instanceof Error ? error.message : String(error));
        }
        target.recorder.onWarmupExecution(timings, Number(process.hrtime.bigint() - executionStarted));
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      target.log.info(
        { model: target.model, version: target.version, instance: instance.name, sample: sample.name, iteration, ms: Number(ms.toFixed(3)) },
        'warmup sample ran',
      );
    }
  }
}
