/**
 * gRPC vs HTTP binary vs HTTP JSON on `simple` and `mlp`, and the server vs raw onnxruntime-node, measured side by
 * side in one run (`npm run bench:grpc`). The server runs in a child process (dist/server/main.js); this process is
 * the load generator, a closed loop of `concurrency` requests in flight. gRPC has two generators: `grpc-h2`, a lean
 * node:http2 caller (bench/lib/grpc-h2.ts: a pre-encoded ModelInferRequest frame per call, status and trailers checked,
 * the response decoded), the gRPC counterpart of undici for HTTP, so the figure measures the server; and `grpc-js`,
 * InferenceServerClient on @grpc/grpc-js, what Triton users' Node clients cost. HTTP rows use InferenceServerClient on
 * undici (one keep-alive connection per request in flight).
 *
 * gRPC connections: like Triton's perf_analyzer, each request in flight is one client, and clients share a connection
 * as Triton's C++ client library shares a channel: at most BENCH_GRPC_SHARE (default 6, Triton's
 * TRITON_CLIENT_GRPC_CHANNEL_MAX_SHARE_COUNT) clients per connection, filled in order (8 in flight: 6 + 2 on 2
 * connections). `grpc-h2-1conn` keeps every call on one connection.
 *
 * ModelStreamInfer (bench/lib/grpc-h2-stream.ts: one long-lived bidirectional stream, each request one message carrying
 * an `id`, each answer one ModelStreamInferResponse matched by it; no HEADERS or trailers per request): `grpc-stream`
 * is the shape of perf_analyzer `--async --streaming` in concurrency mode. perf_analyzer runs one worker thread per
 * concurrent request (max_threads defaults to max(16, the highest concurrency)), each worker of a non-sequence model
 * has one InferContext, i.e. one client and one stream (perf_analyzer src/concurrency_worker.cc
 * CreateContextsAsNecessary, src/infer_context.cc Init → StartStream), and the clients share connections as above:
 * so BENCH_CONCURRENCY streams, one request in flight on each, at most BENCH_GRPC_SHARE streams per connection.
 * `grpc-stream-1`: every request in flight on one stream on one connection, the cheapest gRPC shape there is.
 *
 * Transports are interleaved round by round (A B C A B C ...) so drift on a noisy machine hits all of them alike; each
 * figure is the median of the rounds. `--compare=<root>` adds a second server,
 * another build's dist/server/main.js (e.g. main's, built in a scratch copy), measured in the same rounds. Raw onnxruntime-node: one session with the server's session options, session.run in a
 * loop on this thread (the server being idle meanwhile).
 *
 * Every row also reports the server's CPU µs per request (user + system, all threads, /proc/<pid>/stat over the
 * round: robust to other load on the machine, unlike req/s) and this process's (the client's) CPU µs per request.
 *
 * Env: BENCH_SECONDS (per round, default 3), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY (default 8), BENCH_MODELS
 * (simple,mlp), BENCH_TRANSPORTS (grpc-h2,grpc-h2-1conn,grpc-stream,grpc-stream-1,grpc-js,http-binary,http-json),
 * BENCH_GRPC_SHARE (6).
 * `--frontend`: only the frontends over a stub facade (see frontendsAlone). `--bare`: only Node's transports, node:http
 * vs node:http2 answering pre-encoded (see transportsAlone).
 * `--profile`: afterwards, a second server under `node --cpu-prof` during a gRPC `simple` load (grpc-h2, or grpc-stream /
 * grpc-stream-1 when BENCH_TRANSPORTS names one); its main thread's self time by layer and function.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { InferenceServerClient } from '../client';
import { ALL_MODELS, Caller, clientCaller, grpcJsCaller, h2Caller, h2StreamCaller, Model } from './lib/grpc-callers';
import { describeMachine, machineInfo } from './lib/machine';
import { mainThreadProfile, profileTables, summariseProfile } from './lib/cpuprofile';
import { freePort, HOST, processCpuSeconds, repoRoot, ServerChild, startServerChild } from './lib/processes';
import { SESSION_OPTIONS } from './lib/ort-raw';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
/** gRPC clients per connection (Triton's TRITON_CLIENT_GRPC_CHANNEL_MAX_SHARE_COUNT, default 6). */
const GRPC_SHARE = Number(process.env.BENCH_GRPC_SHARE ?? 6);

const MODELS = ALL_MODELS.filter((model) => !process.env.BENCH_MODELS || process.env.BENCH_MODELS.split(',').includes(model.name));

type TransportName = 'grpc-h2' | 'grpc-h2-1conn' | 'grpc-stream' | 'grpc-stream-1' | 'grpc-js' | 'http-binary' | 'http-json';
const ALL_TRANSPORTS: TransportName[] = ['grpc-h2', 'grpc-h2-1conn', 'grpc-stream', 'grpc-stream-1', 'grpc-js', 'http-binary', 'http-json'];
const GRPC_TRANSPORTS = ['grpc-h2', 'grpc-h2-1conn', 'grpc-stream', 'grpc-stream-1', 'grpc-js'] as const;
/** BENCH_TRANSPORTS / BENCH_MODELS (comma-separated) run a subset: more rounds of fewer rows in the same time. */
const TRANSPORTS = ALL_TRANSPORTS.filter((name) => !process.env.BENCH_TRANSPORTS || process.env.BENCH_TRANSPORTS.split(',').includes(name));

interface Run {
  throughput: number;
  p50: number;
  p99: number;
  /** Server CPU µs per request over the round (undefined off Linux). */
  serverCpuUs?: number;
  /** This process's (the load generator's) CPU µs per request. */
  clientCpuUs: number;
  /** The server's main thread (event loop): CPU µs per request and its busy share of the round (0..1). */
  serverMainUs?: number;
  serverMainBusy?: number;
}

async function closedLoop(call: Caller, model: Model, seconds: number, concurrency: number, serverPid?: number): Promise<Run> {
  const serverCpuBefore = serverPid !== undefined ? processCpuSeconds(serverPid) : undefined;
  const mainBefore = serverPid !== undefined ? processCpuSeconds(serverPid, serverPid) : undefined;
  const clientCpuBefore = process.cpuUsage();
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async (_: unknown, slot: number) => {
    while (performance.now() < end) {
      const started = performance.now();
      await call(model, slot);
      latencies.push((performance.now() - started) * 1000);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuAfter = serverPid !== undefined ? processCpuSeconds(serverPid) : undefined;
  const mainAfter = serverPid !== undefined ? processCpuSeconds(serverPid, serverPid) : undefined;
  const mainSeconds = mainBefore !== undefined && mainAfter !== undefined ? mainAfter - mainBefore : undefined;
  const count = latencies.length;
  latencies.sort((a, b) => a - b);
  const pick = (p: number) => latencies[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)];
  return {
    throughput: count / elapsed,
    p50: pick(50),
    p99: pick(99),
    serverCpuUs: serverCpuBefore !== undefined && serverCpuAfter !== undefined ? ((serverCpuAfter - serverCpuBefore) * 1e6) / count : undefined,
    clientCpuUs: (clientCpu.user + clientCpu.system) / count,
    serverMainUs: mainSeconds !== undefined ? (mainSeconds * 1e6) / count : undefined,
    serverMainBusy: mainSeconds !== undefined ? mainSeconds / elapsed : undefined,
  };
}

async function rawOrt(modelName: string, model: Model, seconds: number): Promise<number> {
  const file = path.join(repoRoot(__dirname), 'examples/model_repository', modelName, modelName === 'simple' ? '2' : '1', 'model.onnx');
  const session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
  for (let i = 0; i < 50; i++) await session.run(model.feeds());
  let count = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    await session.run(model.feeds());
    count += 1;
  }
  const rate = count / ((performance.now() - started) / 1000);
  await session.release();
  return rate;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** "µs (busy %)" of the server's main thread, medians of rounds. */
function mainThread(runs: readonly Run[]): string {
  if (!runs.every((r) => r.serverMainUs !== undefined && r.serverMainBusy !== undefined)) return '—';
  return `${median(runs.map((r) => r.serverMainUs!)).toFixed(0)} (${(median(runs.map((r) => r.serverMainBusy!)) * 100).toFixed(0)} %)`;
}

async function startServer(root: string, httpPort: number, grpcPort: number, nodeArgs: string[] = []): Promise<ServerChild> {
  return startServerChild({
    name: 'inference-server',
    nodeArgs,
    script: path.join(root, 'dist/server/main.js'),
    args: [
      `--model-repository=${path.join(root, 'examples/model_repository')}`,
      `--http-port=${httpPort}`,
      `--grpc-port=${grpcPort}`,
      // Metrics on, as the server ships (off here before 2026-12-07: ~4 µs per call was left out of every figure).
      `--metrics-port=${await freePort()}`,
      `--host=${HOST}`,
    ],
    port: httpPort,
    readyPath: '/v2/health/ready',
    cwd: root,
  });
}

/** A second server under --cpu-prof during a gRPC `simple` load: its main thread's self time by layer and function. */
async function profileGrpc(root: string, log: (line?: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-grpc-prof-'));
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const server = await startServer(root, httpPort, grpcPort, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  // The ModelStreamInfer path when the run measures it (its per-message cost), else ModelInfer's.
  const generator = TRANSPORTS.find((name) => name.startsWith('grpc-stream')) ?? 'grpc-h2';
  const client = generator === 'grpc-h2' ? h2Caller(grpcPort, GRPC_SHARE, CONCURRENCY) : h2StreamCaller(grpcPort, generator === 'grpc-stream' ? CONCURRENCY : 1, GRPC_SHARE);
  const pid = server.process.pid!;
  try {
    await closedLoop(client, ALL_MODELS[0], 0.5, CONCURRENCY);
    await closedLoop(client, ALL_MODELS[0], SECONDS * 2, CONCURRENCY);
  } finally {
    await client.close();
    await server.stop();
  }
  const file = mainThreadProfile(dir, pid);
  log('');
  log(`## profile: server main thread under --cpu-prof, gRPC \`simple\` load (${generator} generator) (${file ?? `no main-thread profile in ${dir}`})`);
  if (file) for (const line of profileTables(summariseProfile(file), 15, 30)) log(line);
}

interface Target {
  readonly label: string;
  readonly server: ServerChild;
  readonly callers: Record<TransportName, Caller & { close(): Promise<void> }>;
}

async function startTarget(label: string, root: string): Promise<Target> {
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const server = await startServer(root, httpPort, grpcPort);
  const http = (options: ConstructorParameters<typeof InferenceServerClient>[0]) => clientCaller([new InferenceServerClient(options)]);
  return {
    label,
    server,
    callers: {
      'grpc-h2': h2Caller(grpcPort, GRPC_SHARE, CONCURRENCY),
      'grpc-h2-1conn': h2Caller(grpcPort, CONCURRENCY, CONCURRENCY),
      'grpc-stream': h2StreamCaller(grpcPort, CONCURRENCY, GRPC_SHARE),
      'grpc-stream-1': h2StreamCaller(grpcPort, 1, 1),
      'grpc-js': grpcJsCaller(grpcPort, GRPC_SHARE, CONCURRENCY),
      'http-binary': http({ url: `${HOST}:${httpPort}`, http: { connections: CONCURRENCY } }),
      'http-json': http({ url: `${HOST}:${httpPort}`, http: { connections: CONCURRENCY, binaryThresholdBytes: Infinity, binaryOutputs: false } }),
    },
  };
}

interface AloneRow {
  readonly name: string;
  readonly child: ServerChild;
  readonly caller: Caller & { close(): Promise<void> };
}

/** Start one of bench/lib/baseline-servers.ts's modes: readiness on `port`, gRPC (where it serves gRPC) on `grpcPort`. */
async function startBaseline(root: string, mode: string): Promise<{ child: ServerChild; port: number; grpcPort: number }> {
  const script = path.join(root, 'dist/bench/lib/baseline-servers.js');
  const port = await freePort();
  const grpcPort = await freePort();
  const child = await startServerChild({ name: mode, script, args: [mode, String(port), String(grpcPort)], port, readyPath: '/v2/health/ready', cwd: root });
  return { child, port, grpcPort };
}

/** Rows over baseline servers, `simple`, rounds interleaved; a table of medians (server CPU µs per call). */
async function aloneRows(title: string, rows: readonly AloneRow[], log: (line?: string) => void): Promise<void> {
  const results = new Map<string, Run[]>();
  try {
    for (const row of rows) await closedLoop(row.caller, ALL_MODELS[0], 0.5, CONCURRENCY);
    for (let round = 0; round < ROUNDS; round++) {
      for (const row of rows) {
        const run = await closedLoop(row.caller, ALL_MODELS[0], SECONDS, CONCURRENCY, row.child.process.pid);
        results.set(row.name, [...(results.get(row.name) ?? []), run]);
        process.stderr.write(`  ${row.name} round ${round + 1}: ${run.throughput.toFixed(0)} req/s, server ${run.serverCpuUs?.toFixed(0) ?? '—'} µs/req\n`);
      }
    }
  } finally {
    for (const row of rows) await row.caller.close();
    for (const child of new Set(rows.map((row) => row.child))) await child.stop();
  }
  log('');
  log(`## ${title}, medians of rounds`);
  log('| server (generator) | req/s | server CPU µs/call | client CPU µs/call | p50 ms | req/s vs first row | server CPU vs first row |');
  log('|---|---:|---:|---:|---:|---:|---:|');
  const serverCpu = (runs: readonly Run[]) => (runs.every((r) => r.serverCpuUs !== undefined) ? median(runs.map((r) => r.serverCpuUs!)) : NaN);
  const first = results.get(rows[0].name)!;
  const firstRate = median(first.map((r) => r.throughput));
  for (const row of rows) {
    const runs = results.get(row.name)!;
    const rate = median(runs.map((r) => r.throughput));
    log(
      `| ${row.name} | ${rate.toFixed(0)} | ${serverCpu(runs).toFixed(0)} | ${median(runs.map((r) => r.clientCpuUs)).toFixed(0)} | ` +
        `${(median(runs.map((r) => r.p50)) / 1000).toFixed(2)} | ${(rate / firstRate).toFixed(2)}× | ${(serverCpu(runs) / serverCpu(first)).toFixed(2)}× |`,
    );
  }
}

/**
 * `--frontend`: the frontends alone, each over the stub facade of bench/lib/baseline-servers.ts (no scheduler, worker
 * or ONNX Runtime), `simple`, rounds interleaved: the HTTP frontend (binary, undici), the gRPC frontend with the lean
 * ModelInfer path and with ModelInfer through grpc-js (each driven by both gRPC generators). Server CPU µs per call.
 */
async function frontendsAlone(root: string, log: (line?: string) => void): Promise<void> {
  const http = await startBaseline(root, 'frontend-stub');
  const lean = await startBaseline(root, 'grpc-stub');
  const grpcJs = await startBaseline(root, 'grpc-js-stub');
  await aloneRows(
    'frontends alone: stub facade answering `simple` inline',
    [
      { name: 'HTTP frontend, binary (undici)', child: http.child, caller: clientCaller([new InferenceServerClient({ url: `${HOST}:${http.port}`, http: { connections: CONCURRENCY } })]) },
      { name: 'gRPC frontend, lean ModelInfer (grpc-h2)', child: lean.child, caller: h2Caller(lean.grpcPort, GRPC_SHARE, CONCURRENCY) },
      { name: 'gRPC frontend, ModelInfer through grpc-js (grpc-h2)', child: grpcJs.child, caller: h2Caller(grpcJs.grpcPort, GRPC_SHARE, CONCURRENCY) },
      { name: 'gRPC frontend, lean ModelInfer (grpc-js client)', child: lean.child, caller: grpcJsCaller(lean.grpcPort, GRPC_SHARE, CONCURRENCY) },
      { name: 'gRPC frontend, ModelInfer through grpc-js (grpc-js client)', child: grpcJs.child, caller: grpcJsCaller(grpcJs.grpcPort, GRPC_SHARE, CONCURRENCY) },
    ],
    log,
  );
}

/**
 * `--bare`: Node's transports alone (bench/lib/baseline-servers.ts bare-binary / bare-grpc: each request read whole,
 * `simple`'s answer pre-encoded), same generators and connection counts as the full rows, plus gRPC on one connection
 * and on one connection per request in flight: the ceiling Node's HTTP/2 puts on gRPC next to HTTP/1.1.
 */
async function transportsAlone(root: string, log: (line?: string) => void): Promise<void> {
  const binary = await startBaseline(root, 'bare-binary');
  const grpc = await startBaseline(root, 'bare-grpc');
  await aloneRows(
    'transports alone: node:http / node:http2 answering `simple` pre-encoded',
    [
      { name: `node:http, HTTP binary (undici, ${CONCURRENCY} connections)`, child: binary.child, caller: clientCaller([new InferenceServerClient({ url: `${HOST}:${binary.port}`, http: { connections: CONCURRENCY } })]) },
      { name: `node:http2 gRPC (grpc-h2, ${Math.ceil(CONCURRENCY / GRPC_SHARE)} connections)`, child: grpc.child, caller: h2Caller(grpc.grpcPort, GRPC_SHARE, CONCURRENCY) },
      { name: 'node:http2 gRPC (grpc-h2, 1 connection)', child: grpc.child, caller: h2Caller(grpc.grpcPort, CONCURRENCY, CONCURRENCY) },
      { name: `node:http2 gRPC (grpc-h2, ${CONCURRENCY} connections)`, child: grpc.child, caller: h2Caller(grpc.grpcPort, 1, CONCURRENCY) },
    ],
    log,
  );
}

async function main(): Promise<void> {
  const root = repoRoot(__dirname);
  const machine = machineInfo();
  const compareRoot = process.argv.find((arg) => arg.startsWith('--compare='))?.slice('--compare='.length);
  if (process.argv.includes('--frontend') || process.argv.includes('--bare')) {
    const out = (line = '') => process.stdout.write(`${line}\n`);
    out(`# bench:grpc — ${describeMachine(machine)}; ${ROUNDS} rounds × ${SECONDS} s, ${CONCURRENCY} requests in flight`);
    if (process.argv.includes('--bare')) await transportsAlone(root, out);
    if (process.argv.includes('--frontend')) await frontendsAlone(root, out);
    return;
  }
  const targets: Target[] = [await startTarget('this', root)];
  if (compareRoot) targets.push(await startTarget('compare', path.resolve(compareRoot)));
  const lines: string[] = [];
  const log = (line = '') => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    log(`# bench:grpc — ${describeMachine(machine)}`);
    log(`# ${ROUNDS} rounds × ${SECONDS} s per transport and model, ${CONCURRENCY} requests in flight, batch 1; medians of rounds`);
    if (compareRoot) log(`# server "this" = ${root}, "compare" = ${path.resolve(compareRoot)}`);
    log('# grpc-h2: lean node:http2 generator (pre-encoded frame, status checked, answer decoded); grpc-js: InferenceServerClient on @grpc/grpc-js');
    log(
      `# gRPC connections: at most ${GRPC_SHARE} clients (requests in flight) per connection, as Triton's client library ` +
        `(${Math.ceil(CONCURRENCY / GRPC_SHARE)} for ${CONCURRENCY}); grpc-h2-1conn: all on one; HTTP: ${CONCURRENCY} keep-alive connections`,
    );
    if (TRANSPORTS.some((name) => name.startsWith('grpc-stream'))) log(
      `# grpc-stream: ModelStreamInfer, ${CONCURRENCY} streams (one request in flight each, as perf_analyzer --streaming) ` +
        `on the same connections; grpc-stream-1: all ${CONCURRENCY} in flight on one stream, one connection`,
    );
    const results = new Map<string, Run[]>();
    for (const model of MODELS) {
      for (const target of targets) for (const name of TRANSPORTS) await closedLoop(target.callers[name], model, 0.5, CONCURRENCY); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of targets) {
          for (const name of TRANSPORTS) {
            const run = await closedLoop(target.callers[name], model, SECONDS, CONCURRENCY, target.server.process.pid);
            const key = `${target.label}/${model.name}/${name}`;
            results.set(key, [...(results.get(key) ?? []), run]);
            process.stderr.write(`  ${key} round ${round + 1}: ${run.throughput.toFixed(0)} req/s, server ${run.serverCpuUs?.toFixed(0) ?? '—'} µs/req\n`);
          }
        }
      }
    }
    // Raw onnxruntime-node while the servers idle.
    const raw = new Map<string, number>();
    for (const model of MODELS) raw.set(model.name, await rawOrt(model.name, model, SECONDS));

    const rate = (key: string) => median(results.get(key)!.map((r) => r.throughput));
    const cpu = (key: string) => (results.get(key)!.every((r) => r.serverCpuUs !== undefined) ? median(results.get(key)!.map((r) => r.serverCpuUs!)) : undefined);
    log('');
    log('| server | model | transport | req/s | server CPU µs/req | server main thread µs/req (busy) | client CPU µs/req | p50 ms | p99 ms | vs HTTP binary | vs raw ORT |');
    log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const target of targets) {
      for (const model of MODELS) {
        const binaryRate = TRANSPORTS.includes('http-binary') ? rate(`${target.label}/${model.name}/http-binary`) : NaN;
        const rawRate = raw.get(model.name)!;
        for (const name of TRANSPORTS) {
          const key = `${target.label}/${model.name}/${name}`;
          const runs = results.get(key)!;
          log(
            `| ${target.label} | ${model.name} | ${name} | ${rate(key).toFixed(0)} | ${cpu(key)?.toFixed(0) ?? '—'} | ${mainThread(runs)} | ${median(runs.map((r) => r.clientCpuUs)).toFixed(0)} | ` +
              `${(median(runs.map((r) => r.p50)) / 1000).toFixed(2)} | ${(median(runs.map((r) => r.p99)) / 1000).toFixed(2)} | ${(rate(key) / binaryRate).toFixed(2)}× | ${(rate(key) / rawRate).toFixed(2)}× |`,
          );
        }
      }
    }
    for (const model of MODELS) log(`| — | ${model.name} | raw onnxruntime-node (session.run loop, 1 thread) | ${raw.get(model.name)!.toFixed(0)} | | | | | | | 1.00× |`);
    log('');
    for (const target of targets) {
      for (const model of MODELS) {
        const key = (name: TransportName) => `${target.label}/${model.name}/${name}`;
        const cpuRatio = (name: TransportName) => {
          const [grpcCpu, httpCpu] = [cpu(key(name)), cpu(key('http-binary'))];
          return grpcCpu !== undefined && httpCpu !== undefined ? `, server CPU per call ${(grpcCpu / httpCpu).toFixed(2)}×` : '';
        };
        if (!TRANSPORTS.includes('http-binary')) continue;
        for (const name of GRPC_TRANSPORTS.filter((grpc) => TRANSPORTS.includes(grpc))) {
          log(`${target.label} ${model.name}: gRPC (${name}) / HTTP binary req/s = ${(rate(key(name)) / rate(key('http-binary'))).toFixed(2)}${cpuRatio(name)}`);
        }
      }
    }
  } finally {
    for (const target of targets) {
      for (const caller of Object.values(target.callers)) await caller.close();
      await target.server.stop();
    }
  }
  if (process.argv.includes('--profile')) await profileGrpc(root, log);
}

main().catch((error: Error) => {
  process.stderr.write(`bench:grpc failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
