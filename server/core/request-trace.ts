/**
 * One sampled request's trace: Triton's activity timestamps (monotonic nanoseconds) and, at level TENSORS, its input
 * and output tensors. Frontends, the facade and the scheduler each capture their own points; the trace is written
 * to its setting once, by whoever finishes the request (the frontend after sending, or the facade).
 */
import { DATATYPES } from './datatypes';
import type { ExecutionTimings } from './statistics';
import type { Tensor } from './tensor';
import { isBytesData } from './tensor';
import type { TraceSetting } from './trace-setting';

export type TraceActivity =
  | 'HTTP_RECV_START'
  | 'HTTP_RECV_END'
  | 'HTTP_SEND_START'
  | 'HTTP_SEND_END'
  | 'GRPC_WAITREAD_START'
  | 'GRPC_WAITREAD_END'
  | 'GRPC_SEND_START'
  | 'GRPC_SEND_END'
  | 'REQUEST_START'
  | 'QUEUE_START'
  | 'COMPUTE_START'
  | 'COMPUTE_INPUT_END'
  | 'COMPUTE_OUTPUT_START'
  | 'COMPUTE_END'
  | 'REQUEST_END';

/** What the scheduler sees of a trace: it only adds timestamps. */
export interface TraceRecorder {
  capture(activity: TraceActivity, ns?: bigint): void;
}

/** When and through which frontend a request was read (frontends pass it only while tracing is on). */
export interface FrontendReceipt {
  readonly protocol: 'HTTP' | 'GRPC';
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export class RequestTrace implements TraceRecorder {
  private readonly names: TraceActivity[] = [];
  private readonly times: bigint[] = [];
  private readonly tensors: string[] = [];
  private finished = false;
  /** The version that ran it; -1 until known (Triton's "any version"). */
  version = -1;

  constructor(
    readonly id: number,
    private readonly setting: TraceSetting,
    readonly model: string,
    readonly requestId: string | undefined,
    /** The trace of the request this one serves (an ensemble's, for its steps): Triton's parent_id. */
    readonly parentId?: number,
  ) {}

  /** The trace of a request made on this one's behalf (an ensemble step), under the same setting. */
  child(id: number, model: string): RequestTrace {
    return new RequestTrace(id, this.setting, model, this.requestId, this.id);
  }

  get tracesTensors(): boolean {
    return this.setting.levels.includes('TENSORS');
  }

  capture(activity: TraceActivity, ns: bigint = process.hrtime.bigint()): void {
    if (this.finished || !this.setting.levels.includes('TIMESTAMPS')) return;
    this.names.push(activity);
    this.times.push(ns);
  }

  /** Level TENSORS: a tensor entering the queue (TENSOR_QUEUE_INPUT) or leaving the backend (TENSOR_BACKEND_OUTPUT). */
  captureTensor(activity: 'TENSOR_QUEUE_INPUT' | 'TENSOR_BACKEND_OUTPUT', tensor: Tensor): void {
    if (this.finished || !this.tracesTensors) return;
    const described = {
      name: tensor.name,
      data: tensorDataString(tensor),
      shape: tensor.shape.join(','),
      dtype: tensor.datatype,
    };
    this.tensors.push(`{"id":${this.id},"activity":"${activity}","tensor":${JSON.stringify(described)}}`);
  }

  /** Hand the trace to its setting (once; later captures are ignored). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.setting.write(this.serialise());
  }

  /** Triton's trace objects: the request and its timestamps in one object, then one object per traced tensor. */
  private serialise(): string {
    let json = `{"id":${this.id},"model_name":${JSON.stringify(this.model)},"model_version":${this.version}`;
    if (this.parentId !== undefined) json += `,"parent_id":${this.parentId}`;
    if (this.requestId) json += `,"request_id":${JSON.stringify(this.requestId)}`;
    json += ',"timestamps":[';
    for (let i = 0; i < this.names.length; i++) {
      // ns as an exact integer: monotonic clocks pass 2^53 after ~104 days of uptime.
      json += `${i === 0 ? '' : ','}{"name":"${this.names[i]}","ns":${this.times[i].toString()}}`;
    }
    json += ']}';
    return this.tensors.length === 0 ? json : `${json},${this.tensors.join(',')}`;
  }
}

/**
 * The compute timestamps of one execution, shared by every traced request of its batch: start and end as the
 * scheduler saw them, the input/output boundaries from the backend's own durations (clamped into that span).
 */
export function captureCompute(trace: TraceRecorder, startNs: bigint, endNs: bigint, timings: ExecutionTimings): void {
  const inputEnd = minBig(startNs + BigInt(Math.round(timings.computeInputNs)), endNs);
  const outputStart = maxBig(endNs - BigInt(Math.round(timings.computeOutputNs)), inputEnd);
  trace.capture('COMPUTE_START', startNs);
  trace.capture('COMPUTE_INPUT_END', inputEnd);
  trace.capture('COMPUTE_OUTPUT_START', outputStart);
  trace.capture('COMPUTE_END', endNs);
}

const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);

/** Triton's "data" string: elements joined by ',', BYTES elements quoted. */
function tensorDataString(tensor: Tensor): string {
  const data = tensor.data;
  if (isBytesData(data)) return data.toStrings().map((text) => JSON.stringify(text)).join(',');
  if (tensor.datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => (v ? 'true' : 'false')).join(',');
  if (DATATYPES[tensor.datatype].isBigInt) return Array.from(data as BigInt64Array, (v) => v.toString()).join(',');
  return Array.from(data as ArrayLike<number>).join(',');
}
