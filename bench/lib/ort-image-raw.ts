/**
 * Raw onnxruntime-node on an image model, in its own process (the baseline of bench/resnet.ts):
 *  - load: InferenceSession.create of the file (onnxruntime-node already required), seconds;
 *  - run: session.run on one image in a loop on this thread, batch 1, `threads` intra-op threads, no spinning (the
 *    server's session options), for `seconds` after `warmup` seconds: images/s and process CPU µs per image.
 * Prints one JSON line. Usage: node dist/bench/lib/ort-image-raw.js <model.onnx> <threads> <seconds> <warmup>
 */
import * as ort from 'onnxruntime-node';
import { RESNET18_INPUT_SHAPE, resnet18Input } from './resnet18';

export interface OrtImageRawResult {
  readonly loadSeconds: number;
  readonly imagesPerSecond: number;
  readonly cpuUsPerImage: number;
}

async function main(): Promise<void> {
  const [modelPath, threads, seconds, warmup] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const image = resnet18Input();
  const dims = [1, ...RESNET18_INPUT_SHAPE];
  const runFor = async (s: number): Promise<{ images: number; wallS: number; cpuUs: number }> => {
    const cpu = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(Math.round(s * 1e9));
    let images = 0;
    while (process.hrtime.bigint() < end) {
      // A fresh tensor per call, as a backend builds one per request.
      await session.run({ INPUT0: new ort.Tensor('float32', image, dims) });
      images += 1;
    }
    const used = process.cpuUsage(cpu);
    return { images, wallS: Number(process.hrtime.bigint() - t0) / 1e9, cpuUs: used.user + used.system };
  };
  await runFor(Number(warmup));
  const measured = await runFor(Number(seconds));
  const result: OrtImageRawResult = {
    loadSeconds,
    imagesPerSecond: measured.images / measured.wallS,
    cpuUsPerImage: measured.cpuUs / measured.images,
  };
  await session.release();
  console.log(JSON.stringify(result));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
