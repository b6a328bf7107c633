/**
 * `npm run bench:handoff`: the cost of handing one small execution to an ONNX Runtime worker thread, side by side in
 * one run, on `examples/model_repository/simple/2/model.onnx` (INT32 [1,16] × 2 → 2 outputs), batch 1:
 *  - inline:  session.run on this thread (reference only: the server never does this, session.run blocks its thread);
 *  - message: the server's OnnxRuntimeInstance with `sharedMemory: false`: one postMessage per job each way;
 *  - shared:  the same class with its shared-memory ring (server/backends/onnxruntime/shared-channel.ts): tensors
 *             copied into a SharedArrayBuffer, Atomics.wait in the worker, Atomics.waitAsync on the event loop.
 * Each at 1 and 16 calls in flight (closed loop: a call starts when one finishes; one `execute` = one job), and
 * `2x8`: two executeMany jobs of 8 runs in flight, which is what the scheduler sends an unbatched instance under load.
 * Fresh input arrays per call, as a decoded request brings. Rows interleave round after round; each reports its
 * median round. Columns: calls/s, µs/call (wall), process CPU µs/call (all threads), event-loop busy µs/call
 * (the main thread: what the HTTP/gRPC frontends compete for).
 *
 * Usage: node dist/bench/handoff.js [--seconds=1.5] [--warmup=0.3] [--rounds=3] [--model=<path>]
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { OnnxRuntimeInstance } from '../server/backends/onnxruntime/instance';
import type { WorkerInit } from '../server/backends/onnxruntime/messages';
import type { Tensor } from '../server/core/tensor';
import { describeMachine, machineInfo } from './lib/machine';
import { repoRoot } from './lib/processes';
import { benchArgs } from './lib/args';

interface Args {
  seconds: number;
  warmup: number;
  rounds: number;
  model: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    seconds: 1.5, warmup: 0.3, rounds: 3, model: path.join(repoRoot(), 'examples', 'model_repository', 'simple', '2', 'model.onnx'),
  };
  for (const { arg, key, value, number } of benchArgs(argv, { positive: true })) {
    if (key === 'model') args.model = value;
    else if (key === 'seconds' || key === 'warmup' || key === 'rounds') {
      const n = number();
      args[key] = key === 'rounds' ? Math.floor(n) : n;
    } else throw new Error(`unknown argument '${arg}'`);
  }
  return args;
}

/** One closed-loop call: resolves when the outputs are back on this thread. */
type Call = (runs: number) => Promise<void>;

interface Row {
  readonly mode: 'inline' | 'message' | 'shared';
  /** Jobs in flight × runs per job. */
  readonly lanes: number;
  readonly runsPerJob: number;
}

interface Sample {
  readonly callsPerSecond: number;
  readonly cpuUsPerCall: number;
  readonly loopBusyUsPerCall: number;
}

const ROWS: Row[] = (['inline', 'message', 'shared'] as const).flatMap((mode) => [
  { mode, lanes: 1, runsPerJob: 1 },
  { mode, lanes: 16, runsPerJob: 1 },
  { mode, lanes: 2, runsPerJob: 8 },
]);

const rowName = (row: Row) => (row.runsPerJob === 1 ? `${row.lanes}` : `${row.lanes}x${row.runsPerJob}`);

function inputs(): Tensor[] {
  const input0 = new Int32Array(16);
  const input1 = new Int32Array(16);
  for (let i = 0; i < 16; i++) {
    input0[i] = i;
    input1[i] = 1;
  }
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: input0 },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: input1 },
  ];
}

function check(mode: string, outputs: Array<{ data: unknown }>): void {
  const [sum, difference] = outputs.map((o) => o.data as Int32Array);
  for (let i = 0; i < 16; i++) {
    if (sum[i] !== i + 1 || difference[i] !== i - 1) throw new Error(`${mode}: wrong output at ${i}: ${sum[i]}, ${difference[i]}`);
  }
}

const OUTPUTS = ['OUTPUT0', 'OUTPUT1'];

async function inlineCall(modelPath: string): Promise<{ call: Call; close(): Promise<void> }> {
  // The worker's session options (server/backends/onnxruntime/worker.ts).
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const once = async () => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs()) feeds[t.name] = new ort.Tensor('int32', t.data as Int32Array, t.shape);
    const results = await session.run(feeds, OUTPUTS);
    return OUTPUTS.map((name) => results[name]);
  };
  check('inline', await once());
  return {
    call: async (runs) => {
      for (let r = 0; r < runs; r++) await once();
    },
    close: () => session.release(),
  };
}

async function instanceCall(modelPath: string, sharedMemory: boolean): Promise<{ call: Call; close(): Promise<void> }> {
  const init: WorkerInit = { modelPath, intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  const instance = await OnnxRuntimeInstance.start('simple_0', 'simple', init, { sharedMemory });
  check(sharedMemory ? 'shared' : 'message', (await instance.execute(inputs(), OUTPUTS)).outputs);
  return {
    call: async (runs) => {
      if (runs === 1) {
        await instance.execute(inputs(), OUTPUTS);
        return;
      }
      const settled = await instance.executeMany(Array.from({ length: runs }, () => ({ inputs: inputs(), outputNames: OUTPUTS })));
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
    },
    close: () => instance.close(),
  };
}

async function measure(call: Call, row: Row, seconds: number): Promise<Sample> {
  let calls = 0;
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  const lane = async () => {
    while (performance.now() < end) {
      await call(row.runsPerJob);
      calls += row.runsPerJob;
    }
  };
  await Promise.all(Array.from({ length: row.lanes }, lane));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  return {
    callsPerSecond: calls / elapsed,
    cpuUsPerCall: (cpu.user + cpu.system) / calls,
    loopBusyUsPerCall: (elu.active * 1000) / calls,
  };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const modes = {
    inline: await inlineCall(args.model),
    message: await instanceCall(args.model, false),
    shared: await instanceCall(args.model, true),
  };
  const samples = new Map<Row, Sample[]>(ROWS.map((row) => [row, []]));
  for (let round = 1; round <= args.rounds; round++) {
    for (const row of ROWS) {
      await measure(modes[row.mode].call, row, args.warmup);
      const sample = await measure(modes[row.mode].call, row, args.seconds);
      samples.get(row)!.push(sample);
      process.stderr.write(`round ${round} ${row.mode} ${rowName(row)}: ${fmt(sample.callsPerSecond)} calls/s\n`);
    }
  }
  for (const mode of Object.values(modes)) await mode.close();

  const medianOf = (row: Row) => {
    const list = samples.get(row)!;
    const rates = list.map((s) => s.callsPerSecond);
    const pick = list[rates.indexOf(median(rates))] ?? list[0];
    return { ...pick, callsPerSecond: median(rates) };
  };
  const lines = [
    `Machine: ${describeMachine(machine)}; load avg (1m) at end ${os.loadavg()[0].toFixed(2)}`,
    `Model: ${path.relative(repoRoot(), args.model)}, batch 1; ${args.rounds} rounds of ${args.seconds} s (+${args.warmup} s warm-up) per row, median round`,
    '',
    '| mode | in flight | calls/s | µs/call | process CPU µs/call | event-loop busy µs/call | vs message |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of ROWS) {
    const m = medianOf(row);
    const message = medianOf(ROWS.find((r) => r.mode === 'message' && r.lanes === row.lanes && r.runsPerJob === row.runsPerJob)!);
    lines.push(
      `| ${row.mode} | ${rowName(row)} | ${fmt(m.callsPerSecond)} | ${fmt(1e6 / m.callsPerSecond, 1)} | ${fmt(m.cpuUsPerCall, 1)} | ` +
        `${fmt(m.loopBusyUsPerCall, 1)} | ${(m.callsPerSecond / message.callsPerSecond).toFixed(2)}× |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
