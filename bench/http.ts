/**
 * HTTP hot-path benchmark: how close the server comes to a bare node:http server on the same machine, in one run.
 *
 * Measures, one after the other (never concurrently), with the same load generator and settings:
 *  - bare: a child node:http server that reads the JSON body, JSON.parse's it and answers a small JSON;
 *  - server JSON / server binary: `node dist/server/main.js` on examples/model_repository, `simple` infer requests in
 *    KServe JSON and in Triton's binary tensor extension;
 *  - raw onnxruntime-node: session.run calls/s on `simple` (batch 1, intraOpNumThreads 1) on one thread, and through a
 *    worker thread (one postMessage round trip per call, as the server does it; and with calls pipelined);
 *  - with --breakdown: fastify as it comes, fastify doing bare's work, + @fastify/compress, node:http with the server's
 *    body reader and codec over a stub facade, and the server's real HTTP frontend over the same stub facade (no
 *    scheduler, worker or ONNX Runtime), to price each layer;
 *  - with --breakdown, also the floor: bare-codec's CPU + raw ORT's, what a server doing only the protocol and the
 *    run would cost;
 *  - with --profile: the server again under --cpu-prof during the JSON load, its main thread's self time by layer.
 * Target: server ≥ 0.75 × bare node:http.
 *
 * Run: npm run bench:http [-- --tool=wrk|autocannon --connections=16 --warmup=2 --duration=10 --rounds=3
 *                              --wrk-threads=1 --ort-seconds=3 --breakdown --profile --compare=<dist folder> --inline
 *                              --fast-infer --batching]
 * --batching: also `simple` with Triton's default dynamic batcher (concurrent requests share one ONNX Runtime run).
 * --compare: also measure the server of another build (e.g. `cp -r dist bench-before/` before a change), interleaved
 * with this one, for before/after figures from one run.
 * Rounds: every row is measured once per round, rows interleaved, and the median round is reported (the machines are
 * shared 2-core boxes: interleaving spreads load drifts over every row).
 * The load generator is wrk when installed, else autocannon in a child process. Needs `npm run build` first (the npm
 * script does it): every server runs from dist/ as it ships.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mainThreadProfile, ProfileSummary, profileTables, summariseProfile } from './lib/cpuprofile';
import { chooseLoadTool, LoadResult, LoadSettings, LoadTool, runLoad } from './lib/loadgen';
import { describeMachine, machineInfo } from './lib/machine';
import type { OrtRawResult } from './lib/ort-raw';
import { freePort, httpRequest, processCpuSeconds, benchPaths, requireBuilt, runJsonChild, ServerChild, startServerChild } from './lib/processes';
import { BenchRequest, checkSimpleResponse, simpleBinaryRequest, simpleJsonRequest } from './lib/simple-requests';
import { threadCpu, threadCpuDelta } from './lib/threads';
import { parseHttpBenchArgs } from './lib/http-args';

const TARGET_RATIO = 0.75;
const READY_PATH = '/v2/health/ready';

const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();
const MODEL_REPOSITORY = path.join(ROOT, 'examples', 'model_repository');

interface Row {
  readonly name: string;
  readonly what: string;
  readonly load?: Measured;
  readonly rate?: number;
}

interface Plan {
  readonly key: string;
  readonly name: string;
  readonly what: string;
  readonly child: ServerChild;
  readonly request: BenchRequest;
}

const perRow = new Map<string, Measured[]>();

/** The round with the median rate; failures summed over every round (any failure voids the row). */
function medianResult(results: Measured[]): Measured {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...median, failures: results.reduce((sum, r) => sum + r.failures, 0) };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** gRPC and metrics are off; their ports are free ones all the same, so a build that serves them anyway still starts. */
function serverArgs(port: number, grpcPort: number, metricsPort: number, repository = MODEL_REPOSITORY): string[] {
  return [
    `--model-repository=${repository}`,
    `--http-port=${port}`,
    '--host=127.0.0.1',
    '--allow-grpc=false',
    // Metrics on, as the server ships: every request pays for its counting (they were off here before 2026-12-07,
    // which left ~4 µs per request out of every figure).
    `--grpc-port=${grpcPort}`,
    `--metrics-port=${metricsPort}`,
  ];
}

async function startServer(nodeArgs: string[] = [], script = SERVER_MAIN, repository = MODEL_REPOSITORY, extraArgs: string[] = []): Promise<ServerChild> {
  const port = await freePort();
  const all = [...serverArgs(port, await freePort(), await freePort(), repository), ...extraArgs];
  try {
    return await startServerChild({ name: 'server', nodeArgs, script, args: all, port, readyPath: READY_PATH, cwd: ROOT });
  } catch (error) {
    // Older builds may not know every flag: retry without the ones that are not essential.
    if (!/allow-(grpc|metrics)|grpc-port|metrics-port/.test((error as Error).message)) throw error;
    const args = all.filter((a) => !/^--(allow-(grpc|metrics)|grpc-port|metrics-port)/.test(a));
    return startServerChild({ name: 'server', nodeArgs, script, args, port, readyPath: READY_PATH, cwd: ROOT });
  }
}

async function startBaseline(mode: string): Promise<ServerChild> {
  const port = await freePort();
  return startServerChild({
    name: mode, script: path.join(LIB, 'baseline-servers.js'), args: [mode, String(port)], port, readyPath: READY_PATH, cwd: ROOT,
  });
}

async function check(child: ServerChild, request: BenchRequest, simpleAnswer: boolean): Promise<void> {
  const result = await httpRequest(child.port, request.method, request.path, request.headers, request.body);
  if (simpleAnswer) {
    try {
      checkSimpleResponse(result.status, result.headers, result.body);
    } catch (error) {
      throw new Error(`${child.name}: ${(error as Error).message}`);
    }
  } else if (result.status !== 200) {
    throw new Error(`${child.name}: expected 200, got ${result.status}: ${result.body.toString('utf8').slice(0, 300)}`);
  }
}

/** A load result plus what the server process spent on it. */
interface Measured extends LoadResult {
  /** Server CPU time (every thread, user + system) per request during the measured run: robust to other load. */
  readonly serverCpuUsPerRequest?: number;
  /** Server CPU seconds per wall second during the measured run (2 = both cores of a 2-core box). */
  readonly serverCores?: number;
  /** Of serverCpuUsPerRequest, the event loop's (the main thread's); the rest is worker threads, ORT's, V8's. */
  readonly eventLoopCpuUsPerRequest?: number;
}

async function measure(tool: LoadTool, settings: LoadSettings, child: ServerChild, request: BenchRequest, label: string): Promise<Measured> {
  log(`  ${label}: ${settings.warmupSeconds}s warm-up + ${settings.durationSeconds}s, ${settings.connections} connections (${tool})`);
  if (settings.warmupSeconds > 0) await runLoad(tool, child.port, request, settings, settings.warmupSeconds, LIB);
  const pid = child.process.pid!;
  const cpuBefore = processCpuSeconds(pid);
  const threadsBefore = threadCpu(pid);
  const result = await runLoad(tool, child.port, request, settings, settings.durationSeconds, LIB);
  const cpuAfter = processCpuSeconds(pid);
  const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  // The main thread's id is the process id (Linux; no thread figures elsewhere).
  const eventLoop = threadCpuDelta(threadsBefore, threadCpu(pid)).find((thread) => thread.tid === pid)?.seconds;
  const perRequest = (seconds: number | undefined) => (seconds !== undefined && result.requests > 0 ? (seconds * 1e6) / result.requests : undefined);
  const measured: Measured = {
    ...result,
    serverCpuUsPerRequest: perRequest(cpu),
    serverCores: cpu !== undefined ? cpu / result.seconds : undefined,
    eventLoopCpuUsPerRequest: perRequest(eventLoop),
  };
  log(`    ${Math.round(result.requestsPerSecond)} req/s, ${measured.serverCpuUsPerRequest?.toFixed(0) ?? '?'} server CPU µs/request ` +
    `(event loop ${measured.eventLoopCpuUsPerRequest?.toFixed(0) ?? '?'}), ${result.failures} failures`);
  if (result.failures > 0) log(`    WARNING: ${result.failures} failed requests: this figure does not count`);
  return measured;
}

async function withChild<T>(start: () => Promise<ServerChild>, body: (child: ServerChild) => Promise<T>): Promise<T> {
  const child = await start();
  try {
    return await body(child);
  } finally {
    await child.stop();
  }
}

function formatRate(n: number | undefined): string {
  return n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
}

function printTable(rows: Row[]): void {
  const lines = [
    '| measurement | req/s (or calls/s) | server CPU µs/req | server cores busy | p50 ms | p99 ms | failures |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) =>
      `| ${r.name} — ${r.what} | ${formatRate(r.load?.requestsPerSecond ?? r.rate)} | ${r.load?.serverCpuUsPerRequest?.toFixed(0) ?? '—'} | ` +
      `${r.load?.serverCores?.toFixed(2) ?? '—'} | ${r.load?.latencyP50Ms?.toFixed(2) ?? '—'} | ${r.load?.latencyP99Ms?.toFixed(2) ?? '—'} | ${r.load ? r.load.failures : '—'} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printProfile(summary: ProfileSummary): void {
  const out = [
    '',
    `Server main thread under the JSON load (${path.basename(summary.file)}): ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms sampled`,
    ...profileTables(summary, 20, 25),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  const args = parseHttpBenchArgs(process.argv.slice(2));
  requireBuilt([SERVER_MAIN, path.join(LIB, 'baseline-servers.js'), path.join(LIB, 'ort-raw.js')], 'bench:http');
  const tool = chooseLoadTool(args.tool);
  const settings: LoadSettings = {
    connections: args.connections, warmupSeconds: args.warmup, durationSeconds: args.duration, wrkThreads: args.wrkThreads,
  };
  const machine = machineInfo();
  const toolLine = tool === 'wrk'
    ? `wrk (${settings.wrkThreads} thread${settings.wrkThreads === 1 ? '' : 's'})`
    : 'autocannon (in a child process)';
  log(`machine: ${describeMachine(machine)}`);
  log(`load generator: ${toolLine}`);

  const json = simpleJsonRequest();
  const binary = simpleBinaryRequest();

  // Every server is started (and checked) first and stays up, idle, while the others are measured; the rows are then
  // measured one after the other, round after round, and each row reports its median round. Interleaving rounds
  // spreads drifts in machine load (other work on a shared 2-core box) over all rows instead of one.
  const children: ServerChild[] = [];
  const plans: Plan[] = [];
  const scratchRepositories: string[] = [];
  /** A scratch repository holding `simple` with `configLines` added to its config.pbtxt. */
  const simpleWith = (name: string, configLines: string): string => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `bench-http-${name}-`));
    scratchRepositories.push(root);
    fs.cpSync(path.join(MODEL_REPOSITORY, 'simple'), path.join(root, 'simple'), { recursive: true });
    fs.appendFileSync(path.join(root, 'simple', 'config.pbtxt'), `\n${configLines}\n`);
    return root;
  };
  let inlineRepository: string | undefined;
  try {
    log('starting servers');
    const bareChild = await startBaseline('bare');
    children.push(bareChild);
    await check(bareChild, json, false);
    plans.push({ key: 'bare', name: 'bare node:http', what: 'JSON body parsed, small JSON answer', child: bareChild, request: json });

    /** A server answering `simple` in JSON and binary: checked, then measured as two rows (`<key>-json`, `<key>-binary`). */
    const addSimpleRows = async (key: string, name: string, child: ServerChild, whatJson = '`simple` infer, JSON', whatBinary = '`simple` infer, binary extension') => {
      children.push(child);
      await check(child, json, true);
      await check(child, binary, true);
      plans.push({ key: `${key}-json`, name, what: whatJson, child, request: json });
      plans.push({ key: `${key}-binary`, name, what: whatBinary, child, request: binary });
    };
    await addSimpleRows('server', 'server', await startServer());

    if (args.compare) {
      // Another build's server (its dist/ must sit inside this repository so it finds node_modules).
      const script = path.join(args.compare, 'server', 'main.js');
      requireBuilt([script], 'bench:http');
      await addSimpleRows('compare', `server (${path.relative(ROOT, args.compare)})`, await startServer([], script));
    }

    if (args.inline) {
      // `simple` alone, opted into running its session on the event loop (execute_on_event_loop, docs/performance.md).
      inlineRepository = simpleWith('inline', 'parameters { key: "execute_on_event_loop" value: { string_value: "true" } }');
      await addSimpleRows('inline', 'server (execute_on_event_loop)', await startServer([], SERVER_MAIN, inlineRepository));
    }

    if (args.fastInfer) {
      const fastArgs = ['--http-fast-infer-path=true'];
      await addSimpleRows('fast', 'server (--http-fast-infer-path)', await startServer([], SERVER_MAIN, MODEL_REPOSITORY, fastArgs));
      if (inlineRepository) {
        await addSimpleRows('fast-inline', 'server (fast path + execute_on_event_loop)', await startServer([], SERVER_MAIN, inlineRepository, fastArgs));
      }
    }

    if (args.batching) {
      // Triton's dynamic batcher with its defaults (no delay): concurrent requests share one ORT run. Not the issue's
      // bound, which prices one run per request: a separate figure for users choosing a small model's config.
      const batchingRepository = simpleWith('batching', 'dynamic_batching { }');
      await addSimpleRows('batching', 'server (dynamic_batching { })', await startServer([], SERVER_MAIN, batchingRepository));
      if (args.fastInfer) {
        await addSimpleRows('fast-batching', 'server (fast path + dynamic_batching { })',
          await startServer([], SERVER_MAIN, batchingRepository, ['--http-fast-infer-path=true']));
      }
    }

    if (args.breakdown) {
      for (const [mode, what] of [
        ['fastify-minimal', 'fastify as it comes (its JSON parser), one POST route, fixed small answer'],
        ['fastify', 'fastify route, same work as bare'],
        ['fastify-compress', 'the same + @fastify/compress (global)'],
      ] as const) {
        const child = await startBaseline(mode);
        children.push(child);
        await check(child, json, false);
        plans.push({ key: mode, name: mode, what, child, request: json });
      }
      await addSimpleRows('codec', 'bare-codec', await startBaseline('bare-codec'),
        'node:http + the server\'s body reader and infer codec, stub facade, JSON', 'the same, binary extension');
      await addSimpleRows('stub', 'frontend-stub', await startBaseline('frontend-stub'),
        'real HTTP frontend + codec, stub facade (no scheduler/worker/ORT), JSON', 'the same, binary extension');
    }

    for (let round = 1; round <= args.rounds; round++) {
      log(`round ${round} of ${args.rounds}`);
      for (const plan of plans) {
        const result = await measure(tool, settings, plan.child, plan.request, plan.key);
        (perRow.get(plan.key) ?? perRow.set(plan.key, []).get(plan.key)!).push(result);
      }
    }
  } finally {
    for (const child of children) await child.stop();
    for (const root of scratchRepositories) fs.rmSync(root, { recursive: true, force: true });
  }
  const rows: Row[] = plans.map((plan) => ({ name: plan.name, what: plan.what, load: medianResult(perRow.get(plan.key)!) }));
  const bare = rows[0].load!;
  const serverJson = rows[1].load!;
  const serverBinary = rows[2].load!;

  log('raw onnxruntime-node (simple, batch 1, intraOpNumThreads 1)');
  const modelPath = latestVersionModel(path.join(MODEL_REPOSITORY, 'simple'));
  const ort = await runJsonChild<OrtRawResult>(
    path.join(LIB, 'ort-raw.js'), [modelPath, String(args.ortSeconds), String(args.connections)], ROOT, (args.ortSeconds * 3 + 60) * 1000,
  );
  rows.splice(3, 0,
    { name: 'onnxruntime-node', what: 'session.run, one thread (event loop)', rate: ort.main },
    { name: 'onnxruntime-node', what: 'session.run in a worker, one postMessage round trip per call', rate: ort.worker },
    { name: 'onnxruntime-node', what: `session.run in a worker, ${ort.inFlight} calls in flight`, rate: ort.workerPipelined },
  );

  let profile: ProfileSummary | undefined;
  if (args.profile) {
    log('profile: server under --cpu-prof, JSON load');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-http-prof-'));
    const pid = await withChild(() => startServer([`--cpu-prof`, `--cpu-prof-dir=${dir}`]), async (child) => {
      await measure(tool, settings, child, json, 'server JSON (profiled, not a figure)');
      return child.process.pid!;
    });
    const file = mainThreadProfile(dir, pid);
    if (file) profile = summariseProfile(file);
    else log(`  no main-thread profile in ${dir}`);
    log(`  profiles kept in ${dir}`);
  }

  process.stdout.write(`\nMachine: ${describeMachine(machine)}\nLoad generator: ${toolLine}, ${settings.connections} connections, ` +
    `${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per HTTP row, rows run one after the other, ` +
    `${args.rounds} round${args.rounds === 1 ? '' : 's'}, median round shown\n\n`);
  printTable(rows);
  const bareRate = bare.requestsPerSecond;
  const ratio = (r: Measured) => r.requestsPerSecond / bareRate;
  const cpuRatio = (r: Measured) =>
    bare.serverCpuUsPerRequest !== undefined && r.serverCpuUsPerRequest !== undefined
      ? ` [by CPU cost per request: ${(bare.serverCpuUsPerRequest / r.serverCpuUsPerRequest).toFixed(2)}]`
      : '';
  const verdict = (r: Measured) =>
    r.failures > 0 ? 'VOID (failed requests)' : ratio(r) >= TARGET_RATIO ? `target ${TARGET_RATIO} met` : `target ${TARGET_RATIO} NOT met`;
  const ratioLines = [
    '',
    `server JSON / bare node:http   = ${ratio(serverJson).toFixed(2)}  (${verdict(serverJson)})${cpuRatio(serverJson)}`,
    `server binary / bare node:http = ${ratio(serverBinary).toFixed(2)}  (${verdict(serverBinary)})${cpuRatio(serverBinary)}`,
    `raw ORT worker round trip / event-loop session.run = ${(ort.worker / ort.main).toFixed(2)}`,
  ];
  // Issue 18's bound for small requests: one core doing bare's HTTP work and raw ORT's run back to back, nothing else.
  const bound = 1 / (1 / bareRate + 1 / ort.main);
  const cpuBound = bare.serverCpuUsPerRequest !== undefined ? bare.serverCpuUsPerRequest + ort.mainCpuUsPerCall : undefined;
  ratioLines.push(
    `bound 1/(1/bare + 1/raw ORT on the event loop) = ${bound.toFixed(0)} req/s; CPU bound bare + raw ORT = ` +
      `${bare.serverCpuUsPerRequest?.toFixed(0) ?? '?'} + ${ort.mainCpuUsPerCall.toFixed(1)} = ${cpuBound?.toFixed(1) ?? '?'} µs/request`,
  );
  const codec = perRow.get('codec-json') && medianResult(perRow.get('codec-json')!);
  if (codec?.serverCpuUsPerRequest !== undefined && cpuBound !== undefined) {
    // What is left for everything between the codec and ONNX Runtime (facade, scheduler, hand-off, statistics).
    const floor = codec.serverCpuUsPerRequest + ort.mainCpuUsPerCall;
    ratioLines.push(
      `floor bare-codec + raw ORT = ${codec.serverCpuUsPerRequest.toFixed(0)} + ${ort.mainCpuUsPerCall.toFixed(1)} = ${floor.toFixed(1)} µs = ` +
        `${(floor / cpuBound).toFixed(2)} × bound: the goal leaves ${(1.33 * cpuBound - floor).toFixed(1)} µs for the rest of the server`,
    );
  }
  for (const key of ['server-json', 'server-binary', 'inline-json', 'inline-binary', 'fast-json', 'fast-binary', 'fast-inline-json', 'fast-inline-binary', 'batching-json', 'batching-binary', 'fast-batching-json', 'fast-batching-binary']) {
    const results = perRow.get(key);
    if (!results) continue;
    const row = medianResult(results);
    const cpu = row.serverCpuUsPerRequest !== undefined && cpuBound !== undefined
      ? `; CPU ${row.serverCpuUsPerRequest.toFixed(0)} µs = ${(row.serverCpuUsPerRequest / cpuBound).toFixed(2)} × bound (goal ≤ 1.33), ` +
        `event loop ${row.eventLoopCpuUsPerRequest?.toFixed(0) ?? '?'} µs of it`
      : '';
    ratioLines.push(`${key}: ${(row.requestsPerSecond / bound).toFixed(2)} × bound (goal ≥ 0.75)${cpu}`);
  }
  if (args.rounds > 1) {
    const perRound = (key: string) =>
      perRow.get(key)!.map((r, i) => (r.requestsPerSecond / perRow.get('bare')![i].requestsPerSecond).toFixed(2)).join(', ');
    ratioLines.push(`per round, server JSON / bare: ${perRound('server-json')}; server binary / bare: ${perRound('server-binary')}`);
  }
  process.stdout.write(`${ratioLines.join('\n')}\n`);
  if (profile) printProfile(profile);
  const met = ratio(serverJson) >= TARGET_RATIO && ratio(serverBinary) >= TARGET_RATIO && serverJson.failures + serverBinary.failures === 0;
  process.stdout.write(`\n${met ? 'TARGET MET' : 'TARGET NOT MET'}: server ≥ ${TARGET_RATIO} × bare node:http\n`);
}

/** The model file of the highest numbered version directory (the default version policy serves latest 1). */
function latestVersionModel(modelDir: string): string {
  const versions = fs.readdirSync(modelDir).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => b - a);
  if (versions.length === 0) throw new Error(`no version directories in ${modelDir}`);
  return path.join(modelDir, String(versions[0]), 'model.onnx');
}

main().catch((error: Error) => {
  process.stderr.write(`bench:http failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
