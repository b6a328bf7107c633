/**
 * `npm run bench:memory`: the server's resident memory around model load and unload. The server starts in explicit
 * model-control mode with nothing loaded; after a warm-up (metadata and index requests) its settled RSS is the
 * baseline. Then, `--cycles` times: load `mlp` and `simple` through the repository API, run inference load on both,
 * unload both, wait for RSS to settle. RSS is read from /proc/<pid>/status (VmRSS; VmHWM for the peak).
 * Target: RSS after unload ≤ 1.1 × RSS before the first load, after every cycle (a growing series is a leak).
 *
 * Two series side by side (`--malloc=default,image`): the server with glibc's and V8's default memory settings, and with
 * the MALLOC_* settings and NODE_OPTIONS of the Dockerfile's ENV (read from the Dockerfile, so the bench measures what
 * the image runs).
 *
 * "Settled": RSS watched for at least --settle-seconds (default 10: V8's memory reducer shrinks an idle heap only some
 * seconds after allocation stops; the server cannot be asked to GC), then until the last 2 s move less than 1 %.
 *
 * Usage: node dist/bench/memory.js [--cycles=3] [--load-seconds=3] [--connections=16] [--models=mlp,simple]
 *          [--settle-seconds=10] [--tool=wrk|autocannon] [--malloc=default,image,jemalloc,tcmalloc]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseLoadTool, LoadSettings, LoadTool, runLoad } from './lib/loadgen';
import { describeMachine, machineInfo } from './lib/machine';
import { checkMlpResponse, latestVersionModel, mlpExpected, mlpJsonRequest } from './lib/mlp';
import { freePort, httpRequest, benchPaths, requireBuilt, ServerChild, startServerChild } from './lib/processes';
import { mib, processMemory, settledRss } from './lib/rss';
import { BenchRequest, checkSimpleResponse, simpleJsonRequest } from './lib/simple-requests';
import { benchArgs } from './lib/args';
import { imageMemoryEnv } from './lib/image-env';

const TARGET_RATIO = 1.1;
const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();
const EXAMPLES = path.join(ROOT, 'examples', 'model_repository');

interface Args {
  cycles: number;
  loadSeconds: number;
  connections: number;
  models: string[];
  /** Least time RSS is watched after unload (and before the first load) before it may count as settled. */
  settleSeconds: number;
  tool?: string;
  /** Which malloc settings to run the server with, one series each. */
  malloc: MallocSeries[];
}

/**
 * `default`: glibc and V8 as they come; `image`: the Dockerfile's ENV; `jemalloc`, `tcmalloc`: the image's NODE_OPTIONS
 * with that allocator preloaded, the switch Triton's model-management guide suggests for memory growth around
 * load/unload (the library must be installed: Debian's libjemalloc2, libtcmalloc-minimal4).
 */
const MALLOC_SERIES = ['default', 'image', 'jemalloc', 'tcmalloc'] as const;
type MallocSeries = (typeof MALLOC_SERIES)[number];

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { cycles: 3, loadSeconds: 3, connections: 16, models: ['mlp', 'simple'], settleSeconds: 10, malloc: ['default', 'image'] };
  for (const { arg, key, value, number } of benchArgs(argv)) {
    if (key === 'cycles') args.cycles = Math.max(1, Math.floor(number()));
    else if (key === 'load-seconds') args.loadSeconds = number();
    else if (key === 'connections') args.connections = Math.max(1, Math.floor(number()));
    else if (key === 'models') args.models = value.split(',').filter(Boolean);
    else if (key === 'settle-seconds') args.settleSeconds = number();
    else if (key === 'tool') args.tool = value;
    else if (key === 'malloc') {
      const series = value.split(',').filter(Boolean);
      if (series.length === 0 || series.some((name) => !(MALLOC_SERIES as readonly string[]).includes(name))) {
        throw new Error(`--malloc: some of ${MALLOC_SERIES.join(', ')}; got '${value}'`);
      }
      args.malloc = series as MallocSeries[];
    }
    else throw new Error(`unknown argument '${arg}'`);
  }
  for (const model of args.models) {
    if (model !== 'mlp' && model !== 'simple') throw new Error(`--models: mlp and/or simple, got '${model}'`);
  }
  return args;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Row {
  readonly step: string;
  readonly rss: number;
  readonly peakRss?: number;
  readonly rssAnon?: number;
  readonly rssFile?: number;
  readonly note?: string;
}

async function post(child: ServerChild, urlPath: string, body = ''): Promise<void> {
  const result = await httpRequest(child.port, 'POST', urlPath, { 'content-type': 'application/json' }, Buffer.from(body), 120_000);
  if (result.status !== 200) throw new Error(`POST ${urlPath}: ${result.status} ${result.body.toString('utf8').slice(0, 300)}`);
}

const PRELOADED_ALLOCATORS: Record<string, string> = {
  jemalloc: 'libjemalloc.so.2',
  tcmalloc: 'libtcmalloc_minimal.so.4',
};

/** The environment of one series (see MallocSeries). */
function seriesEnv(name: MallocSeries): Record<string, string> {
  if (name === 'default') return {};
  const image = imageMemoryEnv(ROOT);
  if (name === 'image') return image;
  const library = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
    .map((dir) => path.join(dir, PRELOADED_ALLOCATORS[name]))
    .find((file) => fs.existsSync(file));
  if (!library) throw new Error(`--malloc=${name}: ${PRELOADED_ALLOCATORS[name]} is not installed`);
  const env: Record<string, string> = { LD_PRELOAD: library };
  if (image.NODE_OPTIONS) env.NODE_OPTIONS = image.NODE_OPTIONS;
  // jemalloc purges unused pages on its own only with a background thread; otherwise only when allocating.
  if (name === 'jemalloc') env.MALLOC_CONF = process.env.BENCH_MALLOC_CONF ?? 'background_thread:true';
  return env;
}

interface Series {
  readonly name: MallocSeries;
  readonly env: Record<string, string>;
  readonly rows: Row[];
  readonly baseline: number;
  readonly afterUnload: number[];
}

interface Workload {
  readonly args: Args;
  readonly tool: LoadTool;
  readonly settings: LoadSettings;
  readonly requests: Record<string, BenchRequest>;
  check(port: number, model: string): Promise<void>;
}

/** One server, its settled baseline, then `cycles` of load → traffic → unload → settled RSS. */
async function runSeries(name: MallocSeries, env: Record<string, string>, work: Workload): Promise<Series> {
  const { args } = work;
  log(`series '${name}': ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ') || "glibc's defaults"}`);
  const port = await freePort();
  const child = await startServerChild({
    name: 'server',
    script: SERVER_MAIN,
    args: [
      `--model-repository=${EXAMPLES}`, `--http-port=${port}`, '--grpc-port=0', '--metrics-port=0', '--host=127.0.0.1',
      '--model-control-mode=explicit',
    ],
    port,
    readyPath: '/v2/health/live',
    cwd: ROOT,
    env,
  });
  const pid = child.process.pid!;
  const rows: Row[] = [];
  const record = (step: string, rss: number, note?: string) => {
    const now = processMemory(pid);
    rows.push({ step, rss, peakRss: now?.peakRss, rssAnon: now?.rssAnon, rssFile: now?.rssFile, note });
    log(`  ${step}: RSS ${mib(rss).toFixed(1)} MiB (anon ${mib(now?.rssAnon ?? NaN).toFixed(1)}, file ${mib(now?.rssFile ?? NaN).toFixed(1)}, peak ${mib(now?.peakRss ?? NaN).toFixed(1)})${note ? ` — ${note}` : ''}`);
  };
  const afterUnload: number[] = [];
  let baseline: number;
  try {
    log('warm-up: metadata, health and index requests, no model loaded');
    record('started (no model)', processMemory(pid)!.rss);
    const warmEnd = Date.now() + 2000;
    while (Date.now() < warmEnd) {
      await httpRequest(port, 'GET', '/v2');
      await httpRequest(port, 'GET', '/v2/health/ready');
      await httpRequest(port, 'POST', '/v2/repository/index', {}, Buffer.from('{}'));
    }
    const settled = await settledRss(pid, { minMs: args.settleSeconds * 1000, maxMs: args.settleSeconds * 1000 + 20_000 });
    baseline = settled.rss;
    record('before load (settled)', baseline, `settled after ${(settled.waitedMs / 1000).toFixed(1)} s${settled.settled ? '' : ' (still moving)'}`);

    for (let cycle = 1; cycle <= args.cycles; cycle++) {
      log(`cycle ${cycle} of ${args.cycles}`);
      for (const model of args.models) await post(child, `/v2/repository/models/${model}/load`);
      for (const model of args.models) await work.check(port, model);
      record(`cycle ${cycle}: loaded ${args.models.join(' + ')}`, processMemory(pid)!.rss);
      for (const model of args.models) {
        const result = await runLoad(work.tool, port, work.requests[model], work.settings, args.loadSeconds, LIB);
        if (result.failures > 0) throw new Error(`${model}: ${result.failures} failed requests under load`);
        record(`cycle ${cycle}: after ${Math.round(result.requests)} ${model} requests`, processMemory(pid)!.rss, `${Math.round(result.requestsPerSecond)} req/s`);
      }
      for (const model of args.models) await post(child, `/v2/repository/models/${model}/unload`);
      // Unload answers once the model is gone; the worker threads' memory goes back to the OS when they exit.
      for (const model of args.models) {
        const ready = await httpRequest(port, 'GET', `/v2/models/${model}/ready`);
        if (ready.status === 200) throw new Error(`${model} still ready after unload`);
      }
      await sleep(500);
      const after = await settledRss(pid, { minMs: args.settleSeconds * 1000, maxMs: args.settleSeconds * 1000 + 20_000 });
      afterUnload.push(after.rss);
      record(`cycle ${cycle}: after unload (settled)`, after.rss,
        `${(after.rss / baseline).toFixed(2)} × before load; settled after ${(after.waitedMs / 1000).toFixed(1)} s${after.settled ? '' : ' (still moving)'}`);
    }
  } finally {
    await child.stop();
  }
  return { name, env, rows, baseline, afterUnload };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  requireBuilt([SERVER_MAIN], 'bench:memory');
  // Each series sets its own memory settings: none may leak in from the shell running the bench.
  for (const key of Object.keys(process.env)) if (key.startsWith('MALLOC_') || key === 'NODE_OPTIONS' || key === 'LD_PRELOAD') delete process.env[key];
  const tool: LoadTool = chooseLoadTool(args.tool);
  const machine = machineInfo();
  log(`machine: ${describeMachine(machine)}`);
  const mlpSeed = 7;
  const [mlpAnswer] = await mlpExpected(latestVersionModel(path.join(EXAMPLES, 'mlp')), [mlpSeed]);
  const requests: Record<string, BenchRequest> = { mlp: mlpJsonRequest(mlpSeed), simple: simpleJsonRequest() };
  const work: Workload = {
    args,
    tool,
    settings: { connections: args.connections, warmupSeconds: 0, durationSeconds: args.loadSeconds, wrkThreads: 1 },
    requests,
    async check(port, model) {
      const request = requests[model];
      const result = await httpRequest(port, request.method, request.path, request.headers, request.body);
      if (model === 'mlp') checkMlpResponse(result.status, result.body, mlpAnswer);
      else checkSimpleResponse(result.status, result.headers, result.body);
    },
  };
  const series: Series[] = [];
  for (const name of args.malloc) series.push(await runSeries(name, seriesEnv(name), work));

  const out: string[] = [];
  out.push(`\nMachine: ${describeMachine(machine)}`);
  out.push(
    `Server: node dist/server/main.js --model-repository=examples/model_repository --model-control-mode=explicit (no model at start); ` +
      `${args.cycles} cycles of load ${args.models.join(' + ')} → ${args.loadSeconds} s of ${tool} load per model (${args.connections} connections, JSON) → unload. ` +
      `RSS = VmRSS of /proc/<pid>/status; "settled" = watched ≥ ${args.settleSeconds} s, then the median of the last 2 s once their spread is within 1 %.`,
  );
  const m = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? '—' : mib(bytes).toFixed(1));
  const worstRatio = (s: Series) => Math.max(...s.afterUnload) / s.baseline;
  for (const s of series) {
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`).join(' ') || "glibc's defaults";
    out.push('', `### malloc: ${s.name} (${env})`, '');
    out.push('| step | RSS MiB | anon MiB | file MiB | peak RSS MiB (VmHWM) | note |', '|---|---:|---:|---:|---:|---|');
    for (const row of s.rows) out.push(`| ${row.step} | ${m(row.rss)} | ${m(row.rssAnon)} | ${m(row.rssFile)} | ${m(row.peakRss)} | ${row.note ?? ''} |`);
    const last = s.afterUnload[s.afterUnload.length - 1];
    const growth = s.afterUnload.length > 1 ? (last - s.afterUnload[0]) / (s.afterUnload.length - 1) : 0;
    out.push('');
    out.push(`${s.name}: after unload / before load: last cycle ${(last / s.baseline).toFixed(2)}, worst cycle ${worstRatio(s).toFixed(2)} (target ≤ ${TARGET_RATIO})`);
    out.push(`${s.name}: after-unload RSS per cycle (MiB): ${s.afterUnload.map((r) => mib(r).toFixed(1)).join(', ')}; growth ${mib(growth).toFixed(1)} MiB per cycle after the first`);
  }
  const byName = new Map(series.map((s) => [s.name, s]));
  const image = byName.get('image');
  const plain = byName.get('default');
  if (image && plain) {
    const lastOf = (s: Series) => s.afterUnload[s.afterUnload.length - 1];
    out.push('', `image / default malloc settings, RSS after the last unload: ${(lastOf(image) / lastOf(plain)).toFixed(2)} (${m(lastOf(image))} vs ${m(lastOf(plain))} MiB)`);
  }
  for (const s of series) {
    out.push(`${worstRatio(s) <= TARGET_RATIO ? 'TARGET MET' : 'TARGET NOT MET'} (${s.name}): RSS after unload ≤ ${TARGET_RATIO} × before load, every cycle`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench:memory failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
