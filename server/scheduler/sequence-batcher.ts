import type { BackendInstance } from '../backends/backend';
import type { ModelSequenceBatching } from '../config/model-config';
import { DATATYPES } from '../core/datatypes';
import { captureCompute } from '../core/request-trace';
import { Errors, InferenceError, toInferenceError } from '../core/errors';
import { timerDelay } from '../core/promises';
import { formatCorrelationId, inSequence, type CorrelationId } from '../core/sequence-parameters';
import type { ExecutionTimings } from '../core/statistics';
import { BytesData, type Tensor } from '../core/tensor';
import { requestContext, type JobResult, type Scheduler, type SchedulerJob } from './scheduler';
import { RowSignals, SequenceControls } from './sequence-controls';
import { SequenceState, StateSpec, stateFromOutputs } from './sequence-state';
import { canShareBatch, concatBatch, splitBatch } from './tensor-batching';

/** The sequence batcher's settings, from config.sequence_batching and max_batch_size. */
export interface SequencePolicy {
  readonly modelName: string;
  readonly maxBatchSize: number;
  readonly sequenceBatching: ModelSequenceBatching;
  readonly states: readonly StateSpec[];
}

interface Pending {
  readonly job: SchedulerJob;
  readonly enqueuedAt: bigint;
  resolve(result: JobResult): void;
  reject(error: InferenceError): void;
}

/** One sequence: its queued requests (run strictly in order) and its implicit state. */
interface Sequence {
  readonly key: string;
  readonly id: CorrelationId;
  readonly requests: Pending[];
  state: SequenceState | undefined;
  running: boolean;
  lastActivity: bigint;
}

interface Slot {
  readonly lane: Lane;
  readonly index: number;
  sequence?: Sequence;
}

/** One instance and its sequence slots; it runs one batch at a time, so a sequence's requests never overtake. */
interface Lane {
  readonly instance: BackendInstance;
  readonly slots: Slot[];
  busy: boolean;
  delayArmed: boolean;
}

interface Row {
  readonly slot: Slot;
  /** Absent: an idle slot padding a direct batch (READY false). */
  readonly pending?: Pending;
}

/**
 * Triton's sequence batcher. Each active sequence owns a slot of one instance until its END request has run or it
 * stays idle past max_sequence_idle_microseconds; sequences beyond the slots wait in a backlog, in arrival order.
 * `direct`: a batch holds one request per slot at its slot's row (idle rows below READY=0). `oldest`: a batch takes the
 * oldest heads of the slots' sequences, one request per sequence. Control and state tensors are added as model inputs.
 */
export class SequenceBatcher implements Scheduler {
  private readonly lanes: Lane[];
  private readonly byId = new Map<string, Sequence>();
  private readonly backlog: Sequence[] = [];
  private readonly controls: SequenceControls;
  private readonly batched: boolean;
  private readonly oldest: boolean;
  private readonly maxQueueDelayNs: number;
  private readonly idleNs: bigint;
  private queued = 0;
  private running = 0;
  private flushing = false;
  private reaper: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(
    instances: readonly BackendInstance[],
    private readonly policy: SequencePolicy,
    private readonly onExecution: (timings: ExecutionTimings) => void = () => {},
  ) {
    const config = policy.sequenceBatching;
    this.batched = policy.maxBatchSize > 0;
    this.oldest = config.oldest !== undefined;
    this.controls = new SequenceControls(config, this.batched);
    const slotsPerLane = this.oldest
      ? Math.max(1, config.oldest?.max_candidate_sequences || policy.maxBatchSize)
      : Math.max(1, policy.maxBatchSize);
    this.maxQueueDelayNs = ((this.oldest ? config.oldest?.max_queue_delay_microseconds : config.direct?.max_queue_delay_microseconds) ?? 0) * 1000;
    this.idleNs = BigInt(config.max_sequence_idle_microseconds ?? 1_000_000) * 1000n;
    this.lanes = instances.map((instance) => {
      const lane: Lane = { instance, slots: [], busy: false, delayArmed: false };
      for (let i = 0; i < slotsPerLane; i++) lane.slots.push({ lane, index: i });
      return lane;
    });
  }

  get pendingCount(): number {
    return this.queued + this.running;
  }

  get queuedCount(): number {
    return this.queued;
  }

  enqueue(job: SchedulerJob): Promise<JobResult> {
    const model = this.policy.modelName;
    const flags = job.sequence ?? { id: 0n, start: false, end: false };
    if (job.batchSize > 1) return Promise.reject(Errors.sequenceBatchSize(model));
    if (!inSequence(flags.id)) return Promise.reject(Errors.sequenceIdMissing(model));
    try {
      this.controls.checkId(flags.id, job.requestId);
    } catch (error) {
      return Promise.reject(toInferenceError(error));
    }
    const key = typeof flags.id === 'string' ? `s:${flags.id}` : `n:${flags.id}`;
    let sequence = this.byId.get(key);
    if (!sequence && !flags.start) return Promise.reject(Errors.sequenceNotStarted(formatCorrelationId(flags.id), model));
    job.trace?.capture('QUEUE_START');
    return new Promise<JobResult>((resolve, reject) => {
      const now = process.hrtime.bigint();
      if (!sequence) {
        sequence = { key, id: flags.id, requests: [], state: undefined, running: false, lastActivity: now };
        this.byId.set(key, sequence);
        const slot = this.freeSlot();
        if (slot) slot.sequence = sequence;
        else this.backlog.push(sequence);
      }
      sequence.requests.push({ job, enqueuedAt: now, resolve, reject });
      sequence.lastActivity = now;
      this.queued += 1;
      // After END the id is free again: a later request with it must START a new sequence.
      if (flags.end) this.byId.delete(key);
      const slot = this.slotOf(sequence);
      if (slot) this.dispatch(slot.lane);
    });
  }

  /** Run everything accepted; sequences left without queued requests give up their slots so the backlog can run. */
  drain(): Promise<void> {
    this.flushing = true;
    for (const lane of this.lanes) this.releaseIdleSlots(lane);
    for (const lane of this.lanes) this.dispatch(lane);
    if (this.pendingCount === 0) return this.finishDrain();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Fail every queued request at once (unload past the exit deadline): backlogged sequences would never get a slot. */
  abort(error: InferenceError): void {
    this.flushing = true;
    for (const sequence of this.byId.values()) {
      const queued = sequence.requests.splice(0);
      this.queued -= queued.length;
      for (const pending of queued) pending.reject(error);
    }
    this.afterChange();
  }

  private finishDrain(): Promise<void> {
    clearTimeout(this.reaper);
    this.reaper = undefined;
    return Promise.resolve();
  }

  /** The free slot of the instance holding the fewest sequences (spreads sequences over instances). */
  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    let bestLoad = Infinity;
    for (const lane of this.lanes) {
      const free = lane.slots.find((slot) => !slot.sequence);
      if (!free) continue;
      const load = lane.slots.filter((slot) => slot.sequence).length;
      if (load < bestLoad) {
        best = free;
        bestLoad = load;
      }
    }
    return best;
  }

  private slotOf(sequence: Sequence): Slot | undefined {
    for (const lane of this.lanes) for (const slot of lane.slots) if (slot.sequence === sequence) return slot;
    return undefined;
  }

  /** Give a slot back; the oldest backlogged sequence takes it. */
  private release(slot: Slot): void {
    const sequence = slot.sequence;
    if (sequence && this.byId.get(sequence.key) === sequence) this.byId.delete(sequence.key);
    slot.sequence = this.backlog.shift();
  }

  private releaseIdleSlots(lane: Lane): void {
    for (const slot of lane.slots) {
      const sequence = slot.sequence;
      if (sequence && !sequence.running && sequence.requests.length === 0) this.release(slot);
    }
  }

  private dispatch(lane: Lane): void {
    if (lane.busy) return;
    if (this.flushing) this.releaseIdleSlots(lane);
    const ready = lane.slots.filter((slot) => slot.sequence && slot.sequence.requests.length > 0);
    if (ready.length === 0) {
      this.afterChange();
      return;
    }
    const rows = this.oldest ? this.oldestRows(lane, ready) : this.directRows(lane, ready);
    if (rows) void this.execute(lane, rows);
    this.afterChange();
  }

  /** direct: one row per slot up to the highest ready one; waits (max_queue_delay) for minimum_slot_utilization. */
  private directRows(lane: Lane, ready: Slot[]): Row[] | undefined {
    const utilization = this.policy.sequenceBatching.direct?.minimum_slot_utilization ?? 0;
    if (ready.length / lane.slots.length < utilization && this.shouldWait(lane, ready)) return undefined;
    const representative = ready[0].sequence!.requests[0].job.inputs;
    const joining = new Set(ready.filter((slot) => canShareBatch(representative, slot.sequence!.requests[0].job.inputs)));
    const last = Math.max(...[...joining].map((slot) => slot.index));
    return lane.slots
      .slice(0, last + 1)
      .map((slot) => (joining.has(slot) ? { slot, pending: slot.sequence!.requests[0] } : { slot }));
  }

  /** oldest: the oldest heads, one per sequence, up to max_batch_size; waits for a preferred size within the delay. */
  private oldestRows(lane: Lane, ready: Slot[]): Row[] | undefined {
    const byAge = [...ready].sort((a, b) => (a.sequence!.requests[0].enqueuedAt < b.sequence!.requests[0].enqueuedAt ? -1 : 1));
    const representative = byAge[0].sequence!.requests[0].job.inputs;
    const limit = Math.max(1, this.policy.maxBatchSize);
    const picked = byAge.filter((slot) => canShareBatch(representative, slot.sequence!.requests[0].job.inputs)).slice(0, limit);
    const preferred = this.policy.sequenceBatching.oldest?.preferred_batch_size ?? [];
    const full = picked.length >= limit || preferred.includes(picked.length);
    if (!full && picked.length === ready.length && this.shouldWait(lane, byAge)) return undefined;
    return picked.map((slot) => ({ slot, pending: slot.sequence!.requests[0] }));
  }

  /** True (and a timer armed) while the oldest ready request may still wait for a fuller batch. */
  private shouldWait(lane: Lane, ready: Slot[]): boolean {
    if (this.flushing || this.maxQueueDelayNs <= 0) return false;
    const oldest = ready.reduce((min, slot) => {
      const at = slot.sequence!.requests[0].enqueuedAt;
      return at < min ? at : min;
    }, ready[0].sequence!.requests[0].enqueuedAt);
    const remainingNs = this.maxQueueDelayNs - Number(process.hrtime.bigint() - oldest);
    if (remainingNs <= 0) return false;
    if (lane.delayArmed) return true;
    lane.delayArmed = true;
    setTimeout(() => {
      lane.delayArmed = false;
      this.dispatch(lane);
    }, timerDelay(remainingNs / 1e6)).unref();
    return true;
  }

  private async execute(lane: Lane, rows: Row[]): Promise<void> {
    lane.busy = true;
    const real = rows.filter((row) => row.pending);
    for (const row of real) {
      row.slot.sequence!.requests.shift();
      row.slot.sequence!.running = true;
    }
    this.queued -= real.length;
    this.running += real.length;
    const startedAt = process.hrtime.bigint();
    try {
      const outputNames = [
        ...new Set([...real.flatMap((row) => row.pending!.job.outputNames), ...this.policy.states.map((s) => s.outputName)]),
      ];
      // A batch of one sequence's request is shown to the backend as that request (correlation id, flags, ...).
      const context = rows.length === 1 && real.length === 1 ? requestContext(real[0].pending!.job) : undefined;
      const result = await lane.instance.execute(this.batchInputs(rows, real[0].pending!.job.inputs), outputNames, context);
      const timings: ExecutionTimings = {
        batchSize: rows.length,
        computeInputNs: result.computeInputNs,
        computeInferNs: result.computeInferNs,
        computeOutputNs: result.computeOutputNs,
      };
      this.onExecution(timings);
      let endedAt: bigint | undefined;
      for (const row of real) {
        const trace = row.pending!.job.trace;
        if (trace) captureCompute(trace, startedAt, (endedAt ??= process.hrtime.bigint()), timings);
      }
      const perRow: Tensor[][] = rows.map(() => []);
      for (const output of result.outputs) {
        const parts = this.batched ? splitBatch(output, rows.map(() => 1)) : [output];
        parts.forEach((part, i) => perRow[i].push(part));
      }
      rows.forEach((row, i) => {
        if (!row.pending) return;
        row.slot.sequence!.state = stateFromOutputs(this.policy.states, perRow[i], this.batched);
        const wanted = new Set(row.pending.job.outputNames);
        const outputs = perRow[i].filter((tensor) => wanted.has(tensor.name));
        row.pending.resolve({ outputs, queueNs: Number(startedAt - row.pending.enqueuedAt), timings });
      });
    } catch (error) {
      const failure = toInferenceError(error);
      for (const row of real) row.pending!.reject(failure);
    }
    const now = process.hrtime.bigint();
    for (const row of real) {
      const sequence = row.slot.sequence!;
      sequence.running = false;
      sequence.lastActivity = now;
      if (row.pending!.job.sequence?.end && sequence.requests.length === 0) this.release(row.slot);
    }
    this.running -= real.length;
    lane.busy = false;
    // A backlogged sequence may have taken a slot of another lane's release: every lane gets a look.
    for (const other of this.lanes) this.dispatch(other);
  }

  /** The model's inputs for a batch: the requests' own, padding for idle rows, then control and state tensors. */
  private batchInputs(rows: Row[], representative: readonly Tensor[]): Tensor[] {
    const inputs = representative.map((input) =>
      this.stack(rows.map((row) => row.pending?.job.inputs.find((t) => t.name === input.name) ?? zerosLike(input))),
    );
    const signals = rows.map(
      (row): RowSignals => ({
        start: row.pending?.job.sequence?.start ?? false,
        end: row.pending?.job.sequence?.end ?? false,
        ready: row.pending !== undefined,
        id: row.slot.sequence?.id ?? 0n,
      }),
    );
    inputs.push(...this.controls.tensors(signals));
    for (const spec of this.policy.states) {
      const perRow = rows.map((row) => {
        const sequence = row.pending ? row.slot.sequence : undefined;
        const state = !sequence || row.pending!.job.sequence?.start ? undefined : sequence.state?.get(spec.inputName);
        const tensor = state ?? spec.initial;
        // A copy with the batch dimension: the instance may take the buffer, and the state must outlive the batch.
        const data = tensor.data.slice();
        return { ...tensor, shape: this.batched ? [1, ...tensor.shape] : [...tensor.shape], data };
      });
      inputs.push(this.stack(perRow));
    }
    return inputs;
  }

  private stack(parts: Tensor[]): Tensor {
    return this.batched ? concatBatch(parts) : parts[0];
  }

  /** After each change: release timed-out sequences, keep one reaper timer for the next deadline, wake drain. */
  private afterChange(): void {
    if (this.pendingCount === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      void this.finishDrain();
      for (const wake of waiters) wake();
      return;
    }
    if (!this.reaper && !this.flushing) this.armReaper();
  }

  private armReaper(): void {
    let next: bigint | undefined;
    for (const lane of this.lanes) {
      for (const slot of lane.slots) {
        const sequence = slot.sequence;
        if (!sequence || sequence.running || sequence.requests.length > 0) continue;
        const deadline = sequence.lastActivity + this.idleNs;
        if (next === undefined || deadline < next) next = deadline;
      }
    }
    if (next === undefined) return;
    const waitMs = timerDelay(Number(next - process.hrtime.bigint()) / 1e6);
    this.reaper = setTimeout(() => {
      this.reaper = undefined;
      this.reap();
    }, waitMs);
    this.reaper.unref();
  }

  /** Release the slots of sequences idle past max_sequence_idle_microseconds (their next request must START again). */
  private reap(): void {
    const now = process.hrtime.bigint();
    for (const lane of this.lanes) {
      for (const slot of lane.slots) {
        const sequence = slot.sequence;
        if (!sequence || sequence.running || sequence.requests.length > 0) continue;
        if (now - sequence.lastActivity >= this.idleNs) this.release(slot);
      }
    }
    for (const lane of this.lanes) this.dispatch(lane);
    this.afterChange();
  }
}

/** One padding row shaped like `input` (batch 1), zero-filled. */
function zerosLike(input: Tensor): Tensor {
  const count = input.data.length / Math.max(1, input.shape[0] ?? 1);
  const ArrayType = DATATYPES[input.datatype].arrayType;
  const data = ArrayType ? new ArrayType(count) : BytesData.fromElements(Array.from({ length: count }, () => new Uint8Array(0)));
  return { name: input.name, datatype: input.datatype, shape: [1, ...input.shape.slice(1)], data };
}
