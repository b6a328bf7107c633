/**
 * Sequences for stateful models, as perf_analyzer drives them: each sequence gets a correlation id from
 * --sequence-id-range, a length of --sequence-length +/- --sequence-length-variation % (or its data stream's length),
 * and its requests carry sequence_start on the first and sequence_end on the last.
 */
import type { SequenceOptions } from './options';

export interface SequenceStep {
  readonly id: number;
  readonly start: boolean;
  readonly end: boolean;
  /** Which data stream and which of its steps this request sends. */
  readonly stream: number;
  readonly step: number;
}

/** Correlation ids start, start+1, ... wrapping at end (excluded) when the range is bounded. */
export class SequenceIdPool {
  private next: number;

  constructor(private readonly options: Pick<SequenceOptions, 'idStart' | 'idEnd'>) {
    this.next = options.idStart;
  }

  /** How many sequences may be live at once without two sharing an id. */
  get capacity(): number {
    return this.options.idEnd === undefined ? Infinity : this.options.idEnd - this.options.idStart;
  }

  take(): number {
    const id = this.next;
    this.next += 1;
    if (this.options.idEnd !== undefined && this.next >= this.options.idEnd) this.next = this.options.idStart;
    return id;
  }
}

/** A length within +/- variation % of base, at least 1 (perf_analyzer's uniform variation). */
export function varyLength(base: number, variationPercent: number, random: () => number = Math.random): number {
  const offset = (variationPercent / 100) * base * (random() * 2 - 1);
  return Math.max(1, Math.round(base + offset));
}

/** What chooses the next sequence: ids, lengths and data streams shared by every slot. */
export class SequencePlanner {
  private streamsUsed = 0;
  completed = 0;

  constructor(
    private readonly options: SequenceOptions,
    private readonly ids: SequenceIdPool,
    /** Steps in each data stream (one stream of one step for generated data). */
    private readonly streamLengths: readonly number[],
    /** True when the data came from --input-data: unspecified lengths follow the stream. */
    private readonly userData: boolean,
  ) {}

  /** A new sequence's id, stream and length. */
  begin(): { id: number; stream: number; length: number } {
    const stream = this.streamsUsed++ % this.streamLengths.length;
    const length =
      this.options.length === undefined && this.userData
        ? this.streamLengths[stream]
        : varyLength(this.options.length ?? 20, this.options.lengthVariation);
    return { id: this.ids.take(), stream, length };
  }
}

/** One live sequence after another: a slot of the concurrency (or one of --num-of-sequences at a request rate). */
export class SequenceSlot {
  private current?: { id: number; stream: number; length: number };
  private sent = 0;
  /** The request in flight on this slot (serial sequences wait for it). */
  inFlight?: Promise<unknown>;

  constructor(
    private readonly planner: SequencePlanner,
    private readonly streamLengths: readonly number[],
  ) {}

  next(): SequenceStep {
    if (!this.current || this.sent >= this.current.length) {
      this.current = this.planner.begin();
      this.sent = 0;
    }
    const { id, stream, length } = this.current;
    const index = this.sent++;
    const end = index === length - 1;
    if (end) this.planner.completed += 1;
    return { id, start: index === 0, end, stream, step: index % this.streamLengths[stream] };
  }
}
