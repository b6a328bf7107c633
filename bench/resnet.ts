/**
 * A real-sized model through the server vs raw onnxruntime-node (issue 18): a ResNet-18-shaped network
 * (bench/lib/resnet18.ts, random weights), batch 1, the same intra-op thread count on both sides.
 *
 *   npm run bench:resnet [-- --threads=2 --clients=2 --warmup=2 --duration=8 --rounds=3 --profile --compare=<dist>
 *                            --node-args="<flags>" --compare-server-args="<flags>" --header-pad=1 --image-env --io
 *                            --jit-warmup=5000]
 *
 * Rows, interleaved round after round, each its own child process on 127.0.0.1:
 *  - raw: session.run in a loop on one thread (bench/lib/ort-image-raw.ts): images/s, CPU µs per image;
 *  - server: `node dist/server/main.js` on a scratch repository holding the model, `--clients` keep-alive
 *    connections sending Triton's binary tensor extension (602 KB per image, binary output) from this process,
 *    whose own CPU per image (the clients) is printed too, and the CPU ceiling: raw CPU/img over server + clients;
 *    per thread of the server, CPU µs per image and of it the kernel's (sys);
 *  - compare (with --compare=<dist folder of another build>): the same for that build's server; with
 *    --node-args="<flags>" (alone or with --compare), the compare server runs under those node flags instead of the
 *    command's own (server/launch-flags.ts; `--node-args=none`: no flags), and with --io so does a second server-io row;
 *    with --compare-server-args="<flags>", the compare server also gets those inference-server flags (e.g.
 *    --http-fast-infer-path), this build's when no --compare is given.
 * Server rows run with the node flags the inference-server command is launched with, as the image runs it.
 * --jit-warmup=N (default 5000, 0: none): before its warm-up, each server gets N requests flat out, to an I/O-only model
 * loaded beside ResNet (bare: answered at once): a server that has run for a while has its request path optimised
 * by V8, which ~100 images a second take minutes to reach (its event loop's CPU per image halves over the first
 * ~40 s). Raw ORT's loop is little JS and needs none.
 * Load time: the server's nv_model_load_duration_secs vs raw InferenceSession.create of the same file, per round.
 * --profile: the server again under --cpu-prof for one measured window; self time per layer and thread.
 * --header-pad=N: N spaces before the request's JSON header (176 bytes otherwise, a multiple of 4 by chance), as
 * clients whose JSON has another length send it: the image's bytes then start off a 4-byte boundary in the body.
 * --image-env: raw and server children both run with the memory settings of the Dockerfile's ENV (MALLOC_* and
 * NODE_OPTIONS, bench/lib/image-env.ts), as the container runs the server; without it, with glibc's defaults.
 * --io: three more rows per round, the same requests without ResNet's compute, to price the server's own work per
 * 602 KB image apart from ONNX Runtime's threads: `bare` (node:http reading the body into one buffer and answering
 * from it, bench/lib/bare-image-server.ts: what any Node server pays) and `server-io` (the server on a model with the
 * same inputs and outputs and next to no compute), both flat out; and `bare at raw's rate`, bare answering as an
 * engine taking raw's time per image would (timers, no CPU), so it gets requests at the rate the server gets them.
 * Printed: CPU per image of each, and the CPU ceiling of a server that cost only what bare costs at that rate (raw
 * CPU/img over raw + bare + bare's clients): what the node:http floor and the clients on the same cores leave.
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
/** The I/O-only model loaded beside ResNet: --jit-warmup's requests run the server's request path without ResNet's compute. */
const WARM_MODEL = 'resnet18_io';
const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();

interface Args {
  threads: number;
  clients: number;
  warmup: number;
  duration: number;
  rounds: number;
  profile: boolean;
  compare?: string;
  /** Node flags of the compare rows (--node-args); undefined: the command's own. */
  nodeArgs?: string[];
  /** Extra inference-server flags of the compare rows (--compare-server-args), e.g. --http-fast-infer-path. */
  compareServerArgs?: string[];
  /** Spaces before the JSON header (0: none). */
  headerPad: number;
  /** Environment of every child: the image's memory settings with --image-env, else none. */
  env: Record<string, string>;
  /** Also measure the bare and server-io rows. */
  io: boolean;
  /** Requests sent flat out before the warm-up, to the I/O-only model beside ResNet (0: none). */
  jitWarmup: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { threads: 2, clients: 2, warmup: 2, duration: 8, rounds: 3, profile: false, headerPad: 0, env: {}, io: false, jitWarmup: 5000 };
  for (const { arg, key, value, number } of benchArgs(argv, { positive: true })) {
    if (key === 'threads') args.threads = number();
    else if (key === 'clients') args.clients = number();
    else if (key === 'warmup') args.warmup = number();
    else if (key === 'duration') args.duration = number();
    else if (key === 'rounds') args.rounds = number();
    else if (key === 'profile') args.profile = true;
    else if (key === 'compare') args.compare = path.resolve(value);
    else if (key === 'node-args') args.nodeArgs = value === 'none' ? [] : value.split(' ').filter(Boolean);
    else if (key === 'compare-server-args') args.compareServerArgs = value.split(' ').filter(Boolean);
    else if (key === 'header-pad') args.headerPad = Math.floor(number());
    else if (key === 'image-env') args.env = imageMemoryEnv(ROOT);
    else if (key === 'io') args.io = true;
    else if (key === 'jit-warmup') {
      // 0 turns it off, so not number() (positive only here).
      args.jitWarmup = Number(value);
      if (!Number.isSafeInteger(args.jitWarmup) || args.jitWarmup < 0) throw new Error(`--jit-warmup needs a whole number ≥ 0, got '${value}'`);
    }
    else throw new Error(`unknown option ${arg}`);
  }
  return args;
}

const log = (line: string) => console.error(line);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * A scratch repository: MODEL (ResNet-18, or with `ioOnly` the same inputs and outputs without compute), and beside a
 * ResNet the I/O-only model as WARM_MODEL, which --jit-warmup's requests go to.
 */
function writeRepository(threads: number, ioOnly = false): { repository: string; modelFile: string } {
  const repository = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-resnet-'));
  const modelFile = writeModel(repository, MODEL, threads, ioOnly);
  if (!ioOnly) writeModel(repository, WARM_MODEL, threads, true);
  return { repository, modelFile };
}

function writeModel(repository: string, name: string, threads: number, ioOnly: boolean): string {
  const dir = path.join(repository, name);
  fs.mkdirSync(path.join(dir, '1'), { recursive: true });
  const modelFile = path.join(dir, '1', 'model.onnx');
  fs.writeFileSync(modelFile, buildResnet18({ ioOnly }));
  fs.writeFileSync(
    path.join(dir, 'config.pbtxt'),
    [
      `name: "${name}"`,
      'platform: "onnxruntime_onnx"',
      'max_batch_size: 8',
      `input [{ name: "INPUT0" data_type: TYPE_FP32 dims: [${RESNET18_INPUT_SHAPE.join(', ')}] }]`,
      `output [{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [${RESNET18_CLASSES}] }]`,
      'instance_group [{ count: 1 kind: KIND_CPU }]',
      `parameters { key: "intra_op_thread_count" value: { string_value: "${threads}" } }`,
      '',
    ].join('\n'),
  );
  return modelFile;
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
  launchFlags?: string[],
  serverArgs: readonly string[] = [],
): Promise<{ child: ServerChild; metricsPort: number }> {
  const port = await freePort();
  const metricsPort = await freePort();
  const args = [`--model-repository=${repository}`, `--http-port=${port}`, '--grpc-port=0', `--metrics-port=${metricsPort}`, `--host=${HOST}`, ...serverArgs];
  const child = await startServerChild({ name, nodeArgs, launchFlags, script, args, port, readyPath: '/v2/health/ready', cwd: ROOT, readyTimeoutMs: 120_000, env });
  return { child, metricsPort };
}

async function loadSeconds(metricsPort: number): Promise<number> {
  const text = (await httpRequest(metricsPort, 'GET', '/metrics')).body.toString('utf8');
  const match = new RegExp(`^nv_model_load_duration_secs\\{model="${MODEL}",version="1"\\} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error('no nv_model_load_duration_secs for the model in /metrics');
  return Number(match[1]);
}

/**
 * `clients` closed-loop keep-alive connections sending the body for `seconds` (or, with `count`, until that many are
 * answered); responses counted, checked by status.
 */
async function drive(
  port: number, body: Buffer, headerLength: number, clients: number, seconds: number, { count = Infinity, inferPath = INFER_PATH } = {},
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let started = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: HOST, port, method: 'POST', path: inferPath, agent,
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
      while (Date.now() < end && started < count) {
        started += 1;
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
  /** CPU µs per image of the server's main thread (the event loop), and of that the kernel's. */
  eventLoopUsPerImage?: number;
  eventLoopSystemUsPerImage?: number;
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

function measureServer(
  repository: string, script: string, name: string, args: Args, body: Buffer, headerLength: number, nodeArgs: string[] = [], launchFlags?: string[],
  serverArgs: readonly string[] = [],
): Promise<Row> {
  // Beside ResNet, the warm-up requests go to the I/O-only model (the same request path without the compute).
  const warmPath = fs.existsSync(path.join(repository, WARM_MODEL)) ? `/v2/models/${WARM_MODEL}/infer` : INFER_PATH;
  return measure(() => startServer(repository, script, name, args.env, nodeArgs, launchFlags, serverArgs), name, args, body, headerLength, warmPath);
}

async function startBare(args: Args, engineMs = 0): Promise<{ child: ServerChild }> {
  const port = await freePort();
  const child = await startServerChild({
    name: 'bare', script: path.join(LIB, 'bare-image-server.js'), args: [String(port), String(engineMs), String(args.jitWarmup)], port, readyPath: '/v2/health/ready', cwd: ROOT, env: args.env,
  });
  return { child };
}

/** Start a server (`metricsPort`: it reports its model's load time), check one answer, then drive it and take its CPU. */
async function measure(
  start: () => Promise<{ child: ServerChild; metricsPort?: number }>, name: string, args: Args, body: Buffer, headerLength: number, warmPath = INFER_PATH,
): Promise<Row> {
  const { child, metricsPort } = await start();
  try {
    const check = await httpRequest(child.port, 'POST', INFER_PATH, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) }, body, 30_000);
    if (check.status !== 200) throw new Error(`${name}: infer answered ${check.status}: ${check.body.toString('utf8', 0, 300)}`);
    const load = metricsPort === undefined ? NaN : await loadSeconds(metricsPort);
    // A long-running server's JIT is warm; 2 s at ~100 img/s is not enough for V8 to optimise the request path.
    if (args.jitWarmup > 0) await drive(child.port, body, headerLength, args.clients, 600, { count: args.jitWarmup, inferPath: warmPath });
    await drive(child.port, body, headerLength, args.clients, args.warmup);
    const cpuBefore = processCpuSeconds(child.process.pid!) ?? NaN;
    const threadsBefore = threadCpu(child.process.pid!);
    const clientBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const images = await drive(child.port, body, headerLength, args.clients, args.duration);
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    const client = process.cpuUsage(clientBefore);
    const cpuS = (processCpuSeconds(child.process.pid!) ?? NaN) - cpuBefore;
    const perThread = threadCpuDelta(threadsBefore, threadCpu(child.process.pid!));
    const eventLoop = perThread.find((t) => t.tid === child.process.pid);
    const threads = perThread
      .slice(0, 5)
      .map((t) => `${t.tid === child.process.pid ? 'event loop' : t.name} ${((t.seconds * 1e6) / images).toFixed(0)} (sys ${((t.systemSeconds * 1e6) / images).toFixed(0)})`)
      .join(', ');
    const clientCpuUsPerImage = (client.user + client.system) / images;
    return {
      threads, clientCpuUsPerImage, imagesPerSecond: images / wallS, cpuUsPerImage: (cpuS * 1e6) / images, loadSeconds: load,
      eventLoopUsPerImage: ((eventLoop?.seconds ?? 0) * 1e6) / images, eventLoopSystemUsPerImage: ((eventLoop?.systemSeconds ?? 0) * 1e6) / images,
    };
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
  requireBuilt([SERVER_MAIN, path.join(LIB, 'ort-image-raw.js'), path.join(LIB, 'bare-image-server.js')], 'bench:resnet');
  log(`Machine: ${describeMachine(machineInfo())}`);
  if (Object.keys(args.env).length > 0) log(`Environment of every child (--image-env): ${Object.entries(args.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const { repository, modelFile } = writeRepository(args.threads);
  const { body, headerLength } = binaryBody(args.headerPad);
  log(`Model: ResNet-18 shape, ${(fs.statSync(modelFile).size / 1e6).toFixed(1)} MB; batch 1, intra-op ${args.threads} threads; request ${body.length} bytes (binary extension, JSON header ${headerLength} bytes); ${args.clients} clients; ${args.warmup} s warm-up + ${args.duration} s, ${args.rounds} rounds`);
  const rows: Record<string, Row[]> = { raw: [], server: [] };
  const compared = args.compare !== undefined || args.nodeArgs !== undefined || args.compareServerArgs !== undefined;
  const compareScript = args.compare ? path.join(args.compare, 'server', 'main.js') : SERVER_MAIN;
  if (compared) rows.compare = [];
  const io = args.io ? { repository: writeRepository(args.threads, true).repository, bare: [] as Row[], server: [] as Row[], atRate: [] as Row[], compare: [] as Row[] } : undefined;
  try {
    for (let round = 1; round <= args.rounds; round++) {
      const raw = await measureRaw(modelFile, args);
      rows.raw.push(raw);
      const server = await measureServer(repository, SERVER_MAIN, 'server', args, body, headerLength);
      rows.server.push(server);
      let line = `round ${round}: raw ${raw.imagesPerSecond.toFixed(1)} img/s (${raw.cpuUsPerImage.toFixed(0)} µs CPU/img, load ${raw.loadSeconds.toFixed(3)} s); server ${server.imagesPerSecond.toFixed(1)} img/s (${server.cpuUsPerImage.toFixed(0)} µs + clients ${server.clientCpuUsPerImage!.toFixed(0)} µs, load ${server.loadSeconds.toFixed(3)} s) = ${(server.imagesPerSecond / raw.imagesPerSecond).toFixed(3)}× (CPU ceiling ${cpuCeiling(raw, server).toFixed(3)}×) [threads µs/img: ${server.threads}]`;
      if (compared) {
        const compare = await measureServer(repository, compareScript, 'compare', args, body, headerLength, [], args.nodeArgs, args.compareServerArgs);
        rows.compare.push(compare);
        line += `; compare ${compare.imagesPerSecond.toFixed(1)} img/s (${compare.cpuUsPerImage.toFixed(0)} µs, load ${compare.loadSeconds.toFixed(3)} s) = ${(compare.imagesPerSecond / raw.imagesPerSecond).toFixed(3)}×`;
      }
      if (io) {
        const bare = await measure(() => startBare(args), 'bare', args, body, headerLength);
        const serverIo = await measureServer(io.repository, SERVER_MAIN, 'server-io', args, body, headerLength);
        const atRate = await measure(() => startBare(args, 1000 / raw.imagesPerSecond), 'bare at raw rate', args, body, headerLength);
        io.bare.push(bare);
        io.server.push(serverIo);
        if (compared) {
          const compareIo = await measureServer(io.repository, compareScript, 'server-io compare', args, body, headerLength, [], args.nodeArgs, args.compareServerArgs);
          io.compare.push(compareIo);
          line += `; server-io compare ${describeIo(compareIo)}`;
        }
        io.atRate.push(atRate);
        line += `; I/O only: bare ${describeIo(bare)}, server-io ${describeIo(serverIo)} [threads µs/img: ${serverIo.threads}], bare at raw's rate ${describeIo(atRate)}: ceiling ${bareCeiling(raw, atRate).toFixed(3)}×`;
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
    if (io) printIo(rows.raw, io);
    if (args.profile) await profile(repository, args, body, headerLength);
  } finally {
    fs.rmSync(repository, { recursive: true, force: true });
    if (io) fs.rmSync(io.repository, { recursive: true, force: true });
  }
}

const describeIo = (row: Row) =>
  `${row.imagesPerSecond.toFixed(0)} img/s, ${row.cpuUsPerImage.toFixed(0)} µs/img (event loop ${row.eventLoopUsPerImage!.toFixed(0)}, sys ${row.eventLoopSystemUsPerImage!.toFixed(0)}; clients ${row.clientCpuUsPerImage!.toFixed(0)})`;

/** The CPU ceiling of a server whose frontend costs only bare node:http's work: raw's CPU/img over raw + bare + its clients. */
function bareCeiling(raw: Row, bare: Row): number {
  return raw.cpuUsPerImage / (raw.cpuUsPerImage + bare.cpuUsPerImage + bare.clientCpuUsPerImage!);
}

function printIo(raw: Row[], io: { bare: Row[]; server: Row[]; atRate: Row[]; compare: Row[] }): void {
  const { bare, server: serverIo, atRate } = io;
  const table = ['', '| row (no compute) | img/s | CPU µs/img | event loop µs/img (sys) | clients µs/img |', '|---|---:|---:|---:|---:|'];
  const rows: Array<[string, Row[]]> = [['bare node:http', bare], ['server-io', serverIo], ['server-io compare', io.compare], ["bare node:http at raw's rate", atRate]];
  for (const [name, list] of rows.filter(([, list]) => list.length > 0)) {
    const m = (pick: (r: Row) => number) => median(list.map(pick)).toFixed(0);
    table.push(`| ${name} | ${m((r) => r.imagesPerSecond)} | ${m((r) => r.cpuUsPerImage)} | ${m((r) => r.eventLoopUsPerImage!)} (${m((r) => r.eventLoopSystemUsPerImage!)}) | ${m((r) => r.clientCpuUsPerImage!)} |`);
  }
  console.log(table.join('\n'));
  const loop = median(serverIo.map((r, i) => r.eventLoopUsPerImage! / bare[i].eventLoopUsPerImage!));
  console.log(`server-io / bare event loop CPU per image = ${loop.toFixed(2)} (median of per-round ratios)`);
  console.log(`CPU ceiling of a server costing what bare node:http costs at raw's rate = ${median(raw.map((r, i) => bareCeiling(r, atRate[i]))).toFixed(3)} (raw CPU/img over raw + bare + bare's clients, median of rounds)`);
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
