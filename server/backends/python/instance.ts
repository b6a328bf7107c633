import { Errors, InferenceError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import type { ResponseSink } from '../../core/streaming';
import type { BackendInstance, DecoupledRun, ExecutionResult, InferenceRunner, RequestContext } from '../backend';
import { blsHandler } from './bls';
import type { CustomMetricRegistry } from './metric-calls';
import { StubProcess, StubSpawnOptions } from './stub-process';
import { settlesWithin } from '../../core/promises';

/** One request of an executeRequests call. */
export interface RunRequest {
  readonly inputs: Tensor[];
  readonly outputNames: readonly string[];
  /** The request as the model's InferenceRequest shows it (id, parameters, correlation id, flags). */
  readonly request?: RequestContext;
}

export interface PythonInstanceSettings {
  readonly modelName: string;
  readonly spawn: StubSpawnOptions;
  /** The initialize message: model file, version directory, Triton's `args` dict. */
  readonly initialize: Record<string, unknown>;
  /** Limit for starting the stub and running initialize. */
  readonly initializeTimeoutMs: number;
  /** Limit for one execute; 0 for none. A stub that takes longer is killed and restarted. */
  readonly executeTimeoutMs: number;
  /** How long finalize may take at unload before the stub is killed. */
  readonly finalizeTimeoutMs: number;
  /** Runs the model's BLS calls on the server (absent: they get an error response). */
  readonly runner?: InferenceRunner;
  /** The server's custom metrics, for pb_utils.MetricFamily (absent: those calls fail with a clear error). */
  readonly customMetrics?: CustomMetricRegistry;
}

/**
 * A model instance of the Python backend: one stub process running TritonPythonModel. Executes one batch at a time
 * (the scheduler hands it one; a second call waits). A stub that crashes or exceeds the execute timeout fails the
 * batch it was running with a clear error and is started again (initialize runs again); requests that arrive during
 * the restart wait for it. The server is never affected: the stub is a separate process.
 */
export class PythonInstance implements BackendInstance {
  private stub: StubProcess | undefined;
  private starting: Promise<StubProcess> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private restartCount = 0;

  private constructor(
    readonly name: string,
    private readonly settings: PythonInstanceSettings,
  ) {}

  /** Start the stub and run initialize; rejects with the model's error (the load fails). */
  static async start(name: string, settings: PythonInstanceSettings): Promise<PythonInstance> {
    const instance = new PythonInstance(name, settings);
    instance.stub = await instance.launch();
    return instance;
  }

  /** How many times the stub was restarted after a crash or hang. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Process id of the running stub (tests, diagnostics). */
  get pid(): number | undefined {
    return this.stub?.alive ? this.stub.pid : undefined;
  }

  execute(inputs: Tensor[], outputNames: readonly string[], request?: RequestContext): Promise<ExecutionResult> {
    return this.serialize(async () => {
      try {
        return await (await this.ready()).execute(inputs, outputNames, this.settings.executeTimeoutMs, request);
      } catch (error) {
        // A run cut short because the instance is being closed is the unload's doing, not the model's.
        throw this.closed ? Errors.unloading(this.settings.modelName) : error;
      }
    });
  }

  /** A decoupled model's request: responses go to `sink` as the model sends them; the instance is busy until the final flag. */
  executeDecoupled(inputs: Tensor[], outputNames: readonly string[], sink: ResponseSink, request?: RequestContext): Promise<ExecutionResult> {
    return this.executeDecoupledBatch([{ inputs, outputNames, sink, request }])[0];
  }

  /**
   * Decoupled requests in one TritonPythonModel.execute call (a dynamic batch: its `requests` list holds one
   * InferenceRequest per run, each with its own response sender). Each run settles at its own final flag; the instance
   * is busy until every one has.
   */
  executeDecoupledBatch(runs: readonly DecoupledRun[]): Array<Promise<ExecutionResult>> {
    const settlers: Array<{ resolve(result: ExecutionResult): void; reject(error: unknown): void }> = [];
    const results = runs.map(() => new Promise<ExecutionResult>((resolve, reject) => settlers.push({ resolve, reject })));
    void this.serialize(async () => {
      let outcomes: Array<Promise<ExecutionResult>>;
      try {
        outcomes = (await this.ready()).executeDecoupled(runs, this.settings.executeTimeoutMs);
      } catch (error) {
        outcomes = runs.map(() => Promise.reject(error));
      }
      outcomes.forEach((outcome, i) =>
        outcome.then(settlers[i].resolve, (error: unknown) =>
          // A run cut short because the instance is being closed is the unload's doing, not the model's.
          settlers[i].reject(this.closed ? Errors.unloading(this.settings.modelName) : error),
        ),
      );
      await Promise.allSettled(outcomes);
    });
    return results;
  }

  /**
   * Several requests in one TritonPythonModel.execute call: its `requests` list holds one InferenceRequest per run,
   * as Triton's dynamic batcher passes them. An error response fails only its own run; an exception raised by
   * execute, a crash or a hang fails them all, as in Triton.
   *
   * Deliberately not named `executeMany`: the scheduler's optional BackendInstance.executeMany promises independent
   * executions (one failing never fails the others), which one Python call cannot keep. The scheduler therefore calls
   * execute() once per (merged) batch; this is the entry point for a scheduler mode that hands over a dynamic batch's
   * requests unmerged.
   */
  executeRequests(runs: readonly RunRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]> {
    return this.serialize(async () => {
      try {
        const outcomes = await (await this.ready()).executeRequests(runs, this.settings.executeTimeoutMs);
        return outcomes.map((outcome): PromiseSettledResult<ExecutionResult> =>
          outcome instanceof InferenceError ? { status: 'rejected', reason: outcome } : { status: 'fulfilled', value: outcome },
        );
      } catch (error) {
        return runs.map((): PromiseSettledResult<ExecutionResult> => ({ status: 'rejected', reason: error }));
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The scheduler drains before closing; a run still going after the finalize grace (shutdown past its deadline)
    // is ended with its stub, so closing never waits on a model that hangs.
    if (!(await settlesWithin(this.chain, this.settings.finalizeTimeoutMs))) {
      this.stub?.kill('the model instance was closed while it was executing');
      await this.chain;
    }
    const stub = this.starting ? await this.starting.catch(() => undefined) : this.stub;
    this.stub = undefined;
    if (!stub) return;
    const finalizeError = await stub.close(this.settings.finalizeTimeoutMs);
    if (finalizeError) this.settings.spawn.output('stderr', `finalize of model instance '${this.name}' failed: ${finalizeError}\n`);
  }

  /** One execution at a time: the stub serves one message at a time and the input file holds one batch. */
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The stub to execute on: the running one, or the restarted one; InferenceErrors when there is none. */
  private async ready(): Promise<StubProcess> {
    if (this.closed) throw Errors.unloading(this.settings.modelName);
    try {
      return await this.current();
    } catch (error) {
      throw error instanceof InferenceError ? error : Errors.pythonStubUnavailable(this.name, (error as Error).message);
    }
  }

  /** The running stub, or the one being started to replace a stub that died. */
  private current(): Promise<StubProcess> {
    if (this.stub?.alive) return Promise.resolve(this.stub);
    if (!this.starting) {
      this.stub = undefined;
      const starting = this.launch().then((stub) => {
        this.restartCount += 1;
        if (this.closed) {
          void stub.close(this.settings.finalizeTimeoutMs);
          throw Errors.unloading(this.settings.modelName);
        }
        this.stub = stub;
        return stub;
      });
      this.starting = starting;
      starting.then(
        () => (this.starting = undefined),
        () => (this.starting = undefined),
      );
    }
    return this.starting;
  }

  private async launch(): Promise<StubProcess> {
    const stub = StubProcess.spawn(this.settings.spawn);
    if (this.settings.runner) stub.onBls = blsHandler(this.settings.runner);
    stub.customMetrics = this.settings.customMetrics;
    try {
      await stub.initialize(this.settings.initialize, this.settings.initializeTimeoutMs);
    } catch (error) {
      stub.kill();
      await stub.exited;
      throw error;
    }
    stub.onceExit(() => {
      // Restart right away so the next request finds a ready stub; a failure is reported to that request.
      if (!this.closed && this.stub === stub) void this.current().catch(() => undefined);
    });
    return stub;
  }
}
