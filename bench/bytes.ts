/**
 * `npm run bench:bytes`: does a BYTES request cost what a numeric request of the same size costs (issue 18)? One
 * server (node dist/server/main.js) on a scratch repository of three `identity` models (no model file: each output a
 * copy of its input, so the figures are the server's own decoding, scheduling and encoding), and, per protocol, a
 * BYTES request next to INT32 and FP32 requests whose bodies are the same size:
 *   HTTP binary: N × "ab" framed (6 bytes per element) vs 1.5 N INT32 / FP32 (4 bytes), outputs binary too;
 *   HTTP JSON:   N × "ab" (`"ab",`: 5 bytes) vs N INT32 `1234,` / FP32 `1.25,` (5 bytes), outputs JSON;
 *   gRPC typed:  N × bytes_contents "ab" (4 bytes with tag and length) vs N fp32_contents / 2N int_contents (`1234`
 *                as a 2-byte varint), outputs raw_output_contents;
 *   gRPC raw:    as HTTP binary, in raw_input_contents.
 * Rows are interleaved over rounds (A B C A B C ...); each figure is the median over rounds of the server's CPU
 * milliseconds per request (user + system, every thread, /proc/<pid>/stat) and of the wall time per request
 * (sequential requests, one at a time). The ratio column is BYTES over the numeric request of the same protocol.
 *
 * Usage: node dist/bench/bytes.js [--elements=500000] [--requests=5] [--rounds=3] [--rows=<part of "protocol datatype">]
 *   [--profile=DIR]: the server runs under node --cpu-prof; its main thread's self time (start-up included) is
 *   printed by layer and function at the end (with --rows, to see where one row's time goes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { benchArgs } from './lib/args';
import { mainThreadProfile, profileTables, summariseProfile } from './lib/cpuprofile';
import { describeMachine, machineInfo } from './lib/machine';
import { benchPaths, freePort, httpRequest, processCpuSeconds, requireBuilt, startServerChild } from './lib/processes';
import { serializeInferRequest } from '../server/protocol/grpc/infer-wire';
import type { InferInputTensorMessage, ModelInferRequestMessage } from '../server/protocol/grpc/messages';

const { root: ROOT, serverMain: SERVER_MAIN } = benchPaths();
const log = (line: string) => process.stderr.write(`${line}\n`);

type Datatype = 'BYTES' | 'INT32' | 'FP32';
const MODEL: Readonly<Record<Datatype, { name: string; configType: string }>> = {
  BYTES: { name: 'identity_bytes', configType: 'TYPE_STRING' },
  INT32: { name: 'identity_int32', configType: 'TYPE_INT32' },
  FP32: { name: 'identity_fp32', configType: 'TYPE_FP32' },
};

function writeRepository(dir: string): void {
  for (const { name, configType } of Object.values(MODEL)) {
    fs.mkdirSync(path.join(dir, name, '1'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, name, 'config.pbtxt'),
      `name: "${name}"\nbackend: "identity"\nmax_batch_size: 0\n` +
        `input [ { name: "INPUT0" data_type: ${configType} dims: [ -1 ] } ]\n` +
        `output [ { name: "OUTPUT0" data_type: ${configType} dims: [ -1 ] } ]\n`,
    );
  }
}

/** One request, ready to send any number of times. */
interface Request {
  readonly protocol: 'HTTP binary' | 'HTTP JSON' | 'gRPC typed' | 'gRPC raw';
  readonly datatype: Datatype;
  readonly elements: number;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

function framedAb(count: number): Buffer {
  const out = Buffer.alloc(count * 6);
  for (let i = 0; i < count; i++) {
    out.writeUInt32LE(2, i * 6);
    out.write('ab', i * 6 + 4, 'latin1');
  }
  return out;
}

function numericRaw(datatype: Datatype, count: number): Buffer {
  const array = datatype === 'INT32' ? new Int32Array(count).fill(1234) : new Float32Array(count).fill(1.25);
  return Buffer.from(array.buffer);
}

function httpBinary(datatype: Datatype, count: number, data: Buffer): Request {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype, shape: [count], parameters: { binary_data_size: data.length } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    }),
  );
  return {
    protocol: 'HTTP binary',
    datatype,
    elements: count,
    body: Buffer.concat([header, data]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

function httpJson(datatype: Datatype, count: number): Request {
  const element = datatype === 'BYTES' ? '"ab"' : datatype === 'INT32' ? '1234' : '1.25';
  const data = `[${new Array<string>(count).fill(element).join(',')}]`;
  const body = Buffer.from(`{"inputs":[{"name":"INPUT0","datatype":"${datatype}","shape":[${count}],"data":${data}}]}`);
  return { protocol: 'HTTP JSON', datatype, elements: count, body, headers: { 'content-type': 'application/json' } };
}

function grpcRequest(protocol: 'gRPC typed' | 'gRPC raw', datatype: Datatype, count: number, input: Partial<InferInputTensorMessage>, raw?: Buffer): Request {
  const message: ModelInferRequestMessage = {
    model_name: MODEL[datatype].name,
    inputs: [{ name: 'INPUT0', datatype, shape: [count], ...input }],
    ...(raw ? { raw_input_contents: [raw] } : {}),
  };
  return { protocol, datatype, elements: count, body: serializeInferRequest(message), headers: {} };
}

function requests(n: number): Request[] {
  const sameBytesAsFramed = Math.round(n * 1.5); // 6 bytes per "ab" framed = 1.5 × 4-byte elements
  return [
    httpBinary('BYTES', n, framedAb(n)),
    httpBinary('INT32', sameBytesAsFramed, numericRaw('INT32', sameBytesAsFramed)),
    httpBinary('FP32', sameBytesAsFramed, numericRaw('FP32', sameBytesAsFramed)),
    httpJson('BYTES', n),
    httpJson('INT32', n),
    httpJson('FP32', n),
    grpcRequest('gRPC typed', 'BYTES', n, { contents: { bytes_contents: new Array<Buffer>(n).fill(Buffer.from('ab')) } }),
    grpcRequest('gRPC typed', 'INT32', 2 * n, { contents: { int_contents: new Array<number>(2 * n).fill(1234) } }),
    grpcRequest('gRPC typed', 'FP32', n, { contents: { fp32_contents: new Array<number>(n).fill(1.25) } }),
    grpcRequest('gRPC raw', 'BYTES', n, {}, framedAb(n)),
    grpcRequest('gRPC raw', 'INT32', sameBytesAsFramed, {}, numericRaw('INT32', sameBytesAsFramed)),
    grpcRequest('gRPC raw', 'FP32', sameBytesAsFramed, {}, numericRaw('FP32', sameBytesAsFramed)),
  ];
}

function grpcCall(client: grpc.Client, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      (value: Buffer) => value,
      (value: Buffer) => value,
      body,
      (error) => (error ? reject(new Error(`${grpc.status[error.code]}: ${error.details}`)) : resolve()),
    );
  });
}

async function send(request: Request, httpPort: number, client: grpc.Client): Promise<void> {
  if (request.protocol.startsWith('gRPC')) return grpcCall(client, request.body);
  const result = await httpRequest(httpPort, 'POST', `/v2/models/${MODEL[request.datatype].name}/infer`, request.headers, request.body, 120_000);
  if (result.status !== 200) throw new Error(`${request.protocol} ${request.datatype}: ${result.status} ${result.body.toString('utf8', 0, 200)}`);
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  let elements = 500_000;
  let perRound = 5;
  let rounds = 3;
  let only: string | undefined;
  let profileDir: string | undefined;
  for (const { arg, key, value, number } of benchArgs(process.argv.slice(2), { positive: true })) {
    if (key === 'elements') elements = Math.round(number());
    else if (key === 'requests') perRound = Math.round(number());
    else if (key === 'rounds') rounds = Math.round(number());
    else if (key === 'rows') only = value;
    else if (key === 'profile') profileDir = path.resolve(value);
    else throw new Error(`unknown argument '${arg}'`);
  }
  requireBuilt([SERVER_MAIN], 'bench:bytes');
  log(`${describeMachine(machineInfo())}; ${elements} BYTES elements, ${perRound} requests × ${rounds} rounds per row`);
  const repository = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bytes-'));
  writeRepository(repository);
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const server = await startServerChild({
    name: 'server',
    script: SERVER_MAIN,
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    args: [`--model-repository=${repository}`, `--http-port=${httpPort}`, `--grpc-port=${grpcPort}`, '--allow-metrics=false'],
    port: httpPort,
    readyPath: '/v2/health/ready',
    cwd: ROOT,
    env: { LOG_LEVEL: 'error' },
  });
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  const rows = requests(elements).filter((row) => !only || `${row.protocol} ${row.datatype}`.includes(only));
  const cpuMs = rows.map(() => [] as number[]);
  const wallMs = rows.map(() => [] as number[]);
  try {
    for (const request of rows) await send(request, httpPort, client); // warm-up, and a check that each answers
    for (let round = 0; round < rounds; round++) {
      for (const [index, request] of rows.entries()) {
        const cpuBefore = processCpuSeconds(server.process.pid!) ?? NaN;
        const started = process.hrtime.bigint();
        for (let i = 0; i < perRound; i++) await send(request, httpPort, client);
        wallMs[index].push(Number(process.hrtime.bigint() - started) / 1e6 / perRound);
        cpuMs[index].push((((processCpuSeconds(server.process.pid!) ?? NaN) - cpuBefore) * 1000) / perRound);
      }
    }
  } finally {
    client.close();
    await server.stop();
    fs.rmSync(repository, { recursive: true, force: true });
  }
  const profile = profileDir && mainThreadProfile(profileDir, server.process.pid!);
  if (profile) for (const line of profileTables(summariseProfile(profile), 12, 25)) log(line);
  console.log('| protocol | datatype | elements | body MiB | server CPU ms / request | wall ms / request | BYTES / this (CPU) |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  rows.forEach((request, index) => {
    const bytesRow = rows.findIndex((other) => other.protocol === request.protocol && other.datatype === 'BYTES');
    const ratio = bytesRow < 0 ? NaN : median(cpuMs[bytesRow]) / median(cpuMs[index]);
    console.log(
      `| ${request.protocol} | ${request.datatype} | ${request.elements} | ${(request.body.length / 2 ** 20).toFixed(2)} | ${median(cpuMs[index]).toFixed(1)} | ${median(wallMs[index]).toFixed(1)} | ${request.datatype === 'BYTES' ? '' : `${ratio.toFixed(2)}×`} |`,
    );
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
