/**
 * `npm run bench:hostile`: memory and event-loop cost of hostile-but-legal requests. Each case starts a fresh server
 * (node dist/server/main.js on 127.0.0.1, examples/model_repository) with a probe preloaded (bench/lib/server-probe.ts),
 * sends one request, and prints the server's peak RSS growth over the request (VmHWM after − VmRSS before, after a GC)
 * as a ratio of the request body, and the longest event-loop stall (monitorEventLoopDelay max).
 * Target (issue 14): growth ≤ 4 × body + 32 MiB for every case; no stall > 100 ms decoding a request of up to 64 MiB.
 * BYTES cases into an ONNX Runtime string model get a side-by-side figure: what onnxruntime-node itself costs for the
 * same tensor (bench/lib/ort-strings-raw.ts, one child process per distinct tensor), and the server's growth minus it.
 *
 * Usage: node dist/bench/hostile.js [--cases=name,name] [--scale=1] [--priority=0]
 *   --scale multiplies element counts; --cases picks cases by number or by part of their name; --priority sets the
 *   server's scheduling priority (os.setPriority, negative needs root): on a machine shared with other busy work, a
 *   CPU burst of a few ms shows as hundreds of ms of loop delay when the server waits for a core, which a higher
 *   priority removes from the figure. --profile=DIR runs the servers under node --cpu-prof (profiles in DIR).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { benchArgs } from './lib/args';
import { describeMachine, machineInfo } from './lib/machine';
import { benchPaths, freePort, httpRequest, requireBuilt, runJsonChild } from './lib/processes';
import { serializeInferRequest } from '../server/protocol/grpc/infer-wire';
import type { ModelInferRequestMessage } from '../server/protocol/grpc/messages';
import { framed } from './lib/bytes-framing';

const MIB = 1024 * 1024;
const { root: ROOT, lib: LIB, serverMain: SERVER_MAIN } = benchPaths();
const PROBE = path.join(LIB, 'server-probe.js');
const ORT_STRINGS_RAW = path.join(LIB, 'ort-strings-raw.js');
const log = (line: string) => process.stderr.write(`${line}\n`);

/** A string tensor run through onnxruntime-node alone, for the side-by-side figure. */
interface RawOrt {
  readonly model: string;
  readonly count: number;
  readonly element: string;
}
interface HttpCase {
  readonly kind: 'http';
  readonly rawOrt?: RawOrt;
  readonly name: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: () => Buffer;
  /** Size after decompression, for compressed bodies: the ratio is taken against it. */
  readonly inflatedBytes?: number;
}
/** `connections` clients each send all but the last byte of a compressed body, then stall. */
interface StalledCase {
  readonly kind: 'stalled';
  readonly name: string;
  readonly connections: number;
  readonly body: () => Buffer;
  readonly inflatedBytes: number;
}
interface GrpcCase {
  readonly kind: 'grpc';
  readonly rawOrt?: RawOrt;
  readonly name: string;
  readonly message: () => ModelInferRequestMessage;
  /** Calls sent at once (default 1), each gzip-compressed by the client when `gzip`. */
  readonly concurrent?: number;
  readonly gzip?: boolean;
  /** Extra server flags for this case. */
  readonly serverArgs?: readonly string[];
  /** Size after decompression, for compressed messages: the ratio is taken against it (all calls together). */
  readonly inflatedBytes?: number;
}
type Case = HttpCase | GrpcCase | StalledCase;

function jsonBody(model: string, input: object): Buffer {
  return Buffer.from(JSON.stringify({ inputs: [input] }));
}

function binaryBody(input: object, data: Buffer): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(JSON.stringify({ inputs: [input] }));
  return { body: Buffer.concat([header, data]), headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' } };
}

/** A JSON document of `size` bytes that compresses to ~1/1000 (a long string of one letter). */
function gzippedJson(size: number): Buffer {
  return zlib.gzipSync(Buffer.concat([Buffer.from('{"inputs":[],"pad":"'), Buffer.alloc(size - 22, 'a'), Buffer.from('"}')]), { level: 9 });
}

function cases(scale: number): Case[] {
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  const infer = (model: string) => `/v2/models/${model}/infer`;
  // string_upper is an ONNX Runtime string model: its rows get raw onnxruntime-node's cost for the same tensor.
  const rawOrt = (model: string, count: number, element: string) => (model === 'string_upper' ? { rawOrt: { model, count, element } } : {});
  const bytesJson = (model: string, count: number, element: string): HttpCase => ({
    kind: 'http',
    ...rawOrt(model, count, element),
    name: `json BYTES ${count} × "${element}" → ${model}`,
    path: infer(model),
    headers: { 'content-type': 'application/json' },
    body: () => jsonBody(model, { name: 'INPUT0', datatype: 'BYTES', shape: [count], data: new Array<string>(count).fill(element) }),
  });
  const bytesBinary = (model: string, count: number, element: string): HttpCase => {
    const make = () => binaryBody({ name: 'INPUT0', datatype: 'BYTES', shape: [count], parameters: { binary_data_size: count * (4 + element.length) } }, framed(count, element));
    return { kind: 'http', name: `binary BYTES ${count} × "${element}" → ${model}`, ...rawOrt(model, count, element), path: infer(model), headers: make().headers, body: () => make().body };
  };
  const c1 = n(2_000_000);
  const c2 = n(500_000);
  const c3 = n(1_000_000);
  const c4 = n(14_000_000);
  return [
    bytesJson('nope', c1, ''),
    bytesJson('string_upper', c2, 'ab'),
    bytesBinary('nope', c1, ''),
    bytesBinary('string_upper', c2, 'ab'),
    {
      kind: 'http',
      name: `json INT32 ${c4} × 1 → simple (shape refused)`,
      path: infer('simple'),
      headers: { 'content-type': 'application/json' },
      body: () => jsonBody('simple', { name: 'INPUT0', datatype: 'INT32', shape: [c4], data: new Array<number>(c4).fill(1) }),
    },
    {
      kind: 'http',
      name: `json FP32 ${c4} × 1.5 → nope`,
      path: infer('nope'),
      headers: { 'content-type': 'application/json' },
      body: () => jsonBody('nope', { name: 'INPUT0', datatype: 'FP32', shape: [c4], data: new Array<number>(c4).fill(1.5) }),
    },
    {
      kind: 'http',
      name: `binary FP32 ${c4} → simple (shape refused)`,
      ...(() => {
        const made = binaryBody({ name: 'INPUT0', datatype: 'FP32', shape: [c4], parameters: { binary_data_size: c4 * 4 } }, Buffer.alloc(c4 * 4));
        return { headers: made.headers, body: () => made.body };
      })(),
      path: infer('simple'),
    },
    {
      kind: 'http',
      name: 'gzip 60 KiB → 60 MiB of JSON → nope',
      path: infer('nope'),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: () => gzippedJson(60 * MIB),
      inflatedBytes: 60 * MIB,
    },
    {
      kind: 'stalled',
      name: '20 connections × gzip 60 KiB → 60 MiB, stalled before the last byte',
      connections: 20,
      body: () => gzippedJson(60 * MIB),
      inflatedBytes: 20 * 60 * MIB,
    },
    {
      kind: 'grpc',
      name: `grpc int64_contents ${c3} → nope`,
      message: () => ({ model_name: 'nope', inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [c3], contents: { int64_contents: new Array<number>(c3).fill(-1) } }] }),
    },
    {
      kind: 'grpc',
      name: `grpc int64_contents ${c3} → simple (datatype refused)`,
      message: () => ({ model_name: 'simple', inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [c3], contents: { int64_contents: new Array<number>(c3).fill(-1) } }] }),
    },
    {
      kind: 'grpc',
      name: `grpc bytes_contents ${c2} × "ab" → string_upper`,
      ...rawOrt('string_upper', c2, 'ab'),
      message: () => ({ model_name: 'string_upper', inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [c2], contents: { bytes_contents: new Array<Buffer>(c2).fill(Buffer.from('ab')) } }] }),
    },
    // At most 4 compressed messages are inflating or inflated and not yet taken by their handler (inflate-gate.ts on the
    // default path, message-reader.ts on the lean one): 12 calls are measured against 4.
    ...[1, 4, 12].map((calls): GrpcCase => ({
      kind: 'grpc',
      name: `grpc ${calls} × gzip → 60 MiB raw contents → nope (--grpc-max-message-bytes=64 MiB)${calls > 4 ? ', 4 slots' : ''}`,
      message: () => ({ model_name: 'nope', inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: [60 * MIB] }], raw_input_contents: [Buffer.alloc(60 * MIB)] }),
      concurrent: calls,
      gzip: true,
      serverArgs: [`--grpc-max-message-bytes=${64 * MIB}`],
      inflatedBytes: Math.min(calls, 4) * 60 * MIB,
    })),
    {
      kind: 'grpc',
      name: `grpc raw BYTES ${c1} × "" → nope`,
      message: () => ({ model_name: 'nope', inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [c1] }], raw_input_contents: [framed(c1, '')] }),
    },
  ];
}

interface ProbeReply {
  type: string;
  rssBytes: number;
  peakRssBytes?: number;
  maxDelayMs?: number;
}

function ask(child: ChildProcess, type: 'reset' | 'read'): Promise<ProbeReply> {
  return new Promise((resolve) => {
    const listener = (message: ProbeReply) => {
      if (message.type !== type) return;
      child.off('message', listener);
      resolve(message);
    };
    child.on('message', listener);
    child.send({ type });
  });
}

let serverPriority = 0;
/** --profile=DIR: the servers run under node --cpu-prof, their profiles written there (where loop time goes). */
let profileDir: string | undefined;

async function startServer(extraArgs: readonly string[] = []): Promise<{ child: ChildProcess; httpPort: number; grpcPort: number; stop: () => Promise<void> }> {
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const child = spawn(
    process.execPath,
    [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=250'] : []), '--expose-gc', '-r', PROBE, SERVER_MAIN, `--model-repository=${path.join(ROOT, 'examples', 'model_repository')}`, `--http-port=${httpPort}`, `--grpc-port=${grpcPort}`, '--allow-metrics=false', ...extraArgs],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, LOG_LEVEL: 'error' } },
  );
  if (serverPriority !== 0) os.setPriority(child.pid!, serverPriority);
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  for (let tries = 0; ; tries++) {
    try {
      if ((await httpRequest(httpPort, 'GET', '/v2/health/ready', {}, undefined, 1000)).status === 200) break;
    } catch {
      // not yet listening
    }
    if (tries > 600 || child.exitCode !== null) throw new Error(`server did not start:\n${tail}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, httpPort, grpcPort, stop };
}

function grpcCall(port: number, message: Buffer, gzip = false): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    // gzip (grpc-js' compression algorithm 2): the client compresses each message, the server inflates it.
    ...(gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      (value: Buffer) => value,
      (value: Buffer) => value,
      message,
      (error) => {
        client.close();
        resolve(error ? `${grpc.status[error.code]}: ${error.details.slice(0, 80)}` : 'OK');
      },
    );
  });
}

interface Row {
  readonly name: string;
  readonly bodyBytes: number;
  readonly growthBytes: number;
  readonly inflatedBytes?: number;
  readonly maxDelayMs: number;
  /** The same server's max loop delay over 1 s with no request: this machine's noise. */
  readonly idleDelayMs: number;
  readonly outcome: string;
  /** Raw onnxruntime-node's peak RSS growth for the same tensor, where the case has one. */
  readonly rawOrtBytes?: number;
}

const rawOrtCache = new Map<string, number>();

/** Raw onnxruntime-node's peak RSS growth for `raw` (measured once per distinct tensor). */
async function rawOrtGrowth(raw: RawOrt): Promise<number> {
  const key = `${raw.model}/${raw.count}/${raw.element}`;
  const cached = rawOrtCache.get(key);
  if (cached !== undefined) return cached;
  log(`running: raw onnxruntime-node, ${raw.count} × "${raw.element}" → ${raw.model}`);
  const model = path.join(ROOT, 'examples', 'model_repository', raw.model, '1', 'model.onnx');
  const { growthBytes: growth } = await runJsonChild<{ growthBytes: number }>(ORT_STRINGS_RAW, [model, String(raw.count), raw.element], ROOT, 300_000);
  rawOrtCache.set(key, growth);
  return growth;
}

/** Open `connections` sockets that send headers and all of `body` but its last byte; resolves once all is written. */
async function stallConnections(port: number, body: Buffer, connections: number): Promise<net.Socket[]> {
  const head = `POST /v2/models/nope/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Promise.all(
    Array.from({ length: connections }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(head);
        socket.write(body.subarray(0, body.length - 1), () => resolve(socket));
      });
      socket.on('error', reject);
    })),
  );
}

async function runCase(testCase: Case): Promise<Row> {
  const body = testCase.kind === 'grpc' ? serializeInferRequest(testCase.message()) : testCase.body();
  const server = await startServer(testCase.kind === 'grpc' ? testCase.serverArgs : []);
  try {
    // The same wait with no request: the loop delay this machine shows anyway (other work on it).
    await ask(server.child, 'reset');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = await ask(server.child, 'read');
    const before = await ask(server.child, 'reset');
    let outcome: string;
    const inflated = testCase.inflatedBytes;
    if (testCase.kind === 'stalled') {
      const sockets = await stallConnections(server.httpPort, body, testCase.connections);
      // Until the server has inflated all it will (RSS still for 2 s), at most 60 s.
      let during = await ask(server.child, 'read');
      for (let waited = 0; waited < 60_000; waited += 2000) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const next = await ask(server.child, 'read');
        const settled = next.rssBytes - during.rssBytes < MIB;
        during = next;
        if (settled) break;
      }
      for (const socket of sockets) socket.destroy();
      return { name: testCase.name, bodyBytes: body.length * testCase.connections, inflatedBytes: inflated, growthBytes: during.peakRssBytes! - before.rssBytes, maxDelayMs: during.maxDelayMs!, idleDelayMs: idle.maxDelayMs!, outcome: 'held open until RSS settled' };
    }
    if (testCase.kind === 'http') {
      const result = await httpRequest(server.httpPort, 'POST', testCase.path, testCase.headers, body, 300_000);
      outcome = `${result.status}: ${result.body.toString('utf8', 0, Math.min(result.body.length, 80)).replace(/\s+/g, ' ')}`;
    } else {
      const calls = await Promise.all(Array.from({ length: testCase.concurrent ?? 1 }, () => grpcCall(server.grpcPort, body, testCase.gzip)));
      outcome = [...new Set(calls)].join(' / ');
    }
    const after = await ask(server.child, 'read');
    const bodyBytes = testCase.kind === 'grpc' && testCase.gzip ? zlib.gzipSync(body).length * (testCase.concurrent ?? 1) : body.length;
    return { name: testCase.name, bodyBytes, inflatedBytes: inflated, growthBytes: after.peakRssBytes! - before.rssBytes, maxDelayMs: after.maxDelayMs!, idleDelayMs: idle.maxDelayMs!, outcome };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  let scale = 1;
  let only: string[] | undefined;
  for (const { arg, key, value, number } of benchArgs(process.argv.slice(2), { positive: true })) {
    if (key === 'scale') scale = number();
    else if (key === 'cases') only = value.split(',');
    else if (key === 'priority') serverPriority = Number(value);
    else if (key === 'profile') profileDir = path.resolve(value);
    else throw new Error(`unknown argument '${arg}'`);
  }
  requireBuilt([SERVER_MAIN, PROBE, ORT_STRINGS_RAW], 'bench:hostile');
  log(`${describeMachine(machineInfo())}; server priority ${serverPriority}`);
  const selected = cases(scale).filter((c, index) => !only || only.some((o) => c.name.includes(o) || String(index + 1) === o));
  const rows: Row[] = [];
  for (const testCase of selected) {
    log(`running: ${testCase.name}`);
    const row = await runCase(testCase);
    const raw = testCase.kind !== 'stalled' ? testCase.rawOrt : undefined;
    rows.push(raw ? { ...row, rawOrtBytes: await rawOrtGrowth(raw) } : row);
  }
  console.log('| case | body MiB (inflated) | peak RSS growth MiB | growth / body | within 4×body+32 MiB | raw ORT MiB: server − raw (within?) | max loop delay ms (idle) | answer |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    // Compressed bodies: against what they inflate to, which the body limit (and the inflate cap) bound.
    const size = row.inflatedBytes ?? row.bodyBytes;
    const ok = row.growthBytes <= 4 * size + 32 * MIB;
    const sizeText = row.inflatedBytes ? `${(row.bodyBytes / MIB).toFixed(2)} (${(row.inflatedBytes / MIB).toFixed(0)})` : (row.bodyBytes / MIB).toFixed(1);
    // The server's own part: its growth beyond what onnxruntime-node costs for the same tensor, against the same bound.
    const serverPart = row.rawOrtBytes === undefined ? undefined : row.growthBytes - row.rawOrtBytes;
    const rawText = serverPart === undefined ? '—' : `${(row.rawOrtBytes! / MIB).toFixed(0)}: ${(serverPart / MIB).toFixed(0)} (${serverPart <= 4 * size + 32 * MIB ? 'yes' : '**no**'})`;
    console.log(
      `| ${row.name} | ${sizeText} | ${(row.growthBytes / MIB).toFixed(0)} | ${(row.growthBytes / size).toFixed(2)}× | ${ok ? 'yes' : '**no**'} | ${rawText} | ${row.maxDelayMs.toFixed(0)} (${row.idleDelayMs.toFixed(0)}) | ${row.outcome.replace(/\|/g, '/')} |`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
