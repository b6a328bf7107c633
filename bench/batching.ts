/**
 * `npm run bench:batching`: the example model `mlp` (FP32 [784] → [10]) under many concurrent batch-1 HTTP JSON clients,
 * dynamic batching off vs on, beside the two costs that bound a server on these cores, measured in the same run:
 *  - compute: raw onnxruntime-node session.run on one thread at its best batch size (inferences per second);
 *  - HTTP: a bare node:http server reading and JSON.parse-ing the same request body (requests per second).
 * A server that did both on one core with no overhead would answer 1 / (1/http + 1/compute) req/s; the figure of merit is
 * server / that bound (target ≥ 0.8).
 *
 * Every server variant runs from a scratch copy of the example repository (only `mlp`, its config.pbtxt changed:
 * dynamic_batching, preferred sizes, instance count), all started up front and idle while the others are measured;
 * rows run one after the other, round after round, and each reports its median round (a shared noisy machine drifts).
 *
 * Variant names: `off` (the example config: no dynamic_batching), `d<µs>` (dynamic_batching with that
 * max_queue_delay_microseconds), with optional suffixes `-p<a>/<b>/...` (preferred_batch_size), `-i<n>` (instance_group
 * count), `-t<n>` (--backend-config=onnxruntime,intra_op_thread_count=<n>). Example: `d1000-p16/32-i2`.
 *
 * Usage: node dist/bench/batching.js [--connections=64] [--warmup=2] [--duration=8] [--rounds=3]
 *          [--variants=off,d500,d1000,d2000,d1000-p16/32/64,d1000-i2,d1000-t2] [--ort-batches=1,2,4,...|all] [--ort-seconds=0.3]
 *          [--tool=wrk|autocannon] [--wrk-threads=1] [--profile[=<variant>]]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProfileSummary, profileTables, summariseProfile } from './lib/cpuprofile';
import { chooseLoadTool, LoadResult, LoadSettings, LoadTool, runLoad } from './lib/loadgen';
import { describeMachine, machineInfo } from './lib/machine';
import {
  checkMlpConcurrent, latestVersionModel, MLP_INPUT_SIZE, mlpConfigText, mlpExpected, mlpJsonRequest, MlpVariant, modelStats,
  scratchRepository, StatsDelta, statsDelta,
} from './lib/mlp';
import type { OrtBatchConfig, OrtBatchResult, OrtBatchRow } from './lib/ort-batch';
import { freePort, httpRequest, processCpuSeconds, benchPaths, requireBuilt, runJsonChild, ServerChild, startServerChild } from './lib/processes';
import type { BenchRequest } from './lib/simple-requests';
import { benchArgs } from './lib/args';

const TARGET_RATIO = 0.8;
const READY_PATH = '/v2/health/ready';
const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();
const EXAMPLES = path.join(ROOT, 'examples', 'model_repository');
const DEFAULT_ORT_BATCHES = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64];
const DEFAULT_VARIANTS = ['off', 'd500', 'd1000', 'd2000', 'd1000-p16/32/64', 'd1000-i2', 'd1000-t2'];

interface Args {
  tool?: string;
  connections: number;
  warmup: number;
  duration: number;
  rounds: number;
  wrkThreads: number;
  variants: string[];
  ortBatches: number[];
  ortSeconds: number;
  /** undefined: no profile; '' : the best batching variant; else a variant name. */
  profile?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    connections: 64, warmup: 2, duration: 8, rounds: 3, wrkThreads: 1, variants: DEFAULT_VARIANTS, ortBatches: DEFAULT_ORT_BATCHES,
    ortSeconds: 0.3,
  };
  for (const { arg, key, value, number } of benchArgs(argv)) {
    if (key === 'tool') args.tool = value;
    else if (key === 'connections') args.connections = Math.max(1, Math.floor(number()));
    else if (key === 'warmup') args.warmup = number();
    else if (key === 'duration') args.duration = number();
    else if (key === 'rounds') args.rounds = Math.max(1, Math.floor(number()));
    else if (key === 'wrk-threads') args.wrkThreads = Math.max(1, Math.floor(number()));
    else if (key === 'variants') args.variants = value.split(',').filter(Boolean);
    else if (key === 'ort-batches') {
      args.ortBatches = value === 'all' ? Array.from({ length: 64 }, (_, i) => i + 1) : value.split(',').map(Number);
      if (args.ortBatches.some((b) => !(Number.isInteger(b) && b >= 1 && b <= 64))) throw new Error(`--ort-batches: 1..64, got '${value}'`);
    } else if (key === 'ort-seconds') args.ortSeconds = number();
    else if (key === 'profile') args.profile = value ?? '';
    else throw new Error(`unknown argument '${arg}'`);
  }
  for (const name of args.variants) parseVariant(name);
  return args;
}

interface Variant extends MlpVariant {
  readonly name: string;
  readonly intraOpThreads?: number;
}

function parseVariant(name: string): Variant {
  const [head, ...suffixes] = name.split('-');
  let queueDelayUs: number | undefined;
  if (head === 'off') queueDelayUs = undefined;
  else if (/^d\d+$/.test(head)) queueDelayUs = Number(head.slice(1));
  else throw new Error(`variant '${name}': must start with 'off' or 'd<µs>'`);
  let preferredBatchSizes: number[] | undefined;
  let instances: number | undefined;
  let intraOpThreads: number | undefined;
  for (const suffix of suffixes) {
    if (/^p\d+(\/\d+)*$/.test(suffix)) preferredBatchSizes = suffix.slice(1).split('/').map(Number);
    else if (/^i\d+$/.test(suffix)) instances = Number(suffix.slice(1));
    else if (/^t\d+$/.test(suffix)) intraOpThreads = Number(suffix.slice(1));
    else throw new Error(`variant '${name}': unknown suffix '${suffix}' (p<a>/<b>, i<n>, t<n>)`);
  }
  if (preferredBatchSizes && queueDelayUs === undefined) throw new Error(`variant '${name}': preferred sizes need dynamic batching`);
  return { name, queueDelayUs, preferredBatchSizes, instances, intraOpThreads };
}

/** What the variant changes, in words. */
function describeVariant(variant: Variant): string {
  const parts: string[] = [];
  if (variant.queueDelayUs === undefined) parts.push('batching off');
  else {
    parts.push(`dynamic_batching, max_queue_delay ${variant.queueDelayUs} µs`);
    if (variant.preferredBatchSizes) parts.push(`preferred [${variant.preferredBatchSizes.join(', ')}]`);
  }
  parts.push(`${variant.instances ?? 1} instance${(variant.instances ?? 1) === 1 ? '' : 's'}`);
  parts.push(`intra-op ${variant.intraOpThreads ?? 1} thread${(variant.intraOpThreads ?? 1) === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** A load result plus what the server process spent on it and what its scheduler did. */
interface Measured extends LoadResult {
  /** Server CPU time (every thread) per request during the measured run, µs. */
  readonly serverCpuUsPerRequest?: number;
  /** Server CPU seconds per wall second (2 = both cores). */
  readonly serverCores?: number;
  readonly stats?: StatsDelta;
}

interface Plan {
  readonly key: string;
  readonly what: string;
  readonly child: ServerChild;
  readonly request: BenchRequest;
  readonly variant?: Variant;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The round with the median rate; failures summed over every round (any failure voids the row). */
function medianResult(results: Measured[]): Measured {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...mid, failures: results.reduce((sum, r) => sum + r.failures, 0) };
}

/** 1 / (1/http + 1/compute): both costs paid one after the other on one core. */
function bound(http: number, compute: number): number {
  return 1 / (1 / http + 1 / compute);
}

async function startVariant(variant: Variant, repository: string, nodeArgs: string[] = []): Promise<ServerChild> {
  const port = await freePort();
  const args = [
    `--model-repository=${repository}`,
    `--http-port=${port}`,
    '--grpc-port=0',
    '--metrics-port=0',
    '--host=127.0.0.1',
    ...(variant.intraOpThreads !== undefined ? [`--backend-config=onnxruntime,intra_op_thread_count=${variant.intraOpThreads}`] : []),
  ];
  return startServerChild({ name: `server ${variant.name}`, nodeArgs, script: SERVER_MAIN, args, port, readyPath: READY_PATH, cwd: ROOT });
}

async function startBare(): Promise<ServerChild> {
  const port = await freePort();
  return startServerChild({
    name: 'bare', script: path.join(LIB, 'baseline-servers.js'), args: ['bare', String(port)], port, readyPath: READY_PATH, cwd: ROOT,
  });
}

async function measure(tool: LoadTool, settings: LoadSettings, plan: Plan): Promise<Measured> {
  const { child, request } = plan;
  log(`  ${plan.key}: ${settings.warmupSeconds}s warm-up + ${settings.durationSeconds}s, ${settings.connections} connections (${tool})`);
  if (settings.warmupSeconds > 0) await runLoad(tool, child.port, request, settings, settings.warmupSeconds, LIB);
  const pid = child.process.pid!;
  const statsBefore = plan.variant ? await modelStats(child.port) : undefined;
  const cpuBefore = processCpuSeconds(pid);
  const result = await runLoad(tool, child.port, request, settings, settings.durationSeconds, LIB);
  const cpuAfter = processCpuSeconds(pid);
  const statsAfter = plan.variant ? await modelStats(child.port) : undefined;
  const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  const measured: Measured = {
    ...result,
    serverCpuUsPerRequest: cpu !== undefined && result.requests > 0 ? (cpu * 1e6) / result.requests : undefined,
    serverCores: cpu !== undefined ? cpu / result.seconds : undefined,
    stats: statsDelta(statsBefore, statsAfter),
  };
  const batch = measured.stats ? `, average batch ${measured.stats.averageBatch.toFixed(1)}` : '';
  log(`    ${Math.round(result.requestsPerSecond)} req/s, ${measured.serverCpuUsPerRequest?.toFixed(0) ?? '?'} server CPU µs/request${batch}, ${result.failures} failures`);
  if (result.failures > 0) log(`    WARNING: ${result.failures} failed requests: this figure does not count`);
  return measured;
}

async function measureOrt(modelPath: string, args: Args, intraOpThreads: number): Promise<OrtBatchResult> {
  const config: OrtBatchConfig = {
    modelPath, inputName: 'INPUT0', sampleSize: MLP_INPUT_SIZE, batchSizes: args.ortBatches, secondsPerBatch: args.ortSeconds,
    rounds: 1, intraOpThreads,
  };
  const timeoutMs = (args.ortBatches.length * (args.ortSeconds + 0.2) * 2 + 60) * 1000;
  return runJsonChild<OrtBatchResult>(path.join(LIB, 'ort-batch.js'), [JSON.stringify(config)], ROOT, timeoutMs);
}

/** Per batch size, the median over rounds; best = the size with the highest median inferences per second. */
function ortMedian(results: readonly OrtBatchResult[]): OrtBatchResult {
  const rows = results[0].rows.map((row, i): OrtBatchRow => {
    const calls = median(results.map((r) => r.rows[i].callsPerSecond));
    return { batch: row.batch, callsPerSecond: calls, samplesPerSecond: calls * row.batch, usPerCall: 1e6 / calls };
  });
  return { intraOpThreads: results[0].intraOpThreads, rows, best: rows.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a)) };
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '—' : digits === 0 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits);

function serverTable(plans: readonly Plan[], rows: ReadonlyMap<string, Measured>): string {
  const lines = [
    '| row | what | req/s | server CPU µs/req | server cores busy | avg batch | queue µs/req | compute µs/exec (infer) | p50 ms | p99 ms | failures |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const plan of plans) {
    const r = rows.get(plan.key)!;
    const s = r.stats;
    lines.push(
      `| ${plan.key} | ${plan.what} | ${fmt(r.requestsPerSecond)} | ${fmt(r.serverCpuUsPerRequest)} | ${fmt(r.serverCores, 2)} | ` +
        `${fmt(s?.averageBatch, 1)} | ${fmt(s?.queueUsPerRequest)} | ${s ? `${fmt(s.computeUsPerExecution)} (${fmt(s.inferUsPerExecution)})` : '—'} | ` +
        `${fmt(r.latencyP50Ms, 2)} | ${fmt(r.latencyP99Ms, 2)} | ${r.failures} |`,
    );
  }
  return lines.join('\n');
}

function ortTable(result: OrtBatchResult): string {
  return [
    `| batch | session.run calls/s | inferences/s | µs per call |`,
    '|---:|---:|---:|---:|',
    ...result.rows.map((r) =>
      `| ${r.batch}${r.batch === result.best.batch ? ' (best)' : ''} | ${fmt(r.callsPerSecond)} | ${fmt(r.samplesPerSecond)} | ${fmt(r.usPerCall)} |`,
    ),
  ].join('\n');
}

/** Every thread's profile the server wrote (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; tid 0 = main thread). */
function threadProfiles(dir: string, pid: number): Array<{ tid: string; file: string }> {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid))
    .map((f) => ({ tid: f.split('.')[4], file: path.join(dir, f) }))
    .sort((a, b) => Number(a.tid) - Number(b.tid));
}

function profileText(label: string, summary: ProfileSummary): string {
  return [
    '',
    `${label} (${path.basename(summary.file)}): ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms sampled`,
    ...profileTables(summary, 15, 20),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  requireBuilt([SERVER_MAIN, path.join(LIB, 'baseline-servers.js'), path.join(LIB, 'ort-batch.js')], 'bench:batching');
  const tool = chooseLoadTool(args.tool);
  const settings: LoadSettings = {
    connections: args.connections, warmupSeconds: args.warmup, durationSeconds: args.duration, wrkThreads: args.wrkThreads,
  };
  const machine = machineInfo();
  const toolLine = tool === 'wrk' ? `wrk (${settings.wrkThreads} thread${settings.wrkThreads === 1 ? '' : 's'})` : 'autocannon (in a child process)';
  log(`machine: ${describeMachine(machine)}`);
  log(`load generator: ${toolLine}`);

  const modelPath = latestVersionModel(path.join(EXAMPLES, 'mlp'));
  const request = mlpJsonRequest(1);
  const checkSeeds = Array.from({ length: 64 }, (_, i) => 1000 + i);
  const expected = await mlpExpected(modelPath, checkSeeds);
  const variants = args.variants.map(parseVariant);

  const children: ServerChild[] = [];
  const repositories: string[] = [];
  const plans: Plan[] = [];
  const perRow = new Map<string, Measured[]>();
  const ortRounds: OrtBatchResult[] = [];
  const boundPerRound: number[] = [];
  let profile: { variant: string; summaries: Array<{ label: string; summary: ProfileSummary }>; dir: string } | undefined;
  try {
    log(`starting servers (bare + ${variants.length} variants of mlp)`);
    const bare = await startBare();
    children.push(bare);
    const bareCheck = await httpRequest(bare.port, request.method, request.path, request.headers, request.body);
    if (bareCheck.status !== 200) throw new Error(`bare: expected 200, got ${bareCheck.status}`);
    plans.push({ key: 'bare', what: 'bare node:http: reads the mlp body, JSON.parse, small JSON answer', child: bare, request });

    for (const variant of variants) {
      const repository = scratchRepository(EXAMPLES, variant);
      repositories.push(repository);
      const child = await startVariant(variant, repository);
      children.push(child);
      // 64 distinct requests at once: the batcher merges them; every answer must be ORT's for its own input.
      await checkMlpConcurrent(child.port, checkSeeds, expected);
      plans.push({ key: variant.name, what: `server, ${describeVariant(variant)}`, child, request, variant });
    }

    for (let round = 1; round <= args.rounds; round++) {
      log(`round ${round} of ${args.rounds}`);
      for (const plan of plans) {
        const result = await measure(tool, settings, plan);
        (perRow.get(plan.key) ?? perRow.set(plan.key, []).get(plan.key)!).push(result);
      }
      log(`  raw onnxruntime-node, batch sizes ${args.ortBatches.join(',')}, ${args.ortSeconds}s each, intra-op 1 thread`);
      const ort = await measureOrt(modelPath, args, 1);
      ortRounds.push(ort);
      log(`    best batch ${ort.best.batch}: ${Math.round(ort.best.samplesPerSecond)} inferences/s`);
      boundPerRound.push(bound(perRow.get('bare')![round - 1].requestsPerSecond, ort.best.samplesPerSecond));
    }

    if (args.profile !== undefined) {
      const batchingKeys = plans.filter((p) => p.variant?.queueDelayUs !== undefined).map((p) => p.key);
      const best = [...batchingKeys].sort((a, b) => medianResult(perRow.get(b)!).requestsPerSecond - medianResult(perRow.get(a)!).requestsPerSecond)[0];
      const name = args.profile || best || variants[0].name;
      const variant = parseVariant(name);
      log(`profile: server ${name} under --cpu-prof (not a figure)`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batching-prof-'));
      const repository = scratchRepository(EXAMPLES, variant);
      repositories.push(repository);
      const child = await startVariant(variant, repository, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      let pid: number;
      try {
        await measure(tool, settings, { key: `${name} (profiled)`, what: '', child, request, variant });
        pid = child.process.pid!;
      } finally {
        await child.stop();
      }
      const summaries = threadProfiles(dir, pid).map(({ tid, file }) => ({
        label: tid === '0' ? 'Server main thread (event loop)' : `Server thread ${tid} (worker)`,
        summary: summariseProfile(file),
      }));
      // The bare server under the same load, for a side-by-side of what HTTP + JSON.parse alone cost.
      const bareDir = fs.mkdtempSync(path.join(dir, 'bare-'));
      const barePort = await freePort();
      const bareChild = await startServerChild({
        name: 'bare (profiled)', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${bareDir}`], script: path.join(LIB, 'baseline-servers.js'),
        args: ['bare', String(barePort)], port: barePort, readyPath: READY_PATH, cwd: ROOT,
      });
      try {
        await measure(tool, settings, { key: 'bare (profiled)', what: '', child: bareChild, request });
      } finally {
        await bareChild.stop();
      }
      const bareMain = threadProfiles(bareDir, bareChild.process.pid!).find((p) => p.tid === '0');
      if (bareMain) summaries.push({ label: 'Bare node:http main thread', summary: summariseProfile(bareMain.file) });
      profile = { variant: name, summaries, dir };
      log(`  profiles kept in ${dir}`);
    }
  } finally {
    for (const child of children) await child.stop();
    for (const repository of repositories) fs.rmSync(repository, { recursive: true, force: true });
  }

  const rows = new Map(plans.map((plan) => [plan.key, medianResult(perRow.get(plan.key)!)]));
  const ort = ortMedian(ortRounds);
  const http = rows.get('bare')!.requestsPerSecond;
  const compute = ort.best.samplesPerSecond;
  const ideal = bound(http, compute);
  const serverPlans = plans.filter((p) => p.variant);
  const bestOn = serverPlans
    .filter((p) => p.variant!.queueDelayUs !== undefined)
    .sort((a, b) => rows.get(b.key)!.requestsPerSecond - rows.get(a.key)!.requestsPerSecond)[0];

  const out: string[] = [];
  out.push(`\nMachine: ${describeMachine(machine)}`);
  out.push(
    `Load: ${toolLine}, ${settings.connections} connections, each sending the same batch-1 mlp JSON request (${request.body.length} bytes, ` +
      `784 FP32 values with 4 decimals); ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per row; rows interleaved, ` +
      `${args.rounds} round${args.rounds === 1 ? '' : 's'}, median round shown. Server: node dist/server/main.js --grpc-port=0 --metrics-port=0, ` +
      'scratch repository holding only mlp.',
  );
  out.push('', serverTable(plans, rows));
  out.push(
    '',
    `Raw onnxruntime-node, mlp, session.run on one thread, intra-op 1 thread (median of ${ortRounds.length} interleaved pass${ortRounds.length === 1 ? '' : 'es'}, ${args.ortSeconds} s per size):`,
    '',
    ortTable(ort),
  );
  const configOf = (plan: Plan) => {
    const v = plan.variant!;
    const parts = [
      v.queueDelayUs !== undefined ? mlpConfigText('', { queueDelayUs: v.queueDelayUs, preferredBatchSizes: v.preferredBatchSizes }).trim().replace(/\s+/g, ' ') : '',
      v.instances !== undefined ? `instance_group count: ${v.instances}` : '',
      v.intraOpThreads !== undefined ? `--backend-config=onnxruntime,intra_op_thread_count=${v.intraOpThreads}` : '',
    ].filter(Boolean);
    return parts.join('; ') || '(example config unchanged)';
  };
  out.push('');
  out.push(`compute (raw ORT, best batch ${ort.best.batch}) = ${fmt(compute)} inferences/s`);
  out.push(`http (bare node:http, same body, ${settings.connections} connections) = ${fmt(http)} req/s`);
  out.push(`bound 1 / (1/http + 1/compute) = ${fmt(ideal)} req/s`);
  for (const plan of serverPlans) {
    const r = rows.get(plan.key)!;
    const ratio = r.requestsPerSecond / ideal;
    const perRound = perRow.get(plan.key)!.map((m, i) => (m.requestsPerSecond / boundPerRound[i]).toFixed(2)).join(', ');
    const verdict = r.failures > 0 ? 'VOID (failed requests)' : ratio >= TARGET_RATIO ? `target ${TARGET_RATIO} met` : `target ${TARGET_RATIO} NOT met`;
    out.push(`server ${plan.key} / bound = ${ratio.toFixed(2)}  (${verdict}; per round ${perRound})`);
  }
  if (bestOn) {
    const off = rows.get('off');
    const on = rows.get(bestOn.key)!;
    out.push('');
    out.push(`best batching variant: ${bestOn.key} — ${describeVariant(bestOn.variant!)}; config.pbtxt addition: ${configOf(bestOn)}`);
    if (off) out.push(`batching on (${bestOn.key}) / off = ${(on.requestsPerSecond / off.requestsPerSecond).toFixed(2)}`);
    // CPU view: what one request costs the server against what HTTP + compute alone cost (robust to other load).
    const bare = rows.get('bare')!;
    if (on.serverCpuUsPerRequest !== undefined && bare.serverCpuUsPerRequest !== undefined) {
      const computeUs = 1e6 / compute;
      out.push(
        `CPU per request: server ${bestOn.key} ${fmt(on.serverCpuUsPerRequest)} µs; bare HTTP ${fmt(bare.serverCpuUsPerRequest)} µs + ` +
          `raw compute ${fmt(computeUs)} µs (at batch ${ort.best.batch}) = ${fmt(bare.serverCpuUsPerRequest + computeUs)} µs ` +
          `→ CPU ratio ${((bare.serverCpuUsPerRequest + computeUs) / on.serverCpuUsPerRequest).toFixed(2)}`,
      );
    }
    const ratio = on.requestsPerSecond / ideal;
    out.push('', `${ratio >= TARGET_RATIO && on.failures === 0 ? 'TARGET MET' : 'TARGET NOT MET'}: server (${bestOn.key}) ≥ ${TARGET_RATIO} × 1/(1/http + 1/compute)`);
  }
  if (profile) {
    out.push('', `Profile of ${profile.variant} under the same load (profiles kept in ${profile.dir}):`);
    for (const { label, summary } of profile.summaries) out.push(profileText(label, summary));
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench:batching failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
