import type { Worker } from 'node:worker_threads';
import type { ToWorker } from './messages';

/**
 * Ask an ONNX Runtime worker to exit at its next safe point ('stop': a serving worker finishes its run and releases its
 * session; a spare finishes its warm-up first), and terminate it only if it has not exited after `graceMs`.
 * terminate() while the thread is inside onnxruntime's native code (a run, a session being created, the library
 * loading) can abort the whole process: seen as a server killed by a signal when it stopped right after a load.
 */
export async function stopWorker(worker: Worker, graceMs = 5000): Promise<void> {
  const exited = new Promise<boolean>((resolve) => worker.once('exit', () => resolve(true)));
  worker.postMessage({ type: 'stop' } satisfies ToWorker);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const stopped = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (!stopped) await worker.terminate();
}
