import type { ModelConfig } from '../config/model-config';
import type { CancelSignal } from '../core/cancellation';
import type { Tensor } from '../core/tensor';
import type { InferStreamListener, ResponseSink } from '../core/streaming';
import type { InferRequest, InferResponse, Parameters } from '../core/types';
import type { CorrelationId } from '../core/sequence-parameters';

export type { ResponseSink, StreamedResponse } from '../core/streaming';

/**
 * What a backend may use to run inference requests on other models (Python BLS) through the server's normal path:
 * scheduler, statistics, errors from the catalogue. Implemented by the facade; backends never see the facade itself.
 */
export interface InferenceRunner {
  /** One response; rejects with InferenceError (a decoupled target: Errors.decoupledOverBls). */
  inferForBackend(request: InferRequest): Promise<InferResponse>;
  /** Every response of a (decoupled) model as it comes; resolves after the final one, rejects when the request fails. */
  inferStream(request: InferRequest, listener: InferStreamListener): Promise<void>;
}

/** Everything a backend needs to load one instance of one model version. */
export interface InstanceContext {
  readonly modelName: string;
  readonly version: number;
  /** `<repo>/<model>` */
  readonly modelDir: string;
  /** `<repo>/<model>/<version>` */
  readonly versionDir: string;
  readonly config: ModelConfig;
  /** Name of the instance, `<group name>_<index in the group>` as Triton names them, e.g. `simple_0_1` (group `simple_0`). */
  readonly instanceName: string;
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  /** GPU device id for KIND_GPU instances. */
  readonly deviceId?: number;
  /** `--backend-config=<backend>,key=value` settings for this backend. */
  readonly backendConfig: Readonly<Record<string, string>>;
  /** Where a backend reports settings it accepted but cannot apply. */
  readonly warn?: (message: string) => void;
}

/** The result of one execution of a (possibly merged) batch, with the timings Triton reports. */
export interface ExecutionResult {
  readonly outputs: Tensor[];
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

export interface ExecutionRequest {
  readonly inputs: Tensor[];
  readonly outputNames: readonly string[];
}

/** One request of executeDecoupledBatch: its inputs (no merged batch), its responses' sink, the request itself. */
export interface DecoupledRun extends ExecutionRequest {
  readonly sink: ResponseSink;
  readonly request?: RequestContext;
}

/**
 * What the backend may know of the one request an execution runs (Python's InferenceRequest.request_id(),
 * parameters(), correlation_id(), flags()). Absent for a merged batch, which is no single request.
 */
export interface RequestContext {
  readonly requestId?: string;
  /** The request's parameters less those the server itself consumes (backendParameters). */
  readonly parameters?: Parameters;
  readonly correlationId?: CorrelationId;
  /** Triton's request flags: 1 sequence START, 2 sequence END. */
  readonly flags?: number;
  /** Aborted when the request's client is gone (InferRequest.signal): the Python backend tells the model. */
  readonly signal?: CancelSignal;
}

/** One loaded instance of a model version; executes one batch at a time. */
export interface BackendInstance {
  readonly name: string;
  /** Run the model. Rejects with InferenceError; an instance that died rejects with Errors.instanceLost. */
  execute(inputs: Tensor[], outputNames: readonly string[], request?: RequestContext): Promise<ExecutionResult>;
  /**
   * Run several independent executions one after another with a single hand-off (optional). Each settles on its
   * own: one failing does not fail the others.
   */
  executeMany?(runs: readonly ExecutionRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]>;
  /**
   * Run one request of a decoupled model: responses go to `sink` as the model sends them; resolves (timings, no
   * outputs) once the final flag was sent, rejects when the execution fails.
   */
  executeDecoupled?(inputs: Tensor[], outputNames: readonly string[], sink: ResponseSink, request?: RequestContext): Promise<ExecutionResult>;
  /**
   * Run several requests of a decoupled model in one execution, each with its own sink (Triton's dynamic batcher hands
   * a batch of them to one execute, unmerged). One promise per run, settling as executeDecoupled's would; the instance
   * is busy until all have settled. Each result carries the whole execution's timings. Optional: without it a
   * decoupled model's requests run one at a time.
   */
  executeDecoupledBatch?(runs: readonly DecoupledRun[]): Array<Promise<ExecutionResult>>;
  /** Release everything the instance holds (worker thread, process, memory). */
  close(): Promise<void>;
}

/** A backend (onnxruntime, python, ...): completes configs and creates instances. */
export interface Backend {
  /** Triton's backend name, e.g. "onnxruntime". */
  readonly name: string;
  /** The model file name when config.pbtxt names none. */
  readonly defaultModelFilename: string;
  /** Fill inputs, outputs and max_batch_size from the model file (Triton's auto-complete). */
  autoCompleteConfig(config: ModelConfig, versionDir: string): Promise<ModelConfig>;
  createInstance(context: InstanceContext): Promise<BackendInstance>;
}
