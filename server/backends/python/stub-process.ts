import { ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Errors, InferenceError } from '../../core/errors';
import { timerDelay } from '../../core/promises';
import { encodeFrame, FrameDecoder, OutputTail } from './control-frames';
import type { Tensor } from '../../core/tensor';
import { TensorFiles } from './tensor-files';
import type { RequestContext } from '../backend';
import { CustomMetricRegistry, StubMetricCalls } from './metric-calls';
import { BlsHandler, StubTraffic, UnsolicitedMessage } from './stub-traffic';
import { DecoupledStubRun, ExecuteResult, executeMessage, executeOutcomes, StubExecution, StubRun, watchCancellation } from './execute-exchange';

export type { WireTensor } from './tensor-files';
export type { StubExecution } from './execute-exchange';
export type { BlsCallMessage, BlsHandler, BlsReply } from './stub-traffic';

/**
 * One Python stub process (stub.py) and its channels:
 *  - fd 3, a socket pair: control messages, each a 4-byte little-endian length + UTF-8 JSON (small: names, shapes,
 *    offsets, timings; never tensor data);
 *  - fd 4, a file in /dev/shm holding request tensors: written here with one writev, mapped by numpy on the other side
 *    (np.frombuffer over mmap, no copy);
 *  - fd 5, a file in /dev/shm holding response tensors: written by the stub through its mapping, read here with one
 *    positioned read into a fresh buffer whose views become the output tensors.
 * Both files are unlinked as soon as they are open, so nothing is left in /dev/shm whatever way either side dies.
 * Besides the request/reply pairs (initialize, execute, finalize), the stub may send at any time: decoupled responses
 * ('response'), BLS calls ('bls', answered with 'bls_response'), and 'release_input' for input-file regions it is done
 * with; the server answers 'release' for each output-file region it has read (see tensor-files.ts, stub_channel.py).
 */

export type StubOutput = (stream: 'stdout' | 'stderr', text: string) => void;

export interface StubSpawnOptions {
  /** Interpreter to run stub.py with. */
  readonly python: string;
  readonly stubPath: string;
  /** Instance name, for messages. */
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Directory for the tensor files (tmpfs: /dev/shm). */
  readonly shmDir: string;
  readonly shmPrefix: string;
  readonly output: StubOutput;
}

type FromStub =
  | { type: 'ready'; pid: number; python: string }
  | { type: 'error'; message: string }
  | { type: 'auto_complete_result'; config: Record<string, unknown> }
  | { type: 'finalized'; error: string | null }
  | UnsolicitedMessage
  | ExecuteResult;

interface Waiter {
  resolve(message: FromStub): void;
  reject(error: Error): void;
  /** The error for this request when the process exits before answering. */
  crash(detail: string): Error;
  timer?: NodeJS.Timeout;
}

export class StubProcess {
  private readonly child: ChildProcess;
  private readonly control: Duplex;
  private readonly files: TensorFiles;
  /** What the stub sends on its own: decoupled responses, BLS calls, releases. */
  private readonly traffic: StubTraffic;
  /** Runs the model's BLS calls; without one they get an error response. */
  set onBls(handler: BlsHandler | undefined) {
    this.traffic.onBls = handler;
  }
  /** Where the model's custom metrics (pb_utils.MetricFamily) live; released when the stub exits. */
  set customMetrics(registry: CustomMetricRegistry | undefined) {
    this.traffic.metricCalls = new StubMetricCalls(registry);
  }
  private readonly frames = new FrameDecoder();
  private waiter: Waiter | undefined;
  private nextId = 1;
  private exitInfo: string | undefined;
  /** Why the process was killed: it counts as gone from then on, before its exit is reported. */
  private killReason: string | undefined;
  private readonly exitListeners: Array<(detail: string) => void> = [];
  private readonly stderrTail = new OutputTail();
  private fdsClosed = false;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;

  private constructor(private readonly options: StubSpawnOptions) {
    const base = `${options.shmPrefix}-${process.pid}-${options.label.replace(/[^A-Za-z0-9_.-]/g, '_')}-${crypto
      .randomBytes(6)
      .toString('hex')}`;
    this.files = TensorFiles.createUnlinked(options.shmDir, base);
    this.traffic = new StubTraffic(this.files, (message) => this.send(message), () => this.alive);

    try {
      this.child = spawn(options.python, [options.stubPath], {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', this.files.inputFd, this.files.outputFd],
      });
    } catch (error) {
      this.files.close();
      throw error;
    }
    this.control = this.child.stdio[3] as Duplex;
    this.control.on('data', (chunk: Buffer) => this.onData(chunk));
    this.control.on('error', () => undefined); // the exit handler reports what matters
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (text: string) => options.output('stdout', text));
    this.child.stderr!.on('data', (text: string) => {
      this.stderrTail.remember(text);
      options.output('stderr', text);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        // spawn failed (interpreter not found): there will be no 'exit'
        if (this.child.pid === undefined) {
          this.onExit(`failed to start Python interpreter '${options.python}': ${error.message}`);
          resolve();
        }
      });
      this.child.once('exit', (code, signal) => {
        const report = () => {
          this.onExit(signal ? `the process was killed by ${signal}` : `the process exited with code ${code}`);
          resolve();
        };
        // 'exit' can come before the last messages on fd 3 are read (a reply sent just before exiting): let the
        // channel drain first, unless something else (a process the model started) keeps it open.
        if (this.control.readableEnded || this.control.destroyed) return report();
        const timer = setTimeout(report, 200);
        this.control.once('close', () => {
          clearTimeout(timer);
          report();
        });
      });
    });
  }

  static spawn(options: StubSpawnOptions): StubProcess {
    return new StubProcess(options);
  }

  get alive(): boolean {
    return this.exitInfo === undefined && this.killReason === undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Called once when the process exits (immediately if it already has). */
  onceExit(listener: (detail: string) => void): void {
    if (this.exitInfo !== undefined) listener(this.exitInfo);
    else this.exitListeners.push(listener);
  }

  /** initialize: load model.py and run TritonPythonModel.initialize. Rejects with the model's error. */
  async initialize(message: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const reply = await this.request(
      { type: 'initialize', ...message },
      timeoutMs,
      () => new Error(`the Python stub did not finish initialize within ${timeoutMs / 1000} s`),
      (detail) => this.startupError(detail),
    );
    if (reply.type === 'error') throw new Error(reply.message.trimEnd());
    if (reply.type !== 'ready') throw new Error(`unexpected reply '${reply.type}' to initialize`);
  }

  /** auto_complete: run TritonPythonModel.auto_complete_config on the config; the process exits afterwards. */
  async autoComplete(message: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const reply = await this.request(
      { type: 'auto_complete', ...message },
      timeoutMs,
      () => new Error(`auto_complete_config did not finish within ${timeoutMs / 1000} s`),
      (detail) => this.startupError(detail),
    );
    if (reply.type === 'error') throw new Error(reply.message.trimEnd());
    if (reply.type !== 'auto_complete_result') throw new Error(`unexpected reply '${reply.type}' to auto_complete`);
    return reply.config;
  }

  /**
   * Run one batch: the tensors go into the input file, TritonPythonModel.execute sees one request holding them,
   * and its response comes back through the output file. Rejects with InferenceErrors in Triton's wording.
   */
  async execute(
    inputs: readonly Tensor[],
    outputNames: readonly string[],
    timeoutMs: number,
    request?: RequestContext,
  ): Promise<StubExecution> {
    const [outcome] = await this.executeRequests([{ inputs, outputNames, request }], timeoutMs);
    if (outcome instanceof InferenceError) throw outcome;
    return outcome;
  }

  /**
   * Run several requests in one TritonPythonModel.execute call (its `requests` list, as Triton passes a batch of
   * requests). Each request gets its outputs or its own error response; an exception raised by execute, a crash or a
   * hang rejects the whole call. Timings are the call's, shared evenly between the requests unless `decoupled` is
   * given (then each request carries the whole call's).
   */
  async executeRequests(
    runs: readonly StubRun[],
    timeoutMs: number,
    /**
     * Decoupled requests: one promise per run, settling at its final flag. A run's cancellation is watched until
     * then, and the inputs' region is kept until every one has settled (the model's threads may still read them).
     */
    decoupled?: readonly Promise<unknown>[],
  ): Promise<Array<StubExecution | InferenceError>> {
    if (!this.alive) throw this.crashError(this.exitInfo ?? this.killReason!);
    const started = process.hrtime.bigint();
    const { wire, end, region } = this.files.write(runs.map((run) => run.inputs));
    const id = this.nextId++;
    const written = process.hrtime.bigint();
    // Until a run is over (a decoupled request's: its final flag), a client that goes away is told to the model.
    const stopWatching = watchCancellation(runs, (index) => {
      if (this.alive) this.send({ type: 'cancel', id, index });
    });
    if (decoupled) stopWatching.forEach((stop, i) => decoupled[i].then(stop, stop));
    let reply: FromStub;
    try {
      reply = await this.request(
        executeMessage(id, end, wire, runs),
        timeoutMs,
        () => Errors.pythonStubHung(this.options.label, timeoutMs / 1000),
        (detail) => this.crashError(detail),
      );
    } finally {
      // The execute is over: the inputs' region may be reused (decoupled requests': once all have finished).
      const release = () => this.files.release(region);
      if (decoupled) {
        let open = decoupled.length;
        const settled = () => {
          if (--open === 0) release();
        };
        for (const end of decoupled) end.then(settled, settled);
      } else {
        release();
        for (const stop of stopWatching) stop();
      }
    }
    const replied = process.hrtime.bigint();
    if (reply.type !== 'result' || reply.id !== id) {
      throw Errors.pythonExecuteFailed(`unexpected reply '${reply.type}' from the Python stub`);
    }
    return executeOutcomes(reply, runs.length, this.files, { started, written, replied }, !decoupled);
  }

  /**
   * Run requests of a decoupled model in one execute (one, or a dynamic batch): execute returns (None) once it has
   * started them, each request's responses come as 'response' messages naming its index, now or later, from any
   * thread of the model. One promise per request: it resolves (the call's timings, no outputs) after that request's
   * final flag, and rejects when execute raised before that flag, or the stub died.
   */
  executeDecoupled(runs: readonly DecoupledStubRun[], timeoutMs: number): Array<Promise<StubExecution>> {
    const id = this.nextId; // executeRequests takes this id before it first waits
    const streams = runs.map((run, index) => this.traffic.streams.add(id, index, run.sink));
    const executed = this.executeRequests(
      runs,
      timeoutMs,
      streams.map((stream) => stream.done),
    );
    return streams.map(async (stream, index) => {
      try {
        let outcome: StubExecution | InferenceError;
        try {
          outcome = (await executed)[index];
        } catch (error) {
          // execute raised after this request's final flag: its client has had every response, the others fail.
          if (stream.ended) return { outputs: [], computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };
          throw error;
        }
        if (outcome instanceof InferenceError) throw outcome;
        await stream.done;
        return outcome;
      } finally {
        // Every way out settles the stream (execute raised, returned a response instead of None, ...): the inputs'
        // region is released only once all of this execute's are, and an unreleased region keeps the file growing.
        stream.close();
      }
    });
  }

  /** finalize, then wait for the process to exit; killed when either takes longer than the grace period. */
  async close(graceMs: number): Promise<string | undefined> {
    let finalizeError: string | undefined;
    if (this.alive) {
      try {
        const reply = await this.request(
          { type: 'finalize' },
          graceMs,
          () => new Error(`finalize did not finish within ${graceMs / 1000} s`),
          (detail) => new Error(`the Python stub exited during finalize: ${detail}`),
        );
        if (reply.type === 'finalized' && reply.error) finalizeError = reply.error.trimEnd();
      } catch (error) {
        finalizeError = (error as Error).message;
      }
    }
    if (this.exitInfo === undefined) {
      const timer = setTimeout(() => this.kill('it did not exit after finalize'), timerDelay(graceMs));
      await this.exited;
      clearTimeout(timer);
    }
    return finalizeError;
  }

  kill(reason = 'it was killed by the server'): void {
    if (this.exitInfo !== undefined) return;
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /** The last lines the stub wrote to stderr (a traceback when Python itself failed). */
  stderrSummary(): string {
    return this.stderrTail.summary();
  }

  // -----------------------------------------------------------------------------------------------------------

  private request(
    message: Record<string, unknown>,
    timeoutMs: number,
    onTimeout: () => Error,
    onCrash: (detail: string) => Error,
  ): Promise<FromStub> {
    if (!this.alive) return Promise.reject(onCrash(this.exitInfo ?? this.killReason!));
    if (this.waiter) return Promise.reject(new Error('the Python stub is busy: one message at a time'));
    return new Promise<FromStub>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, crash: onCrash };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          if (this.waiter !== waiter) return;
          this.waiter = undefined;
          reject(onTimeout());
          this.kill('it did not answer in time'); // a stub that does not answer cannot be trusted with the next request
        }, timerDelay(timeoutMs));
      }
      this.waiter = waiter;
      this.send(message);
    });
  }

  private send(message: Record<string, unknown>): void {
    this.control.write(encodeFrame(message));
  }

  private onData(chunk: Buffer): void {
    const messages = this.frames.push(chunk);
    if (messages === 'malformed') {
      this.kill('it sent a malformed control message');
      return;
    }
    for (const raw of messages) {
      const message = raw as FromStub;
      if (this.traffic.handle(message)) continue;
      const waiter = this.waiter;
      if (!waiter) continue; // a late answer to a request that already timed out
      this.waiter = undefined;
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resolve(message);
    }
  }

  private onExit(detail: string): void {
    if (this.exitInfo !== undefined) return;
    this.exitInfo = detail;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.reject(waiter.crash(detail));
    }
    this.traffic.streams.failAll(this.crashError(detail));
    this.traffic.metricCalls.releaseAll();
    if (!this.fdsClosed) {
      this.fdsClosed = true;
      this.files.close();
    }
    for (const listener of this.exitListeners.splice(0)) listener(detail);
  }

  private startupError(detail: string): Error {
    const tail = this.stderrSummary();
    return new Error(`the Python stub stopped before it was ready: ${detail}${tail ? `; its last output:\n${tail}` : ''}`);
  }

  private crashError(detail: string): InferenceError {
    const tail = this.stderrSummary();
    return Errors.pythonStubCrashed(this.options.label, tail ? `${detail}; its last output:\n${tail}` : detail);
  }
}
