/**
 * A real-sized model through the server vs raw onnxruntime-node (issue 18): a ResNet-18-shaped network
 * (bench/lib/resnet18.ts, random weights), batch 1, the same intra-op thread count on both sides.
 *
 *   npm run bench:resnet [-- --threads=2 --clients=2 --warmup=2 --duration=8 --rounds=3 --profile --compare=<dist>
 *                            --header-pad=1 --image-env]
 *
 * Rows, interleaved round after round, each its own child process on 127.0.0.1:
 *  - raw: session.run in a loop on one thread (bench/lib/ort-image-raw.ts): images/s, CPU µs per image;
 *  - server: `node dist/server/main.js` on a scratch repository holding the model, `--clients` keep-alive
 *    connections sending Triton's binary tensor extension (602 KB per image, binary output) from this process,
 *    whose own CPU per image (the clients) is printed too, and the CPU ceiling: raw CPU/img over server + clients;
 *    per thread of the server, CPU µs per image and of it the kernel's (sys);
 *  - compare (with --compare=<dist folder of another build>): the same for that build's server.
 * Load time: the server's nv_model_load_duration_secs vs raw InferenceSession.create of the same file, per round.
 * --profile: the server again under --cpu-prof for one measured window; self time per layer and thread.
 * --header-pad=N: N spaces before the request's JSON header (176 bytes otherwise, a multiple of 4 by chance), as
 * clients whose JSON has another length send it: the image's bytes then start off a 4-byte boundary in the body.
 * --image-env: raw and server children both run with the memory settings of the Dockerfile's ENV (MALLOC_* and
 * NODE_OPTIONS, bench/lib/image-env.ts), as the container runs the server; without it, with glibc's defaults.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchArgs } from './lib/args';
import { profileTables, summariseProfile } from './lib/cpuprofile';
import { imageMemoryEnv } from './lib/image-env';
import { describeMachine, machineInfo } from './lib/machine';
import { benchPaths, freePort, HOST, httpRequest, processCpuSeconds, requireBuilt, runJsonChild, ServerChild, startServerChild } from './lib/processes';
import { threadCpu, threadCpuDelta } from './lib/threads';
import type { OrtImageRawResult } from './lib/ort-image-raw';
import { buildResnet18, RESNET18_CLASSES, RESNET18_INPUT_SHAPE, resnet18Input } from './lib/resnet18';

const TARGET_THROUGHPUT = 0.95;
const TARGET_LOAD = 1.2;
const MODEL = 'resnet18';
const INFER_PATH = `/v2/models/${MODEL}/infer`;
const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();

interface Args {
  threads: number;
  clients: number;
  warmup: number;
  duration: number;
  rounds: number;
  profile: boolean;
  compare?: string;
  /** Spaces before the JSON header (0: none). */
  headerPad: number;
  /** Environment of every child: the image's memory settings with --image-env, else none. */
  env: Record<string, string>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { threads: 2, clients: 2, warmup: 2, duration: 8, rounds: 3, profile: false, headerPad: 0, env: {} };
  for (const { arg, key, value, number } of benchArgs(argv, { positive: true })) {
    if (key === 'threads') args.threads = number();
    else if (key === 'clients') args.clients = number();
    else if (key === 'warmup') args.warmup = number();
    else if (key === 'duration') args.duration = number();
    else if (key === 'rounds') args.rounds = number();
    else if (key === 'profile') args.profile = true;
    else if (key === 'compare') args.compare = path.resolve(value);
    else if (key === 'header-pad') args.headerPad = Math.floor(number());
    else if (key === 'image-env') args.env = imageMemoryEnv(ROOT);
    else throw new Error(`unknown option ${arg}`);
  }
  return args;
}

const log = (line: string) => console.error(line);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function writeRepository(threads: number): { repository: string; modelFile: string } {
  const repository = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-resnet-'));
  const dir = path.join(repository, MODEL);
  fs.mkdirSync(path.join(dir, '1'), { recursive: true });
  const modelFile = path.join(dir, '1', 'model.onnx');
  fs.writeFileSync(modelFile, buildResnet18());
  fs.writeFileSync(
    path.join(dir, 'config.pbtxt'),
    [
      `name: "${MODEL}"`,
      'platform: "onnxruntime_onnx"',
      'max_batch_size: 8',
      `input [{ name: "INPUT0" data_type: TYPE_FP32 dims: [${RESNET18_INPUT_SHAPE.join(', ')}] }]`,
      `output [{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [${RESNET18_CLASSES}] }]`,
      'instance_group [{ count: 1 kind: KIND_CPU }]',
      `parameters { key: "intra_op_thread_count" value: { string_value: "${threads}" } }`,
      '',
    ].join('\n'),
  );
  return { repository, modelFile };
}

/** Triton's binary tensor extension: a JSON header, then the image's raw little-endian FP32 bytes. */
function binaryBody(headerPad: number): { body: Buffer; headerLength: number } {
  const image = resnet18Input();
  const header = Buffer.from(
    ' '.repeat(headerPad) +
    JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, ...RESNET18_INPUT_SHAPE], parameters: { binary_data_size: image.byteLength } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    }),
  );
  return { body: Buffer.concat([header, Buffer.from(image.buffer, image.byteOffset, image.byteLength)]), headerLength: header.length };
}

async function startServer(
  repository: string,
  script: string,
  name: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<{ child: ServerChild; metricsPort: number }> {
  const port = await freePort();
  const metricsPort = await freePort();
  const args = [`--model-repository=${repository}`, `--http-port=${port}`, '--grpc-port=0', `--metrics-port=${metricsPort}`, `--host=${HOST}`];
  const child = await startServerChild({ name, nodeArgs, script, args, port, readyPath: '/v2/health/ready', cwd: ROOT, readyTimeoutMs: 120_000, env });
  return { child, metricsPort };
}

async function loadSeconds(metricsPort: number): Promise<number> {
  const text = (await httpRequest(metricsPort, 'GET', '/metrics')).body.toString('utf8');
  const match = new RegExp(`^nv_model_load_duration_secs\\{model="${MODEL}",version="1"\\} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error('no nv_model_load_duration_secs for the model in /metrics');
  return Number(match[1]);
}

/** `clients` closed-loop keep-alive connections sending the body for `seconds`; responses counted, checked by status. */
async function drive(port: number, body: Buffer, headerLength: number, clients: number, seconds: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: HOST, port, method: 'POST', path: INFER_PATH, agent,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'inference-header-content-length': String(headerLength) },
        },
        (response) => {
          response.on('data', () => undefined);
          response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        await one();
        done += 1;
      }
    }),
  );
  agent.destroy();
  return done;
}

interface Row {
  /** Per thread of the server, µs per image: `name/tid` → µs (the busiest few). */
  threads?: string;
  /** CPU µs per image of this bench process, the clients (server rows): it shares the 2 cores with the server. */
  clientCpuUsPerImage?: number;
  imagesPerSecond: number;
  cpuUsPerImage: number;
  loadSeconds: number;
}

/**
 * The img/s ratio the server could reach if raw and server both kept every core busy: raw CPU per image over the
 * server's plus its clients' (all on the same cores). On 2 cores with ORT on 2 threads this, not latency, is the limit.
 */
function cpuCeiling(raw: Row, server: Row): number {
  return raw.cpuUsPerImage / (server.cpuUsPerImage + (server.clientCpuUsPerImage ?? 0));
}

async function measureServer(repository: string, script: string, name: string, args: Args, body: Buffer, headerLength: number, nodeArgs: string[] = []): Promise<Row> {
  const { child, metricsPort } = await startServer(repository, script, name, args.env, nodeArgs);
  try {
    const check = await httpRequest(child.port, 'POST', INFER_PATH, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) }, body, 30_000);
    if (check.status !== 200) throw new Error(`${name}: infer answered ${check.status}: ${check.body.toString('utf8', 0, 300)}`);
    const load = await loadSeconds(metricsPort);
    await drive(child.port, body, headerLength, args.clients, args.warmup);
    const cpuBefore = processCpuSeconds(child.process.pid!) ?? NaN;
    const threadsBefore = threadCpu(child.process.pid!);
    const clientBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const images = await drive(child.port, body, headerLength, args.clients, args.duration);
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    const client = process.cpuUsage(clientBefore);
    const cpuS = (processCpuSeconds(child.process.pid!) ?? NaN) - cpuBefore;
    const threads = threadCpuDelta(threadsBefore, threadCpu(child.process.pid!))
      .slice(0, 5)
      .map((t) => `${t.tid === child.process.pid ? 'event loop' : t.name} ${((t.seconds * 1e6) / images).toFixed(0)} (sys ${((t.systemSeconds * 1e6) / images).toFixed(0)})`)
      .join(', ');
    const clientCpuUsPerImage = (client.user + client.system) / images;
    return { threads, clientCpuUsPerImage, imagesPerSecond: images / wallS, cpuUsPerImage: (cpuS * 1e6) / images, loadSeconds: load };
  } finally {
    await child.stop();
  }
}

async function measureRaw(modelFile: string, args: Args): Promise<Row> {
  const timeoutMs = (args.warmup + args.duration + 60) * 1000;
  const raw = await runJsonChild<OrtImageRawResult>(
    path.join(LIB, 'ort-image-raw.js'), [modelFile, String(args.threads), String(args.duration), String(args.warmup)], ROOT, timeoutMs, args.env,
  );
  return { imagesPerSecond: raw.imagesPerSecond, cpuUsPerImage: raw.cpuUsPerImage, loadSeconds: raw.loadSeconds };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  requireBuilt([SERVER_MAIN, path.join(LIB, 'ort-image-raw.js')], 'bench:resnet');
  log(`Machine: ${describeMachine(machineInfo())}`);
  if (Object.keys(args.env).length > 0) log(`Environment of every child (--image-env): ${Object.entries(args.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const { repository, modelFile } = writeRepository(args.threads);
  const { body, headerLength } = binaryBody(args.headerPad);
  log(`Model: ResNet-18 shape, ${(fs.statSync(modelFile).size / 1e6).toFixed(1)} MB; batch 1, intra-op ${args.threads} threads; request ${body.length} bytes (binary extension, JSON header ${headerLength} bytes); ${args.clients} clients; ${args.warmup} s warm-up + ${args.duration} s, ${args.rounds} rounds`);
  const rows: Record<string, Row[]> = { raw: [], server: [] };
  if (args.compare) rows.compare = [];
  try {
    for (let round = 1; round <= args.rounds; round++) {
      const raw = await measureRaw(modelFile, args);
      rows.raw.push(raw);
      const server = await measureServer(repository, SERVER_MAIN, 'server', args, body, headerLength);
      rows.server.push(server);
      let line = `round ${round}: raw ${raw.imagesPerSecond.toFixed(1)} img/s (${raw.cpuUsPerImage.toFixed(0)} µs CPU/img, load ${raw.loadSeconds.toFixed(3)} s); server ${server.imagesPerSecond.toFixed(1)} img/s (${server.cpuUsPerImage.toFixed(0)} µs + clients ${server.clientCpuUsPerImage!.toFixed(0)} µs, load ${server.loadSeconds.toFixed(3)} s) = ${(server.imagesPerSecond / raw.imagesPerSecond).toFixed(3)}× (CPU ceiling ${cpuCeiling(raw, server).toFixed(3)}×) [threads µs/img: ${server.threads}]`;
      if (args.compare) {
        const compare = await measureServer(repository, path.join(args.compare, 'server', 'main.js'), 'compare', args, body, headerLength);
        rows.compare.push(compare);
        line += `; compare ${compare.imagesPerSecond.toFixed(1)} img/s (${compare.cpuUsPerImage.toFixed(0)} µs, load ${compare.loadSeconds.toFixed(3)} s) = ${(compare.imagesPerSecond / raw.imagesPerSecond).toFixed(3)}×`;
      }
      log(line);
    }
    const table = ['| row | img/s | CPU µs/img | load s | img/s ÷ raw (per round) | load ÷ raw (per round) |', '|---|---:|---:|---:|---|---|'];
    for (const [name, list] of Object.entries(rows)) {
      const perRound = (pick: (r: Row) => number) => list.map((r, i) => (pick(r) / pick(rows.raw[i])).toFixed(2)).join(', ');
      table.push(
        `| ${name} | ${median(list.map((r) => r.imagesPerSecond)).toFixed(1)} | ${median(list.map((r) => r.cpuUsPerImage)).toFixed(0)} | ${median(list.map((r) => r.loadSeconds)).toFixed(3)} | ${perRound((r) => r.imagesPerSecond)} | ${perRound((r) => r.loadSeconds)} |`,
      );
    }
    console.log(table.join('\n'));
    const ratio = (name: string, pick: (r: Row) => number) => median(rows[name].map((r, i) => pick(r) / pick(rows.raw[i])));
    for (const name of Object.keys(rows).filter((n) => n !== 'raw')) {
      const throughput = ratio(name, (r) => r.imagesPerSecond);
      const load = ratio(name, (r) => r.loadSeconds);
      console.log(`${name} / raw img/s = ${throughput.toFixed(3)} (target ≥ ${TARGET_THROUGHPUT} ${throughput >= TARGET_THROUGHPUT ? 'met' : 'NOT met'}; median of per-round ratios)`);
      console.log(`${name} load / raw create = ${load.toFixed(3)} (target ≤ ${TARGET_LOAD} ${load <= TARGET_LOAD ? 'met' : 'NOT met'})`);
    }
    if (args.profile) await profile(repository, args, body, headerLength);
  } finally {
    fs.rmSync(repository, { recursive: true, force: true });
  }
}

async function profile(repository: string, args: Args, body: Buffer, headerLength: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-resnet-prof-'));
  log(`profile: server under --cpu-prof (${dir})`);
  await measureServer(repository, SERVER_MAIN, 'server (profiled)', args, body, headerLength, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  for (const f of files) {
    const summary = summariseProfile(f);
    console.log(`\n${path.basename(f).split('.')[4] === '0' ? 'main thread' : 'worker thread'} ${path.basename(f)}: busy ${summary.busyMs.toFixed(0)} of ${summary.totalMs.toFixed(0)} ms`);
    console.log(profileTables(summary, 12, 15).join('\n'));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
