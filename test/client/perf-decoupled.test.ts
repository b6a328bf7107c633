/** inference-perf --streaming on a decoupled model (the Python `repeat` example): responses counted per request. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePerfArgs, PerfOptions } from '../../client/perf/options';
import { runProfile } from '../../client/perf/profiler';
import { resultLine } from '../../client/perf/report';
import { PYTHON_EXAMPLES, Started, startServer } from '../python/helpers';

let server: Started;
let dir: string;

beforeAll(async () => {
  server = await startServer({ modelRepositories: [PYTHON_EXAMPLES], loadModels: ['repeat'] });
  expect(server.failedModels).toEqual([]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perf-decoupled-'));
}, 120_000);

afterAll(async () => {
  await server?.app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const options = (...args: string[]) =>
  parsePerfArgs(['-m', 'repeat', '-i', 'grpc', '-u', `127.0.0.1:${server.grpcPort}`, '-p', '300', '-r', '1', ...args]) as PerfOptions;

it('counts every response of a request and reports the latency to the first one', async () => {
  // IN of three elements: three responses per request (DELAY, optional, is left out).
  const file = path.join(dir, 'in.json');
  fs.writeFileSync(file, JSON.stringify({ data: [{ IN: [5, 6, 7] }] }));
  const [result] = await runProfile(options('--streaming', '--input-data', file, '--concurrency-range', '2'));
  expect(result.errors).toBe(0);
  expect(result.count).toBeGreaterThan(0);
  expect(result.responses).toBe(3 * result.count);
  expect(result.firstResponseLatency!.avg).toBeGreaterThan(0);
  expect(result.firstResponseLatency!.avg).toBeLessThanOrEqual(result.latency.avg);
  expect(resultLine(result)).toMatch(/Response count: \d+\n[\s\S]*first response latency: avg \d+ usec/);
}, 60_000);

it('refuses a decoupled model without --streaming', async () => {
  await expect(runProfile(options())).rejects.toThrow("model 'repeat' is decoupled: profile it over gRPC with --streaming");
});
