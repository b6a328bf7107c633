/**
 * One effective trace setting (Triton's TraceManager::TraceSetting): its values, which of them were given explicitly
 * (the rest follow the setting it falls back to), and the sampling and collection state of the traces it made.
 */
import type { TraceFile } from './trace-file';

export type TraceLevel = 'TIMESTAMPS' | 'TENSORS';

/** Triton's trace_count that never stops sampling. */
export const UNLIMITED_TRACE_COUNT = -1;

export interface TraceValues {
  /** Empty: OFF. */
  readonly levels: readonly TraceLevel[];
  readonly rate: number;
  /** Traces still to collect; -1 never stops. */
  readonly count: number;
  readonly logFrequency: number;
  readonly file: string;
}

export type TraceField = 'level' | 'rate' | 'count' | 'logFrequency' | 'file';

export class TraceSetting {
  readonly levels: readonly TraceLevel[];
  readonly rate: number;
  /** Decremented as traces are sampled: GET answers what remains, as Triton does. */
  count: number;
  readonly logFrequency: number;
  /** Why the setting samples nothing (Triton's wording), or '' when it can sample. */
  readonly invalidReason: string;
  private sampled = 0;
  private created = 0;
  private collected = 0;
  private pending: string[] = [];
  private retired = false;

  constructor(
    values: TraceValues,
    readonly file: TraceFile,
    readonly specified: ReadonlySet<TraceField>,
  ) {
    this.levels = values.levels;
    this.rate = values.rate;
    this.count = values.count;
    this.logFrequency = values.logFrequency;
    if (this.levels.length === 0) this.invalidReason = 'tracing is disabled';
    else if (this.rate === 0) this.invalidReason = 'sample rate must be non-zero';
    else if (values.file === '') this.invalidReason = 'trace file name is not given';
    else this.invalidReason = '';
  }

  get values(): TraceValues {
    return { levels: this.levels, rate: this.rate, count: this.count, logFrequency: this.logFrequency, file: this.file.name };
  }

  /** Whether a request now may be traced: a valid setting whose count is not used up. */
  get valid(): boolean {
    return this.invalidReason === '' && this.count !== 0;
  }

  /** Count one request; true when it is the rate-th one and the count allows another trace. */
  sample(): boolean {
    if (!this.valid) return false;
    this.sampled += 1;
    if (this.sampled % this.rate !== 0) return false;
    if (this.count > 0) this.count -= 1;
    this.created += 1;
    return true;
  }

  /** Keep one finished trace (its serialised objects); flush to `<file>.<index>` as Triton's WriteTrace does. */
  write(objects: string): void {
    this.pending.push(objects);
    this.collected += 1;
    const countDone = this.count === 0 && this.collected === this.created;
    const frequencyDone = this.logFrequency !== 0 && this.pending.length >= this.logFrequency;
    if (countDone || frequencyDone) this.flush(true);
    else if (this.retired) this.flush(this.logFrequency !== 0);
  }

  /**
   * The setting was replaced (or the server stops): what it holds goes out now, to `<file>.<index>` with a log
   * frequency, else to `<file>`; traces still in flight are written as they finish.
   */
  retire(): void {
    this.retired = true;
    this.flush(this.logFrequency !== 0);
  }

  private flush(toIndexFile: boolean): void {
    if (this.pending.length === 0) return;
    const traces = this.pending;
    this.pending = [];
    this.file.save(traces, toIndexFile);
  }
}
