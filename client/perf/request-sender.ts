/**
 * Sends one profiled request and times it: ModelInfer (HTTP or gRPC) or, with --streaming, a request on one shared
 * ModelStreamInfer stream. Streamed requests ask for Triton's empty final response (triton_enable_empty_final_response)
 * so that a decoupled model's request is complete at the response flagged triton_final_response, however many
 * responses came before it.
 */
import type { InferStream } from '../api';
import type { InferenceServerClient } from '../client';
import type { InferInput, InferOptions } from '../tensor';
import type { SequenceStep } from './sequences';

export interface Outcome {
  /** Microseconds from send to the request's last response. */
  readonly latencyUs: number;
  /** Microseconds from send to its first response (the same as latencyUs for one response). */
  readonly firstResponseUs: number;
  /** Responses received (a decoupled model may send any number, the empty final one not counted). */
  readonly responses: number;
}

interface Pending {
  readonly startedAt: bigint;
  firstAt?: bigint;
  responses: number;
  resolve(outcome: Outcome): void;
  reject(error: Error): void;
}

const micros = (from: bigint, to: bigint) => Number(to - from) / 1000;

export class RequestSender {
  private sent = 0;
  private stream?: InferStream;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly client: InferenceServerClient,
    private readonly model: string,
    private readonly base: InferOptions,
    /** Request inputs per data stream and step. */
    private readonly payloads: readonly (readonly InferInput[][])[],
    private readonly streaming: boolean,
  ) {}

  /** Stateless requests go round-robin over every step of every stream. */
  private stateless(): InferInput[] {
    let index = this.sent % this.payloads.reduce((n, s) => n + s.length, 0);
    for (const stream of this.payloads) {
      if (index < stream.length) return stream[index];
      index -= stream.length;
    }
    throw new Error('unreachable: no payload');
  }

  async send(sequence?: SequenceStep): Promise<Outcome> {
    const inputs = sequence ? this.payloads[sequence.stream][sequence.step] : this.stateless();
    this.sent += 1;
    const parameters = sequence
      ? { ...this.base.parameters, sequence_id: sequence.id, sequence_start: sequence.start, sequence_end: sequence.end }
      : this.base.parameters;
    if (this.streaming) return this.sendStreamed(inputs, { ...this.base, parameters });
    const startedAt = process.hrtime.bigint();
    await this.client.infer(this.model, inputs, { ...this.base, parameters });
    const latencyUs = micros(startedAt, process.hrtime.bigint());
    return { latencyUs, firstResponseUs: latencyUs, responses: 1 };
  }

  private sendStreamed(inputs: InferInput[], options: InferOptions): Promise<Outcome> {
    const stream = this.stream ?? this.openStream();
    const id = `perf-${this.sent}`;
    return new Promise<Outcome>((resolve, reject) => {
      this.pending.set(id, { startedAt: process.hrtime.bigint(), responses: 0, resolve, reject });
      stream.send(this.model, inputs, { ...options, id, parameters: { ...options.parameters, triton_enable_empty_final_response: true } });
    });
  }

  private openStream(): InferStream {
    const stream = this.client.stream();
    this.stream = stream;
    void (async () => {
      let failure: Error = new Error('the inference stream ended');
      try {
        for await (const response of stream) {
          const pending = response.id === undefined ? undefined : this.pending.get(response.id);
          if (!pending) continue;
          const now = process.hrtime.bigint();
          if (!response.ok) {
            this.pending.delete(response.id!);
            pending.reject(response.error);
            continue;
          }
          const final = response.result.parameters.triton_final_response === true;
          // The empty final response (no outputs) only closes the request; it is not one of the model's responses.
          if (response.result.outputs.length > 0) {
            pending.responses += 1;
            pending.firstAt ??= now;
          }
          if (final) {
            this.pending.delete(response.id!);
            pending.resolve({ latencyUs: micros(pending.startedAt, now), firstResponseUs: micros(pending.startedAt, pending.firstAt ?? now), responses: pending.responses });
          }
        }
      } catch (error) {
        failure = error as Error;
      }
      if (this.stream === stream) this.stream = undefined;
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.reject(failure);
      }
    })();
    return stream;
  }

  close(): void {
    this.stream?.end();
  }
}
