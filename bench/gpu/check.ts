/**
 * The GPU proof's on-machine part (bench/gpu-check.sh run starts it from the unpacked bundle).
 *
 *   node dist/bench/gpu/check.js run --model conv.onnx [--cpu-only] [--seconds 5] [--batch 8] [--concurrency 4] [--out DIR]
 *   node dist/bench/gpu/check.js probe <provider> <model.onnx> <batch>                 (one JSON line)
 *   node dist/bench/gpu/check.js raw <provider> <model.onnx> <batch> <seconds> <threads>   (one JSON line)
 *
 * Options of `run`: --cpu-threads N (every core) sets the intra-op threads of conv_cpu and of the raw CPU sessions.
 *
 * `run`:
 *  1. reports the machine: Node, nvidia-smi's GPUs, onnxruntime-node's listSupportedBackends();
 *  2. computes the reference output of the conv model on ORT's CPU provider;
 *  3. probes each GPU provider (cuda, then webgpu) in its own child process: can a session be made, and does its output
 *     equal the CPU output within tolerance? The first that passes is THE provider; every failure is reported verbatim;
 *  4. starts the server (dist/server/main.js) on a repository with conv_gpu (KIND_GPU, the provider's
 *     gpu_execution_accelerator) and conv_cpu (KIND_CPU), checks both answer the CPU reference within tolerance,
 *     scrapes /metrics for nv_gpu_* and nv_energy_consumption;
 *  5. (a) server throughput over a raw onnxruntime-node session on the same provider (same batch, same session
 *     options, interleaved twice), target >= 0.9;
 *  6. (b) GPU over CPU: raw sessions on the GPU provider and on the CPU provider with every core.
 * With --cpu-only (or no GPU provider working) the server part runs on the CPU so the whole path is still exercised,
 * and the summary says plainly that no GPU figure was measured. Writes gpu-check.json to --out (or $OUT) when given.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { freePort, HOST, httpRequest, runJsonChild, startServerChild, type ServerChild } from '../lib/processes';
import { CONV_CLASSES, CONV_INPUT_SHAPE, convFlopsPerImage, convInput, type ConvVariant, parseConvVariant } from './build-conv-model';
import { checkTorchModels, torchAvailability, writeTorchModels } from './torch-check';

export const GPU_PROVIDERS = ['cuda', 'webgpu'] as const;
export type GpuProvider = (typeof GPU_PROVIDERS)[number];
export type Provider = 'cpu' | GpuProvider;

/** |gpu - cpu| <= ATOL + RTOL * max|cpu|: FP32 convolutions on cuDNN (TF32 allowed) or WebGPU shaders. */
export const ATOL = 1e-3;
export const RTOL = 1e-2;

export interface Comparison {
  readonly maxAbsDiff: number;
  readonly maxAbsRef: number;
  readonly tolerance: number;
  readonly pass: boolean;
}

export function compareOutputs(actual: ArrayLike<number>, reference: ArrayLike<number>): Comparison {
  if (actual.length !== reference.length) {
    return { maxAbsDiff: Infinity, maxAbsRef: NaN, tolerance: NaN, pass: false };
  }
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < reference.length; i++) {
    const diff = Math.abs(actual[i] - reference[i]);
    maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
    maxAbsRef = Math.max(maxAbsRef, Math.abs(reference[i]));
  }
  const tolerance = ATOL + RTOL * maxAbsRef;
  return { maxAbsDiff, maxAbsRef, tolerance, pass: maxAbsDiff <= tolerance };
}

export function executionProviders(provider: Provider): ort.InferenceSession.SessionOptions['executionProviders'] {
  switch (provider) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return [{ name: 'cuda', deviceId: 0 }];
    case 'webgpu':
      return ['webgpu'];
  }
}

/** The options server/backends/onnxruntime/worker.ts gives its sessions. */
export function sessionOptions(provider: Provider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: executionProviders(provider),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

function inputTensor(batch: number, data = convInput(batch)): ort.Tensor {
  return new ort.Tensor('float32', data, [batch, ...CONV_INPUT_SHAPE]);
}

async function runModel(session: ort.InferenceSession, batch: number): Promise<Float32Array> {
  const result = await session.run({ INPUT0: inputTensor(batch) });
  return result.OUTPUT0.data as Float32Array;
}

// ------------------------------------------------------------------------------------------------ child commands

export interface ProbeResult {
  readonly provider: Provider;
  readonly ok: boolean;
  readonly error?: string;
  readonly sessionMs?: number;
  readonly firstRunMs?: number;
  readonly comparison?: Comparison;
}

async function probe(provider: Provider, modelPath: string, batch: number): Promise<ProbeResult> {
  const cpu = await ort.InferenceSession.create(modelPath, sessionOptions('cpu', os.availableParallelism()));
  const reference = await runModel(cpu, batch);
  await cpu.release();
  const started = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, 1));
  } catch (error) {
    return { provider, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const sessionMs = performance.now() - started;
  try {
    const runStarted = performance.now();
    const output = await runModel(session, batch);
    const firstRunMs = performance.now() - runStarted;
    const comparison = compareOutputs(output, reference);
    return {
      provider,
      ok: comparison.pass,
      sessionMs,
      firstRunMs,
      comparison,
      ...(comparison.pass ? {} : { error: `output differs from the CPU provider's beyond tolerance` }),
    };
  } catch (error) {
    return { provider, ok: false, sessionMs, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await session.release();
  }
}

export interface RawResult {
  readonly provider: Provider;
  readonly threads: number;
  readonly batch: number;
  readonly callsPerSec: number;
  readonly imagesPerSec: number;
  readonly meanMs: number;
}

/** A raw session.run loop, one call in flight, a fresh ort.Tensor per call (as the backend makes per request). */
async function raw(provider: Provider, modelPath: string, batch: number, seconds: number, threads: number): Promise<RawResult> {
  const session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, threads));
  const data = convInput(batch);
  const loop = async (ms: number, minCalls: number) => {
    let calls = 0;
    const end = performance.now() + ms;
    while (performance.now() < end || calls < minCalls) {
      await session.run({ INPUT0: inputTensor(batch, data) });
      calls += 1;
    }
    return calls;
  };
  await loop(Math.min(2000, seconds * 300), 3);
  const started = performance.now();
  const calls = await loop(seconds * 1000, 2);
  const elapsed = (performance.now() - started) / 1000;
  await session.release();
  return { provider, threads, batch, callsPerSec: calls / elapsed, imagesPerSec: (calls * batch) / elapsed, meanMs: (elapsed * 1000) / calls };
}

// ------------------------------------------------------------------------------------------------ server side

function configPbtxt(name: string, kind: 'KIND_GPU' | 'KIND_CPU', batch: number, provider: Provider, threads: number): string {
  const accelerators =
    kind === 'KIND_GPU' && provider !== 'cuda'
      ? `optimization {\n  execution_accelerators {\n    gpu_execution_accelerator [ { name: "${provider}" } ]\n  }\n}\n`
      : '';
  return (
    `name: "${name}"\nplatform: "onnxruntime_onnx"\nmax_batch_size: ${batch}\n` +
    `input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ ${CONV_INPUT_SHAPE.join(', ')} ] } ]\n` +
    `output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ ${CONV_CLASSES} ] } ]\n` +
    `instance_group [ { count: 1 kind: ${kind} } ]\n` +
    `parameters { key: "intra_op_thread_count" value: { string_value: "${threads}" } }\n` +
    accelerators
  );
}

/**
 * conv_gpu (KIND_GPU, naming `gpuProvider` as its accelerator unless it is cuda, the server's default) when
 * gpuProvider is given, and conv_cpu (KIND_CPU); they share one model file by hard link or copy.
 */
export function writeRepository(
  dir: string,
  modelPath: string,
  batch: number,
  gpuProvider: GpuProvider | undefined,
  cpuThreads: number,
): string[] {
  const device: Provider = gpuProvider ?? 'cpu';
  const models: Array<[string, 'KIND_GPU' | 'KIND_CPU', number]> = [['conv_cpu', 'KIND_CPU', cpuThreads]];
  if (gpuProvider) models.unshift(['conv_gpu', 'KIND_GPU', 1]);
  for (const [name, kind, threads] of models) {
    fs.mkdirSync(path.join(dir, name, '1'), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'config.pbtxt'), configPbtxt(name, kind, batch, device, threads));
    const target = path.join(dir, name, '1', 'model.onnx');
    fs.rmSync(target, { force: true });
    try {
      fs.linkSync(modelPath, target);
    } catch {
      fs.copyFileSync(modelPath, target);
    }
  }
  return models.map(([name]) => name);
}

/** The binary-extension request body for one batch, output asked for in binary too. */
export function inferBody(batch: number, data = convInput(batch)): { body: Buffer; headerLength: number } {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [batch, ...CONV_INPUT_SHAPE], datatype: 'FP32', parameters: { binary_data_size: bytes.length } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    }),
  );
  return { body: Buffer.concat([header, bytes]), headerLength: header.length };
}

/** OUTPUT0 of a binary-extension response. */
export function decodeOutput(headers: http.IncomingHttpHeaders, body: Buffer): Float32Array {
  const headerLength = Number(headers['inference-header-content-length'] ?? body.length);
  const json = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as {
    outputs: Array<{ name: string; data?: number[]; parameters?: { binary_data_size?: number } }>;
  };
  let offset = headerLength;
  for (const output of json.outputs) {
    const size = output.parameters?.binary_data_size;
    if (output.name === 'OUTPUT0') {
      if (size === undefined) return Float32Array.from(output.data ?? []);
      const copy = Buffer.from(body.subarray(offset, offset + size));
      return new Float32Array(copy.buffer, copy.byteOffset, size / 4);
    }
    offset += size ?? 0;
  }
  throw new Error('response has no OUTPUT0');
}

export interface ServerThroughput {
  readonly model: string;
  readonly concurrency: number;
  readonly batch: number;
  readonly callsPerSec: number;
  readonly imagesPerSec: number;
  readonly errors: number;
}

/** `concurrency` keep-alive connections, each sending the next request when its answer arrives. */
async function serverThroughput(port: number, model: string, batch: number, seconds: number, concurrency: number): Promise<ServerThroughput> {
  const { body, headerLength } = inferBody(batch);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const once = () =>
    new Promise<number>((resolve) => {
      const request = http.request(
        {
          host: HOST,
          port,
          method: 'POST',
          path: `/v2/models/${model}/infer`,
          agent,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(body.length),
            'inference-header-content-length': String(headerLength),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', () => resolve(0));
        },
      );
      request.on('error', () => resolve(0));
      request.end(body);
    });
  const loop = async (ms: number, minCalls: number) => {
    let calls = 0;
    let errors = 0;
    const end = performance.now() + ms;
    const lane = async () => {
      while (performance.now() < end || calls < minCalls) {
        const status = await once();
        if (status === 200) calls += 1;
        else if (++errors > 10) return;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return { calls, errors };
  };
  await loop(Math.min(2000, seconds * 300), concurrency);
  const started = performance.now();
  const { calls, errors } = await loop(seconds * 1000, 2);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { model, concurrency, batch, callsPerSec: calls / elapsed, imagesPerSec: (calls * batch) / elapsed, errors };
}

async function waitModelReady(port: number, model: string, timeoutMs: number): Promise<{ ready: boolean; reason?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await httpRequest(port, 'GET', `/v2/models/${model}/ready`).catch(() => undefined);
    if (ready?.status === 200) return { ready: true };
    const index = await httpRequest(port, 'POST', '/v2/repository/index', { 'content-type': 'application/json' }, Buffer.from('{}')).catch(
      () => undefined,
    );
    const entries = index?.status === 200 ? (JSON.parse(index.body.toString('utf8')) as Array<{ name: string; state?: string; reason?: string }>) : [];
    const entry = entries.find((e) => e.name === model);
    if (entry?.state === 'UNAVAILABLE' && entry.reason) return { ready: false, reason: entry.reason };
    if (Date.now() > deadline) return { ready: false, reason: `not ready after ${timeoutMs} ms (state ${entry?.state ?? 'unknown'})` };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// ------------------------------------------------------------------------------------------------ machine facts

function command(file: string, args: string[], timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout) => resolve(error ? undefined : stdout.trim()));
  });
}

async function machine(): Promise<Record<string, unknown>> {
  const gpus = await command('nvidia-smi', ['--query-gpu=index,name,uuid,driver_version,memory.total', '--format=csv,noheader']);
  const vulkan = await command('sh', ['-c', 'ldconfig -p | grep -m1 libvulkan.so.1; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"']);
  return {
    node: process.version,
    platform: `${os.platform()}/${os.arch()}`,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    gpus: gpus ? gpus.split('\n') : [],
    vulkan,
    vkDriverFiles: process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES,
    ortBackends: ort.listSupportedBackends(),
  };
}

// ------------------------------------------------------------------------------------------------ run

interface RunOptions {
  model: string;
  /** Which build-conv-model variant --model is (for the GFLOP figure in the report). */
  variant: ConvVariant;
  cpuOnly: boolean;
  seconds: number;
  batch: number;
  concurrency: number;
  /** intra-op threads of the CPU sessions (the server's conv_cpu, the raw CPU baselines); default: every core. */
  cpuThreads: number;
  out?: string;
  server: string;
  /** The torch_mlp example's model.py (torch_gpu/torch_cpu are served when python3 imports torch). */
  torchModel: string;
}

function parseRunOptions(argv: string[]): RunOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i >= 0) return argv[i + 1];
    return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  const distRoot = path.resolve(__dirname, '..', '..');
  const options: RunOptions = {
    model: path.resolve(value('--model') ?? 'conv.onnx'),
    variant: parseConvVariant(value('--variant')),
    cpuOnly: argv.includes('--cpu-only'),
    seconds: Number(value('--seconds') ?? 5),
    batch: Number(value('--batch') ?? 8),
    concurrency: Number(value('--concurrency') ?? 4),
    cpuThreads: Number(value('--cpu-threads') ?? os.availableParallelism()),
    out: value('--out') ?? process.env.OUT,
    server: path.resolve(value('--server') ?? path.join(distRoot, 'server', 'main.js')),
    torchModel: path.resolve(value('--torch-model') ?? path.join('models', 'torch_mlp', '1', 'model.py')),
  };
  for (const key of ['seconds', 'batch', 'concurrency', 'cpuThreads'] as const) {
    if (!(options[key] > 0)) throw new Error(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive number`);
  }
  return options;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));

async function run(options: RunOptions): Promise<number> {
  const self = __filename;
  const started = Date.now();
  const report: Record<string, unknown> = { startedAt: new Date(started).toISOString(), options };
  const facts = await machine();
  report.machine = facts;
  log(`== machine: node ${facts.node}, ${facts.platform}, ${facts.cpus} CPUs, GPUs: ${(facts.gpus as string[]).join(' | ') || 'none (nvidia-smi absent or failed)'}`);
  log(`   onnxruntime-node backends: ${JSON.stringify(facts.ortBackends)}`);
  log(`   model ${options.model}: ${options.variant}, ${(convFlopsPerImage(options.variant) / 1e9).toFixed(2)} GFLOP per image, batch ${options.batch}`);

  // Probes, each in its own process: a provider that crashes in native code takes only its probe down.
  const probes: ProbeResult[] = [];
  for (const provider of GPU_PROVIDERS) {
    let result: ProbeResult;
    try {
      result = await runJsonChild<ProbeResult>(self, ['probe', provider, options.model, String(options.batch)], process.cwd(), 300_000);
    } catch (error) {
      result = { provider, ok: false, error: (error instanceof Error ? error.message : String(error)).slice(-1500) };
    }
    probes.push(result);
    log(
      `== probe ${provider}: ${result.ok ? 'WORKS' : 'FAILED'}` +
        (result.comparison ? `, max |diff| ${result.comparison.maxAbsDiff.toExponential(2)} (tolerance ${result.comparison.tolerance.toExponential(2)})` : '') +
        (result.sessionMs !== undefined ? `, session ${fmt(result.sessionMs, 0)} ms` : '') +
        (result.error ? `\n   ${result.error.split('\n').slice(0, 6).join('\n   ')}` : ''),
    );
    if (result.ok && !options.cpuOnly) break;
  }
  report.probes = probes;
  const failures: string[] = [];
  const working = GPU_PROVIDERS.find((provider) => probes.some((p) => p.ok && p.provider === provider));
  // Without --cpu-only the server always gets a KIND_GPU model: with no working provider it names cuda (the server's
  // default) and its load failure, with the server's reason, is part of the report.
  const gpuProvider = options.cpuOnly ? undefined : (working ?? 'cuda');
  const device: Provider = gpuProvider ?? 'cpu';
  report.provider = working ?? null;
  report.device = device;
  if (options.cpuOnly) log('== --cpu-only: the server part runs on the CPU provider; no GPU figure is measured');
  else if (!working) {
    failures.push('no GPU provider worked (cuda, webgpu)');
    log('== NO GPU PROVIDER WORKED: conv_gpu (KIND_GPU) is still loaded to record the server\'s reason; no GPU figure is measured');
  } else log(`== GPU provider in use: ${working}`);

  const cpuThreads = options.cpuThreads;
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-check-repo-'));
  const models = writeRepository(repo, options.model, options.batch, gpuProvider, cpuThreads);
  // The Python backend on the GPU: PyTorch in the model's stub process.
  const torch = fs.existsSync(options.torchModel) ? torchAvailability() : { ok: false, error: `no ${options.torchModel}` };
  report.torchAvailability = torch;
  const torchModels = torch.ok ? writeTorchModels(repo, options.torchModel, !options.cpuOnly) : [];
  log(`== python3 + torch: ${torch.ok ? `torch ${torch.torch}, CUDA ${torch.cuda ? 'available' : 'NOT available'}` : `not usable (${torch.error}): torch models skipped`}`);
  const deviceModel = gpuProvider ? 'conv_gpu' : 'conv_cpu';
  const [httpPort, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  let server: ServerChild | undefined;
  try {
    server = await startServerChild({
      name: 'inference-server',
      script: options.server,
      args: [
        `--model-repository=${repo}`,
        `--http-port=${httpPort}`,
        `--grpc-port=${grpcPort}`,
        `--metrics-port=${metricsPort}`,
        '--exit-on-error=false',
        '--strict-readiness=false',
        '--metrics-interval-ms=500',
      ],
      port: httpPort,
      readyPath: '/v2/health/live',
      cwd: process.cwd(),
      readyTimeoutMs: 120_000,
      // info: the torch models log the device they loaded on.
      env: { LOG_LEVEL: 'info' },
    });
    const reference = await (async () => {
      const cpu = await ort.InferenceSession.create(options.model, sessionOptions('cpu', cpuThreads));
      const out = await runModel(cpu, options.batch);
      await cpu.release();
      return out;
    })();

    const correctness: Record<string, unknown> = {};
    for (const model of models) {
      const state = await waitModelReady(httpPort, model, 180_000);
      if (!state.ready) {
        correctness[model] = { ready: false, reason: state.reason };
        failures.push(`${model} did not load: ${state.reason}`);
        log(`== server ${model}: NOT READY: ${state.reason}`);
        continue;
      }
      const { body, headerLength } = inferBody(options.batch);
      const response = await httpRequest(
        httpPort,
        'POST',
        `/v2/models/${model}/infer`,
        { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
        body,
        120_000,
      );
      if (response.status !== 200) {
        correctness[model] = { ready: true, status: response.status, error: response.body.toString('utf8').slice(0, 500) };
        failures.push(`${model} infer answered ${response.status}`);
        log(`== server ${model}: infer answered ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`);
        continue;
      }
      const comparison = compareOutputs(decodeOutput(response.headers, response.body), reference);
      correctness[model] = { ready: true, ...comparison };
      if (!comparison.pass) failures.push(`${model} output differs from the CPU reference`);
      log(
        `== server ${model}: output vs CPU reference ${comparison.pass ? 'EQUAL' : 'DIFFERENT'} within tolerance ` +
          `(max |diff| ${comparison.maxAbsDiff.toExponential(2)}, tolerance ${comparison.tolerance.toExponential(2)})`,
      );
    }
    report.correctness = correctness;
    if (torchModels.length > 0) {
      for (const model of torchModels) {
        const state = await waitModelReady(httpPort, model, 300_000);
        if (!state.ready) failures.push(`${model} did not load: ${state.reason}`);
      }
      const torchResult = await checkTorchModels(httpPort, torchModels, () => server!.output());
      report.torch = torchResult;
      failures.push(...torchResult.errors);
      log(
        `== server ${torchModels.join(', ')} (Python backend, PyTorch): devices ${torchResult.devices.join(', ') || 'not logged'}` +
          (torchResult.comparison
            ? `, torch_gpu vs torch_cpu ${torchResult.comparison.pass ? 'EQUAL' : 'DIFFERENT'} (max |diff| ${torchResult.comparison.maxAbsDiff.toExponential(2)})`
            : '') +
          (torchResult.errors.length ? `\n   ${torchResult.errors.join('\n   ')}` : ''),
      );
    }

    // (a) server over raw on the same provider, interleaved twice.
    const deviceThreads = device === 'cpu' ? cpuThreads : 1;
    const ready = (correctness[deviceModel] as { pass?: boolean } | undefined)?.pass === true;
    if (ready) {
      const serverRuns: ServerThroughput[] = [];
      const rawRuns: RawResult[] = [];
      for (let round = 0; round < 2; round++) {
        serverRuns.push(await serverThroughput(httpPort, deviceModel, options.batch, options.seconds, options.concurrency));
        rawRuns.push(
          await runJsonChild<RawResult>(
            self,
            ['raw', device, options.model, String(options.batch), String(options.seconds), String(deviceThreads)],
            process.cwd(),
            (options.seconds * 4 + 240) * 1000,
          ),
        );
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const serverRate = mean(serverRuns.map((r) => r.callsPerSec));
      const rawRate = mean(rawRuns.map((r) => r.callsPerSec));
      report.serverOverRaw = { provider: device, ratio: serverRate / rawRate, serverRuns, rawRuns };
      log(
        `== (a) server over raw onnxruntime-node, provider ${device}, batch ${options.batch}, ${options.concurrency} in flight: ` +
          `${fmt(serverRate, 2)} / ${fmt(rawRate, 2)} calls/s = ${fmt(serverRate / rawRate, 3)} (target >= 0.9)` +
          (device === 'cpu' ? '  [CPU provider: not the GPU figure]' : ''),
      );
    } else {
      log(`== (a) server over raw: not measured (${deviceModel} did not answer correctly)`);
    }

    // GPU metrics after the load above.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const metrics = await httpRequest(metricsPort, 'GET', '/metrics').catch(() => undefined);
    const lines = metrics?.body.toString('utf8').split('\n') ?? [];
    const gpuLines = lines.filter((l) => /^nv_(gpu_|energy_consumption)/.test(l));
    const countLines = lines.filter((l) => l.startsWith('nv_inference_count{') || l.startsWith('nv_inference_exec_count{'));
    report.metrics = { gpu: gpuLines, counts: countLines };
    log(`== metrics: ${gpuLines.length} nv_gpu_*/nv_energy_consumption series${gpuLines.length === 0 ? ' (none: no GPU visible to nvidia-smi)' : ''}`);
    for (const line of [...gpuLines, ...countLines]) log(`   ${line}`);
    if (device !== 'cpu' && (facts.gpus as string[]).length > 0 && gpuLines.length === 0) failures.push('no nv_gpu_* metrics on a GPU machine');
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
    log(`== server part failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await server?.stop();
    fs.rmSync(repo, { recursive: true, force: true });
  }

  // (b) GPU over CPU, raw sessions, after the server has let go of the GPU.
  if (working && !options.cpuOnly) {
    try {
      const gpu = await runJsonChild<RawResult>(self, ['raw', device, options.model, String(options.batch), String(options.seconds), '1'], process.cwd(), 600_000);
      const cpu = await runJsonChild<RawResult>(
        self,
        ['raw', 'cpu', options.model, String(options.batch), String(options.seconds), String(cpuThreads)],
        process.cwd(),
        600_000,
      );
      report.gpuOverCpu = { provider: device, ratio: gpu.imagesPerSec / cpu.imagesPerSec, gpu, cpu };
      log(
        `== (b) GPU (${device}) over CPU (${cpuThreads} threads), conv model batch ${options.batch}: ` +
          `${fmt(gpu.imagesPerSec)} / ${fmt(cpu.imagesPerSec)} images/s = ${fmt(gpu.imagesPerSec / cpu.imagesPerSec, 2)}x`,
      );
    } catch (error) {
      failures.push(`(b) failed: ${error instanceof Error ? error.message : String(error)}`);
      log(`== (b) failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    log(`== (b) GPU over CPU: not measured (${options.cpuOnly ? '--cpu-only' : 'no GPU provider worked'})`);
  }

  report.failures = failures;
  report.seconds = (Date.now() - started) / 1000;
  const verdict = failures.length > 0 ? 'FAIL' : device === 'cpu' ? 'PASS (CPU path only, no GPU figure)' : `PASS on ${device}`;
  report.verdict = verdict;
  log(`== verdict: ${verdict}${failures.length ? `\n   ${failures.join('\n   ')}` : ''}`);
  if (options.out) {
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(path.join(options.out, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);
  }
  return failures.length > 0 ? 1 : 0;
}

function parseProvider(name: string | undefined): Provider {
  if (name === 'cpu' || name === 'cuda' || name === 'webgpu') return name;
  throw new Error(`unknown provider '${name}' (cpu, cuda, webgpu)`);
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'probe') {
    const result = await probe(parseProvider(rest[0]), path.resolve(rest[1]), Number(rest[2] ?? 8));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  if (verb === 'raw') {
    const result = await raw(parseProvider(rest[0]), path.resolve(rest[1]), Number(rest[2]), Number(rest[3]), Number(rest[4]));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  if (verb === 'run') return run(parseRunOptions(rest));
  throw new Error('usage: check.js run|probe|raw ...');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`);
      process.exit(2);
    },
  );
}
