/**
 * Response cache benchmark: latency of a cache hit vs a miss for `mlp` (784 → 10, batch 1), side by side in one run.
 *
 * In process (the facade, no frontends), on a scratch copy of examples/model_repository where `mlp` has
 * `response_cache { enable: true }` and `mlp_plain` is the same model without it, on a server with a 64 MiB local cache:
 *  - uncached: `mlp_plain`, the same request every time (it always runs);
 *  - miss: `mlp`, a new input each time (lookup + run + insert);
 *  - hit: `mlp`, one input that is already cached (lookup only, no scheduler).
 * Rows are interleaved over rounds and the median round is reported. Needs `npm run build` (the npm script does it).
 *
 * Run: npm run bench:cache [-- --requests=2000 --rounds=3]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInferenceServer } from '../server/app';
import type { InferRequest } from '../server/core/types';
import { describeMachine, machineInfo } from './lib/machine';
import { repoRoot } from './lib/processes';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.split('=')[1]) : fallback;
}

function scratchRepository(): string {
  const examples = path.join(repoRoot(), 'examples', 'model_repository');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cache-'));
  fs.cpSync(path.join(examples, 'mlp'), path.join(dir, 'mlp'), { recursive: true });
  fs.cpSync(path.join(examples, 'mlp'), path.join(dir, 'mlp_plain'), { recursive: true });
  fs.appendFileSync(path.join(dir, 'mlp', 'config.pbtxt'), '\nresponse_cache { enable: true }\n');
  const plain = path.join(dir, 'mlp_plain', 'config.pbtxt');
  fs.writeFileSync(plain, fs.readFileSync(plain, 'utf8').replace('name: "mlp"', 'name: "mlp_plain"'));
  return dir;
}

/** A distinct input per seed (seeds are exact in float32 up to 2^24). */
const request = (model: string, seed: number): InferRequest => ({
  model,
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 784], data: Float32Array.from({ length: 784 }, (_, i) => ((i * 31) % 97) / 97 + (i === 0 ? seed : 0)) }],
});

async function main(): Promise<void> {
  const requests = option('requests', 2000);
  const rounds = option('rounds', 3);
  const machine = machineInfo();
  const app = createInferenceServer({
    modelRepositories: [scratchRepository()],
    allowHttp: false,
    allowGrpc: false,
    allowMetrics: false,
    responseCache: { implementation: 'local', byteSize: 64 << 20 },
  });
  await app.start();
  const service = app.service;
  let seed = 1;
  const hitRequest = request('mlp', 0);
  await service.infer(hitRequest);
  const rows: Record<string, () => InferRequest> = {
    uncached: () => request('mlp_plain', 0),
    miss: () => request('mlp', seed++),
    hit: () => hitRequest,
  };
  const results: Record<string, number[]> = { uncached: [], miss: [], hit: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, make] of Object.entries(rows)) {
      for (let i = 0; i < 50; i++) await service.infer(make()); // warm-up
      const started = process.hrtime.bigint();
      for (let i = 0; i < requests; i++) await service.infer(make());
      results[name].push(Number(process.hrtime.bigint() - started) / 1e3 / requests);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const us = Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values)]));
  const stats = app.service.modelStatistics('mlp')[0].inference_stats;
  console.log(`machine: ${describeMachine(machine)}`);
  console.log(`${requests} sequential requests per row, ${rounds} rounds, median round (µs per request, in process)`);
  for (const name of Object.keys(rows)) console.log(`  ${name.padEnd(9)} ${us[name].toFixed(1)} µs`);
  console.log(`hit / miss latency: ${(us.hit / us.miss).toFixed(3)}×; hit / uncached: ${(us.hit / us.uncached).toFixed(3)}×; miss / uncached: ${(us.miss / us.uncached).toFixed(3)}×`);
  console.log(`mlp statistics: cache_hit ${stats.cache_hit.count} (avg ${(stats.cache_hit.ns / stats.cache_hit.count / 1e3).toFixed(1)} µs), cache_miss ${stats.cache_miss.count} (avg ${(stats.cache_miss.ns / stats.cache_miss.count / 1e3).toFixed(1)} µs)`);
  await app.stop();
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
