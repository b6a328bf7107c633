/**
 * Python backend overhead: the per-request cost of the Python path (stub process, /dev/shm tensors, control socket,
 * numpy) over the ONNX path (worker thread, onnxruntime-node), on the same trivial model, in one run.
 *
 * Both models compute add_sub on FP32 [1, 4] (OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1), one instance,
 * max_batch_size 8, no dynamic batching (every request is its own execution):
 *  - onnx:   examples/model_repository/add_sub_autocomplete/1/model.onnx, platform onnxruntime_onnx;
 *  - python: examples/python_models/add_sub/1/model.py (numpy), backend python.
 * Measured, rows interleaved over --rounds (median round reported):
 *  A. in process, through the core facade (service.infer: scheduler + backend, no HTTP): sequential requests, latency
 *     per request (mean, p50, p99) and, with --in-flight requests outstanding, requests/s;
 *  B. end to end over HTTP: `node dist/server/main.js` as a child, wrk (or autocannon) with 1 connection (latency) and
 *     --connections (throughput); CPU µs per request of the server process plus its stub processes.
 * The Python overhead per request is python − onnx (latency) and the CPU difference.
 *
 * Run: npm run bench:python [-- --requests=3000 --in-flight=8 --rounds=3 --connections=8 --duration=5 --warmup=1
 *                               --tool=wrk|autocannon --skip-http]
 * Needs `npm run build` (the npm script does it) and python3 with numpy (or --python=/path/to/python3).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { createInferenceServer, InferenceServerApp } from '../server/app';
import type { InferRequest } from '../server/core/types';
import { chooseLoadTool, LoadResult, LoadTool, runLoad } from './lib/loadgen';
import { describeMachine, machineInfo } from './lib/machine';
import { freePort, httpRequest, processCpuSeconds, benchPaths, startServerChild } from './lib/processes';
import type { BenchRequest } from './lib/simple-requests';
import { benchArgs } from './lib/args';

const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();
const MODELS = ['onnx', 'python'] as const;
type ModelKind = (typeof MODELS)[number];
const MODEL_NAME: Record<ModelKind, string> = { onnx: 'trivial_onnx', python: 'trivial_python' };

interface Args {
  requests: number;
  inFlight: number;
  rounds: number;
  connections: number;
  duration: number;
  warmup: number;
  tool?: string;
  python?: string;
  skipHttp: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { requests: 3000, inFlight: 8, rounds: 3, connections: 8, duration: 5, warmup: 1, skipHttp: false };
  for (const { key, value, number } of benchArgs(argv, { positive: true })) {
    if (key === 'requests') args.requests = number();
    else if (key === 'in-flight') args.inFlight = number();
    else if (key === 'rounds') args.rounds = number();
    else if (key === 'connections') args.connections = number();
    else if (key === 'duration') args.duration = number();
    else if (key === 'warmup') args.warmup = number();
    else if (key === 'tool') args.tool = value;
    else if (key === 'python') args.python = value;
    else if (key === 'skip-http') args.skipHttp = true;
    else throw new Error(`unknown option --${key}`);
  }
  return args;
}

function pythonWithNumpy(requested?: string): string {
  for (const candidate of requested ? [requested] : ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  throw new Error('no python3 with numpy found (apt-get install -y python3-numpy, or --python=/path/to/python3)');
}

const IO = `input [
  { name: "INPUT0", data_type: TYPE_FP32, dims: [ 4 ] },
  { name: "INPUT1", data_type: TYPE_FP32, dims: [ 4 ] }
]
output [
  { name: "OUTPUT0", data_type: TYPE_FP32, dims: [ 4 ] },
  { name: "OUTPUT1", data_type: TYPE_FP32, dims: [ 4 ] }
]
instance_group [ { count: 1, kind: KIND_CPU } ]
max_batch_size: 8
`;

/** A scratch repository with the two models, configured identically but for the backend. */
function buildRepository(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-python-'));
  const onnx = path.join(dir, MODEL_NAME.onnx);
  fs.mkdirSync(path.join(onnx, '1'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'examples/model_repository/add_sub_autocomplete/1/model.onnx'), path.join(onnx, '1', 'model.onnx'));
  fs.writeFileSync(path.join(onnx, 'config.pbtxt'), `name: "${MODEL_NAME.onnx}"\nplatform: "onnxruntime_onnx"\n${IO}`);
  const python = path.join(dir, MODEL_NAME.python);
  fs.mkdirSync(path.join(python, '1'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'examples/python_models/add_sub/1/model.py'), path.join(python, '1', 'model.py'));
  fs.writeFileSync(path.join(python, 'config.pbtxt'), `name: "${MODEL_NAME.python}"\nbackend: "python"\n${IO}`);
  return dir;
}

function request(model: ModelKind): InferRequest {
  return {
    model: MODEL_NAME[model],
    inputs: [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: new Float32Array([0.5, 0.5, 0.5, 0.5]) },
    ],
  } as InferRequest;
}

function httpBody(model: ModelKind): BenchRequest {
  const body = JSON.stringify({
    inputs: [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [0.5, 0.5, 0.5, 0.5] },
    ],
  });
  return { method: 'POST', path: `/v2/models/${MODEL_NAME[model]}/infer`, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface InProcessRow {
  meanUs: number;
  p50Us: number;
  p99Us: number;
  rps: number;
}

async function inProcessRound(app: InferenceServerApp, model: ModelKind, args: Args): Promise<InProcessRow> {
  const latencies: number[] = [];
  for (let i = 0; i < args.requests; i++) {
    const started = process.hrtime.bigint();
    await app.service.infer(request(model));
    latencies.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < args.requests) {
      next += 1;
      await app.service.infer(request(model));
    }
  };
  await Promise.all(Array.from({ length: args.inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    meanUs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
    rps: args.requests / seconds,
  };
}

/** CPU seconds of a process and its direct children (the server and its Python stubs). */
function treeCpuSeconds(pid: number): number {
  let total = processCpuSeconds(pid) ?? 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) total += processCpuSeconds(Number(entry)) ?? 0;
    } catch {
      // gone
    }
  }
  return total;
}

interface HttpRow {
  rps: number;
  p50Ms?: number;
  p99Ms?: number;
  cpuUsPerRequest: number;
  failures: number;
}

async function httpRound(tool: LoadTool, port: number, pid: number, model: ModelKind, connections: number, args: Args): Promise<HttpRow> {
  const settings = { connections, warmupSeconds: args.warmup, durationSeconds: args.duration, wrkThreads: 1 };
  await runLoad(tool, port, httpBody(model), settings, args.warmup, LIB);
  const cpuBefore = treeCpuSeconds(pid);
  const result: LoadResult = await runLoad(tool, port, httpBody(model), settings, args.duration, LIB);
  const cpu = treeCpuSeconds(pid) - cpuBefore;
  return {
    rps: result.requestsPerSecond,
    p50Ms: result.latencyP50Ms,
    p99Ms: result.latencyP99Ms,
    cpuUsPerRequest: result.requests > 0 ? (cpu * 1e6) / result.requests : NaN,
    failures: result.failures,
  };
}

function fmt(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const python = pythonWithNumpy(args.python);
  const numpyVersion = spawnSync(python, ['-c', 'import numpy, sys; print(sys.version.split()[0], numpy.__version__)'], { encoding: 'utf8' }).stdout.trim();
  const repository = buildRepository();
  const backendConfig = new Map([['python', { 'execution-env-path': python }]]);
  console.error(`machine: ${describeMachine(machine)}; python ${python} (${numpyVersion})`);

  // A. In process.
  const app = createInferenceServer({
    modelRepositories: [repository],
    allowHttp: false,
    allowGrpc: false,
    allowMetrics: false,
    backendConfig,
    logger: pino({ level: 'warn' }),
  });
  const started = await app.start();
  if (started.failedModels.length > 0) throw new Error(`models failed to load: ${started.failedModels.join(', ')}`);
  for (const model of MODELS) for (let i = 0; i < 300; i++) await app.service.infer(request(model)); // warm-up
  const inProcess: Record<ModelKind, InProcessRow[]> = { onnx: [], python: [] };
  for (let round = 0; round < args.rounds; round++) {
    for (const model of MODELS) inProcess[model].push(await inProcessRound(app, model, args));
  }
  await app.stop();

  // B. HTTP.
  const http: Record<string, HttpRow[]> = {};
  let tool: LoadTool | undefined;
  if (!args.skipHttp) {
    tool = chooseLoadTool(args.tool);
    const port = await freePort();
    const server = await startServerChild({
      name: 'server',
      script: SERVER_MAIN,
      args: [
        `--model-repository=${repository}`,
        `--http-port=${port}`,
        '--allow-grpc=false',
        '--allow-metrics=false',
        `--backend-config=python,execution-env-path=${python}`,
      ],
      port,
      readyPath: '/v2/health/ready',
      cwd: ROOT,
    });
    try {
      for (const model of MODELS) {
        const check = await httpRequest(port, 'POST', httpBody(model).path, httpBody(model).headers, httpBody(model).body, 5000);
        if (check.status !== 200) throw new Error(`${model}: ${check.status} ${check.body.toString()}`);
      }
      for (let round = 0; round < args.rounds; round++) {
        for (const connections of [1, args.connections]) {
          for (const model of MODELS) {
            const key = `${model}@${connections}`;
            (http[key] ??= []).push(await httpRound(tool, port, server.process.pid!, model, connections, args));
          }
        }
      }
    } finally {
      await server.stop();
    }
  }
  fs.rmSync(repository, { recursive: true, force: true });

  // Report (medians over rounds).
  const pick = (rows: InProcessRow[], key: keyof InProcessRow) => median(rows.map((r) => r[key]));
  const lines: string[] = [];
  lines.push(`Machine: ${describeMachine(machine)}. Python: \`${python}\` (Python ${numpyVersion.replace(' ', ', numpy ')}).`);
  lines.push('');
  lines.push(`### A. In process (core facade → scheduler → backend), ${args.requests} requests per row, median of ${args.rounds} rounds`);
  lines.push('');
  lines.push(`| path | mean µs/req (sequential) | p50 µs | p99 µs | req/s with ${args.inFlight} in flight |`);
  lines.push('|---|---:|---:|---:|---:|');
  for (const model of MODELS) {
    const rows = inProcess[model];
    lines.push(`| ${model} | ${fmt(pick(rows, 'meanUs'))} | ${fmt(pick(rows, 'p50Us'))} | ${fmt(pick(rows, 'p99Us'))} | ${fmt(pick(rows, 'rps'))} |`);
  }
  const overheadMean = pick(inProcess.python, 'meanUs') - pick(inProcess.onnx, 'meanUs');
  const overheadP50 = pick(inProcess.python, 'p50Us') - pick(inProcess.onnx, 'p50Us');
  lines.push('');
  lines.push(`Python overhead per request (in process): **${fmt(overheadMean)} µs** mean, ${fmt(overheadP50)} µs p50.`);
  if (tool) {
    lines.push('');
    lines.push(`### B. HTTP end to end (\`node dist/server/main.js\`, ${tool}, ${args.warmup} s warm-up + ${args.duration} s, median of ${args.rounds} rounds)`);
    lines.push('');
    lines.push('| path | connections | req/s | p50 ms | p99 ms | server + stub CPU µs/req | failures |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const connections of [1, args.connections]) {
      for (const model of MODELS) {
        const rows = http[`${model}@${connections}`];
        const m = (key: keyof HttpRow) => median(rows.map((r) => (r[key] as number | undefined) ?? NaN));
        lines.push(
          `| ${model} | ${connections} | ${fmt(m('rps'))} | ${fmt(m('p50Ms'), 2)} | ${fmt(m('p99Ms'), 2)} | ${fmt(m('cpuUsPerRequest'))} | ${rows.reduce((a, r) => a + r.failures, 0)} |`,
        );
      }
    }
    const cpu = (model: ModelKind) => median(http[`${model}@${args.connections}`].map((r) => r.cpuUsPerRequest));
    const p50 = (model: ModelKind) => median(http[`${model}@1`].map((r) => r.p50Ms ?? NaN));
    lines.push('');
    lines.push(
      `Python overhead per request (HTTP): **${fmt((p50('python') - p50('onnx')) * 1000)} µs** p50 latency at 1 connection, ` +
        `**${fmt(cpu('python') - cpu('onnx'))} µs** CPU at ${args.connections} connections.`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
