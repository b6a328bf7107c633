import { Cancellation, type CancelSignal } from '../../core/cancellation';
import { ErrorCode, Errors, InferenceError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import { DecoupledStreams } from './decoupled-streams';
import type { TensorFiles, WireTensor } from './tensor-files';
import { MetricMessage, StubMetricCalls } from './metric-calls';

/** A BLS call from the model (pb_utils.InferenceRequest.exec / async_exec). */
export interface BlsCallMessage {
  type: 'bls';
  id: number;
  region: number;
  model_name: string;
  model_version: number;
  request_id?: string;
  inputs: WireTensor[];
  requested_output_names: string[];
  correlation_id: number | string;
  flags: number;
  timeout: number;
  parameters: Record<string, unknown>;
  decoupled: boolean;
}

/** One response to a BLS call: outputs or an error; `final` ends the call. */
export type BlsReply = { outputs: Tensor[] } | { error: InferenceError };

/** `cancellation` is set when the model cancels the call (a decoupled call's ResponseIterator.cancel()). */
export type BlsHandler = (
  call: BlsCallMessage,
  inputs: Tensor[],
  reply: (response: BlsReply | undefined, final: boolean) => void,
  cancellation: CancelSignal,
) => void;

export type WireResponse = { region?: number; outputs: WireTensor[] } | { error: { message: string; code: number } };

/** What the stub sends on its own, besides replies to the server's requests. */
export type UnsolicitedMessage =
  | { type: 'response'; id: number; index: number; flags: number; region?: number; outputs?: WireTensor[]; error?: { message: string; code: number } }
  | BlsCallMessage
  | MetricMessage
  | { type: 'release_input'; region: number }
  | { type: 'bls_cancel'; id: number };

/** pb_utils.TritonError codes → the server's error codes (UNKNOWN has no twin: it is INTERNAL, as HTTP shows it). */
export const TRITON_ERROR_CODES: readonly ErrorCode[] = [
  'INTERNAL', // UNKNOWN
  'INTERNAL',
  'NOT_FOUND',
  'INVALID_ARG',
  'UNAVAILABLE',
  'UNSUPPORTED',
  'ALREADY_EXISTS',
  'CANCELLED',
];

/**
 * The messages a stub sends whenever its model likes (decoupled responses from any thread, BLS calls from execute),
 * and the server's answers to them: a response's tensors are read at once and their region released; a BLS call
 * runs through `onBls` and its responses go back with their tensors in the input file.
 */
export class StubTraffic {
  /** Decoupled requests waiting for responses, by execute id and index. */
  readonly streams = new DecoupledStreams();
  /** Runs the model's BLS calls; without one they get an error response. */
  onBls: BlsHandler | undefined;
  /** The model's custom metrics (pb_utils.MetricFamily); without a registry every call gets an error. */
  metricCalls = new StubMetricCalls(undefined);
  /** BLS calls not yet answered in full, by call id: the model may cancel them. */
  private readonly blsCalls = new Map<number, Cancellation>();

  constructor(
    private readonly files: TensorFiles,
    private readonly send: (message: Record<string, unknown>) => void,
    private readonly alive: () => boolean,
  ) {}

  /** Messages the stub sends on its own (not replies): decoupled responses, BLS calls, releases. */
  handle(message: { type: string }): boolean {
    const unsolicited = message as UnsolicitedMessage;
    switch (unsolicited.type) {
      case 'response':
        this.onResponse(unsolicited);
        return true;
      case 'bls':
        this.onBlsCall(unsolicited);
        return true;
      case 'release_input':
        this.files.release(unsolicited.region);
        return true;
      case 'bls_cancel':
        // Cancelled by the model (ResponseIterator.cancel()); a call already answered in full is not here: a no-op.
        this.blsCalls.get(unsolicited.id)?.cancel();
        return true;
      case 'metric': {
        const reply = this.metricCalls.handle(unsolicited);
        if (reply && this.alive()) this.send(reply);
        return true;
      }
      default:
        return false;
    }
  }

  private onResponse(message: Extract<UnsolicitedMessage, { type: 'response' }>): void {
    let response: BlsReply | undefined;
    try {
      if (message.error) {
        response = { error: Errors.pythonResponseError(TRITON_ERROR_CODES[message.error.code] ?? 'INTERNAL', message.error.message) };
      } else if (message.outputs) {
        response = { outputs: this.files.read(message.outputs) };
      }
    } catch (error) {
      response = { error: error instanceof InferenceError ? error : Errors.pythonExecuteFailed((error as Error).message) };
    } finally {
      if (message.region !== undefined) this.send({ type: 'release', region: message.region });
    }
    this.streams.deliver(message.id, message.index, response, (message.flags & 1) !== 0);
  }

  private onBlsCall(call: BlsCallMessage): void {
    let inputs: Tensor[];
    try {
      inputs = this.files.read(call.inputs);
    } catch (error) {
      this.replyBls(call.id, { error: error instanceof InferenceError ? error : Errors.pythonExecuteFailed(String(error)) }, true);
      return;
    } finally {
      this.send({ type: 'release', region: call.region });
    }
    if (!this.onBls) {
      this.replyBls(call.id, { error: Errors.pythonExecuteFailed('BLS calls are not available to this model instance') }, true);
      return;
    }
    const cancellation = new Cancellation();
    this.blsCalls.set(call.id, cancellation);
    this.onBls(
      call,
      inputs,
      (response, final) => {
        if (final) this.blsCalls.delete(call.id);
        this.replyBls(call.id, response, final);
      },
      cancellation,
    );
  }

  /** Answer a BLS call: the outputs go into a region of the input file the stub releases once it has copied them. */
  private replyBls(id: number, response: BlsReply | undefined, final: boolean): void {
    if (!this.alive()) return;
    if (response && 'outputs' in response) {
      const { region, wire } = this.files.write([response.outputs]);
      this.send({ type: 'bls_response', id, final, region, outputs: wire[0] });
    } else if (response) {
      const code = Math.max(0, TRITON_ERROR_CODES.indexOf(response.error.code));
      this.send({ type: 'bls_response', id, final, error: { message: response.error.message, code: code === 0 ? 1 : code } });
    } else {
      this.send({ type: 'bls_response', id, final, outputs: [] });
    }
  }
}
