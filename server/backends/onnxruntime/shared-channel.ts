/**
 * The shared-memory hand-off between an OnnxRuntimeInstance and its worker thread.
 *
 * Why: for small models the thread hand-off, not the model, is the main cost; postMessage pays a structured clone, a
 * port wake-up and a message event per direction. Here small numeric tensors are copied straight into a
 * SharedArrayBuffer and the two threads signal with Atomics: the worker sleeps in Atomics.wait (it may block), the
 * event loop learns of completions through Atomics.waitAsync (it never blocks).
 *
 * Layout: CONTROL_BYTES of control words, then SLOT_COUNT slots of SLOT_BYTES used as a ring: job n (counted by HEAD)
 * lives in slot n % SLOT_COUNT, first as its request, then (overwritten by the worker) as its response. A job that
 * does not fit (large or BYTES tensors, unknown names, long error messages) still takes its turn in the ring, as a
 * `JOB_PORT` marker: its runs travel by postMessage and the worker reads them with receiveMessageOnPort; a response
 * that does not fit is posted as a 'result' message and its slot says `RESULT_POSTED`.
 *
 * Encoding (little-endian u32 unless noted; data blocks 8-byte aligned):
 *   request:  kind, jobId, runCount, then per run: inputCount, inputs (tensor), outputCount, output name indexes
 *   response: kind, jobId, runCount, then per run: ok; ok=1: f64 inputNs, inferNs, outputNs, outputCount, outputs
 *             (tensor); ok=0: message length, UTF-8 message
 *   tensor:   name index, type code, rank, dims, byte length, (pad), bytes
 */
import type { WireRun, WireRunResult, WireTensor } from './messages';

/** Control words (Int32Array indexes). */
export const HEAD = 0; // jobs published by the event loop; the worker waits on it
export const DONE = 1; // jobs finished by the worker; the event loop waits on it
export const STOP = 2; // set by the event loop: finish the current job, release the session, exit
export const CONTROL_BYTES = 64;
/** Eight slots: the scheduler keeps at most two messages per unbatched instance, so the ring rarely fills. */
export const SLOT_COUNT = 8;
/** Tensors at least this big are transferred by postMessage anyway (instance.ts TRANSFER_MIN_BYTES). */
export const SLOT_BYTES = 64 * 1024;
export const CHANNEL_BYTES = CONTROL_BYTES + SLOT_COUNT * SLOT_BYTES;

export const JOB_INLINE = 1;
export const JOB_PORT = 2;
export const RESULT_INLINE = 1;
export const RESULT_POSTED = 2;

/** Atomics.waitAsync: in Node since 16, typed only from TypeScript's lib ES2024 (this project compiles against ES2022). */
export const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

type ArrayCtor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): ArrayBufferView; BYTES_PER_ELEMENT: number };

/** onnxruntime-node's numeric types, their codes (index) and the typed array each uses on both sides. */
const ORT_TYPES: ReadonlyArray<readonly [string, ArrayCtor]> = [
  ['float32', Float32Array], ['uint8', Uint8Array], ['int8', Int8Array], ['uint16', Uint16Array], ['int16', Int16Array],
  ['int32', Int32Array], ['int64', BigInt64Array], ['bool', Uint8Array], ['float16', Uint16Array], ['float64', Float64Array],
  ['uint32', Uint32Array], ['uint64', BigUint64Array],
];
const TYPE_CODES = new Map(ORT_TYPES.map(([name], code) => [name, code]));

/** The model's input and output names: tensors are named by index, so no strings cross in the common case. */
export class NameTable {
  private readonly inputIndex: Map<string, number>;
  private readonly outputIndex: Map<string, number>;
  constructor(readonly inputs: readonly string[], readonly outputs: readonly string[]) {
    this.inputIndex = new Map(inputs.map((name, i) => [name, i]));
    this.outputIndex = new Map(outputs.map((name, i) => [name, i]));
  }
  input(name: string): number | undefined {
    return this.inputIndex.get(name);
  }
  output(name: string): number | undefined {
    return this.outputIndex.get(name);
  }
}

const align8 = (n: number) => (n + 7) & ~7;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One thread's views of the channel's memory. */
export class Channel {
  readonly control: Int32Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer, readonly names: NameTable) {
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  // ---- event loop side ----

  /** Write a job's runs into its slot; false (nothing usable written) when a tensor or name cannot go this way. */
  writeRequest(slot: number, jobId: number, runs: readonly { inputs: readonly WireTensor[]; outputNames: readonly string[] }[]): boolean {
    let size = 12;
    for (const run of runs) {
      size += 8 + 4 * run.outputNames.length;
      for (const input of run.inputs) {
        if (this.names.input(input.name) === undefined) return false;
        const bytes = tensorBytes(input);
        if (bytes < 0) return false;
        size += bytes;
      }
      for (const name of run.outputNames) if (this.names.output(name) === undefined) return false;
      if (size > SLOT_BYTES) return false;
    }
    let at = this.start(slot);
    at = this.u32s(at, JOB_INLINE, jobId, runs.length);
    for (const run of runs) {
      at = this.u32(at, run.inputs.length);
      for (const input of run.inputs) at = this.writeTensor(at, this.names.input(input.name)!, input);
      at = this.u32(at, run.outputNames.length);
      for (const name of run.outputNames) at = this.u32(at, this.names.output(name)!);
    }
    return true;
  }

  writePortMarker(slot: number, jobId: number): void {
    this.u32s(this.start(slot), JOB_PORT, jobId, 0);
  }

  /** A finished job's results, copied out of shared memory, or 'posted' when they came by message. */
  readResults(slot: number): { jobId: number; results: WireRunResult[] | 'posted' } {
    let at = this.start(slot);
    const kind = this.view.getUint32(at, true);
    const jobId = this.view.getUint32(at + 4, true);
    const count = this.view.getUint32(at + 8, true);
    if (kind === RESULT_POSTED) return { jobId, results: 'posted' };
    at += 12;
    const results: WireRunResult[] = [];
    for (let r = 0; r < count; r++) {
      const ok = this.view.getUint32(at, true);
      at += 4;
      if (!ok) {
        const length = this.view.getUint32(at, true);
        results.push({ ok: false, message: decoder.decode(this.bytes.slice(at + 4, at + 4 + length)) });
        at += 4 + length;
        continue;
      }
      at = align8(at);
      const inputNs = this.view.getFloat64(at, true);
      const inferNs = this.view.getFloat64(at + 8, true);
      const outputNs = this.view.getFloat64(at + 16, true);
      const outputCount = this.view.getUint32(at + 24, true);
      at += 28;
      const outputs: WireTensor[] = [];
      for (let o = 0; o < outputCount; o++) at = this.readTensor(at, this.names.outputs, outputs);
      results.push({ ok: true, outputs, inputNs, inferNs, outputNs });
    }
    return { jobId, results };
  }

  // ---- worker side ----

  /** The job in a slot: its runs, or 'port' when they wait on the message port. */
  readRequest(slot: number): { jobId: number; runs: WireRun[] | 'port' } {
    let at = this.start(slot);
    const kind = this.view.getUint32(at, true);
    const jobId = this.view.getUint32(at + 4, true);
    const count = this.view.getUint32(at + 8, true);
    if (kind === JOB_PORT) return { jobId, runs: 'port' };
    at += 12;
    const runs: WireRun[] = [];
    for (let r = 0; r < count; r++) {
      const inputs: WireTensor[] = [];
      const inputCount = this.view.getUint32(at, true);
      at += 4;
      for (let i = 0; i < inputCount; i++) at = this.readTensor(at, this.names.inputs, inputs);
      const outputCount = this.view.getUint32(at, true);
      at += 4;
      const outputNames: string[] = [];
      for (let o = 0; o < outputCount; o++, at += 4) outputNames.push(this.names.outputs[this.view.getUint32(at, true)]);
      runs.push({ inputs, outputNames });
    }
    return { jobId, runs };
  }

  /** Write a job's results over its request; false when they do not fit (the caller posts them instead). */
  writeResults(slot: number, jobId: number, results: readonly WireRunResult[]): boolean {
    let size = 12;
    const messages: Array<Uint8Array | undefined> = [];
    for (const result of results) {
      if (!result.ok) {
        const message = encoder.encode(result.message);
        messages.push(message);
        size += 8 + message.byteLength;
        continue;
      }
      messages.push(undefined);
      size += 8 + 32;
      for (const output of result.outputs) {
        const bytes = this.names.output(output.name) === undefined ? -1 : tensorBytes(output);
        if (bytes < 0) return false;
        size += bytes;
      }
    }
    if (size > SLOT_BYTES) return false;
    let at = this.u32s(this.start(slot), RESULT_INLINE, jobId, results.length);
    results.forEach((result, r) => {
      at = this.u32(at, result.ok ? 1 : 0);
      if (!result.ok) {
        at = this.u32(at, messages[r]!.byteLength);
        this.bytes.set(messages[r]!, at);
        at += messages[r]!.byteLength;
        return;
      }
      at = align8(at);
      this.view.setFloat64(at, result.inputNs, true);
      this.view.setFloat64(at + 8, result.inferNs, true);
      this.view.setFloat64(at + 16, result.outputNs, true);
      at = this.u32(at + 24, result.outputs.length);
      for (const output of result.outputs) at = this.writeTensor(at, this.names.output(output.name)!, output);
    });
    return true;
  }

  writePostedMarker(slot: number, jobId: number): void {
    this.u32s(this.start(slot), RESULT_POSTED, jobId, 0);
  }

  // ---- encoding helpers ----

  private start(slot: number): number {
    return CONTROL_BYTES + slot * SLOT_BYTES;
  }

  private u32(at: number, value: number): number {
    this.view.setUint32(at, value, true);
    return at + 4;
  }

  private u32s(at: number, ...values: number[]): number {
    for (const value of values) at = this.u32(at, value);
    return at;
  }

  private writeTensor(at: number, nameIndex: number, tensor: WireTensor): number {
    const data = tensor.data as ArrayBufferView;
    // Field by field: a spread of the dims into u32s' rest array allocated per tensor.
    at = this.u32(at, nameIndex);
    at = this.u32(at, TYPE_CODES.get(tensor.ortType)!);
    at = this.u32(at, tensor.dims.length);
    for (let i = 0; i < tensor.dims.length; i++) at = this.u32(at, tensor.dims[i]);
    at = this.u32(at, data.byteLength);
    at = align8(at);
    this.bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    return align8(at + data.byteLength);
  }

  /** Copies the data out (ORT refuses SharedArrayBuffer views, and the slot is reused). */
  private readTensor(at: number, names: readonly string[], into: WireTensor[]): number {
    const name = names[this.view.getUint32(at, true)];
    const [ortType, ArrayType] = ORT_TYPES[this.view.getUint32(at + 4, true)];
    const rank = this.view.getUint32(at + 8, true);
    at += 12;
    const dims: number[] = [];
    for (let d = 0; d < rank; d++, at += 4) dims.push(this.view.getUint32(at, true));
    const byteLength = this.view.getUint32(at, true);
    at = align8(at + 4);
    const copy = this.bytes.slice(at, at + byteLength);
    into.push({ name, ortType, dims, data: new ArrayType(copy.buffer, 0, byteLength / ArrayType.BYTES_PER_ELEMENT) });
    return align8(at + byteLength);
  }
}

/** Encoded size of a tensor, or -1 when it cannot travel through shared memory (BYTES, odd types or dims). */
function tensorBytes(tensor: WireTensor): number {
  if (tensor.ortType === 'string' || !TYPE_CODES.has(tensor.ortType)) return -1;
  const ArrayType = ORT_TYPES[TYPE_CODES.get(tensor.ortType)!][1];
  // Anything unusual (a typed array of another type, dims that are not u32) keeps the postMessage path and its errors.
  if (!(tensor.data instanceof ArrayType)) return -1;
  for (const dim of tensor.dims) if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) return -1;
  // +8: the header may start 4 bytes off an 8-byte boundary.
  return 8 + align8(16 + 4 * tensor.dims.length) + align8(tensor.data.byteLength);
}
