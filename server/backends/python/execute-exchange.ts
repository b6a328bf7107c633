/**
 * The execute exchange with stub.py: the control message for a batch of requests (their inputs already written to the
 * input file), and the outcomes and compute timings read back from the stub's 'result' reply.
 */
import { Errors, InferenceError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import type { ResponseSink } from '../../core/streaming';
import type { RequestContext } from '../backend';
import { TRITON_ERROR_CODES, WireResponse } from './stub-traffic';
import type { TensorFiles, WireTensor } from './tensor-files';

/** One request of an execute call. */
export interface StubRun {
  readonly inputs: readonly Tensor[];
  readonly outputNames: readonly string[];
  readonly request?: RequestContext;
}

/** One request of a decoupled model's execute: its responses go to `sink`. */
export interface DecoupledStubRun extends StubRun {
  readonly sink: ResponseSink;
}

export interface StubExecution {
  readonly outputs: Tensor[];
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

/** stub.py's answer to an execute: a response per request, or the error execute raised; its own timings. */
export interface ExecuteResult {
  type: 'result';
  id: number;
  error?: string;
  responses?: WireResponse[];
  input_ns?: number;
  infer_ns?: number;
  output_ns?: number;
}

/** When the call's phases ended here (process.hrtime.bigint()). */
export interface ExecuteStamps {
  readonly started: bigint;
  /** The inputs are in the input file. */
  readonly written: bigint;
  /** The result arrived. */
  readonly replied: bigint;
}

/** The execute message: `wire` lays out each run's inputs in the input file, which ends at `inputEnd`. */
export function executeMessage(id: number, inputEnd: number, wire: readonly WireTensor[][], runs: readonly StubRun[]): Record<string, unknown> {
  return {
    type: 'execute',
    id,
    in_size: inputEnd,
    requests: runs.map((run, i) => ({ inputs: wire[i], requested_output_names: run.outputNames, ...requestFields(run.request) })),
  };
}

/**
 * Each run's outputs (read from the output file) or its own error response; throws, in Triton's wording, when execute
 * raised or the stub answered for the wrong number of requests. Timings are the call's, shared evenly between the runs
 * when `shared` (each run's outputs are its own part of the call), else each run's are the whole call's.
 */
export function executeOutcomes(
  result: ExecuteResult,
  runs: number,
  files: TensorFiles,
  stamps: ExecuteStamps,
  shared = true,
): Array<StubExecution | InferenceError> {
  if (result.error !== undefined) throw Errors.pythonExecuteFailed(result.error.trimEnd());
  const responses = result.responses ?? [];
  if (responses.length !== runs) throw Errors.pythonExecuteFailed('the Python stub returned no response');
  const outcomes = responses.map((response): Tensor[] | InferenceError =>
    'error' in response
      ? Errors.pythonResponseError(TRITON_ERROR_CODES[response.error.code] ?? 'INTERNAL', response.error.message)
      : files.read(response.outputs),
  );
  const finished = process.hrtime.bigint();
  const { started, written, replied } = stamps;
  const inputNs = result.input_ns ?? 0;
  const inferNs = result.infer_ns ?? 0;
  const outputNs = result.output_ns ?? 0;
  // The channel's round trip beyond the stub's own work is shared between input and output, as copies are.
  const channelNs = Math.max(0, Number(replied - written) - inputNs - inferNs - outputNs);
  const share = shared ? 1 / runs : 1;
  const timings = {
    computeInputNs: (Number(written - started) + inputNs + channelNs / 2) * share,
    computeInferNs: inferNs * share,
    computeOutputNs: (outputNs + channelNs / 2 + Number(finished - replied)) * share,
  };
  return outcomes.map((outcome) => (outcome instanceof InferenceError ? outcome : { outputs: outcome, ...timings }));
}

/**
 * Python's request.is_cancelled(), as Triton's python backend reports it: a run whose request signal aborts while
 * the stub holds it is told with `cancel(index)` (a 'cancel' message: stub.py marks its InferenceRequest and
 * response sender). A request already cancelled when it is sent says so in the execute message. Returns, per run,
 * the function that stops listening.
 */
export function watchCancellation(runs: readonly StubRun[], cancel: (index: number) => void): Array<() => void> {
  return runs.map((run, index) => {
    const signal = run.request?.signal;
    if (!signal || signal.aborted) return () => undefined;
    const listener = () => cancel(index);
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  });
}

/**
 * The fields of one request in an execute message, as stub.py builds its InferenceRequest from them. 64-bit values
 * past 2^53 travel as strings (JSON numbers would lose digits).
 */
function requestFields(request: RequestContext | undefined): Record<string, unknown> {
  if (!request) return {};
  const json = (value: unknown) => (typeof value === 'bigint' ? (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()) : value);
  const parameters: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request.parameters ?? {})) parameters[key] = json(value);
  return {
    request_id: request.requestId ?? '',
    parameters,
    correlation_id: json(request.correlationId ?? 0),
    flags: request.flags ?? 0,
    ...(request.signal?.aborted ? { cancelled: true } : {}),
  };
}
