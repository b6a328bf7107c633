import { Worker } from 'node:worker_threads';
import { resolveWorkerScript } from '../worker-script';
import { ORT_WORKER_RESOURCE_LIMITS } from './instance';
import type { SpareWorkerData } from './messages';
import { warmUpModel } from './warm-up-model';
import { stopWorker } from './worker-stop';

/**
 * One worker thread started ahead of need, with onnxruntime-node loaded and warmed up (a tiny session created, run and
 * released: warm-up-model.ts), waiting for the model it will serve (an 'init' message). Starting a thread and loading onnxruntime's library cost about as much again as creating a
 * small session (issue 18: 0.25 s load vs 0.17 s for InferenceSession.create alone), so a load that takes the spare
 * pays only for its session. Opt-in (the CLI turns it on): each spare is an idle thread and, for the first one, the
 * library's memory, which a server that never loads an ONNX model, or a test that starts many servers, should not pay.
 */
export class SpareWorker {
  private spare: Worker | undefined;
  private closed = false;

  constructor(private readonly enabled: boolean) {}

  /** Start a spare if none is waiting (when enabled): at server start, and after each load that took one. */
  replenish(): void {
    if (!this.enabled || this.closed || this.spare) return;
    const workerData: SpareWorkerData = { spare: true, warmUpModel: warmUpModel() };
    const worker = new Worker(resolveWorkerScript(__dirname, 'worker'), { name: 'onnxruntime spare', workerData, resourceLimits: ORT_WORKER_RESOURCE_LIMITS });
    // An idle spare never keeps the process alive, and one that dies is simply not handed out.
    worker.unref();
    const forget = () => {
      if (this.spare === worker) this.spare = undefined;
    };
    worker.on('error', forget);
    worker.on('exit', forget);
    this.spare = worker;
  }

  /** The waiting spare (its listeners removed, referenced again), or undefined when there is none. */
  take(): Worker | undefined {
    const worker = this.spare;
    if (!worker) return undefined;
    this.spare = undefined;
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.ref();
    return worker;
  }

  /** Stop the waiting spare (server stop); none is started afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    // Not terminate(): a spare may be loading onnxruntime or running its warm-up session (worker-stop.ts). Both end
    // on their own; the long grace only matters on a machine too loaded to load a library in seconds.
    const worker = this.take();
    if (worker) await stopWorker(worker, 30_000);
  }
}
