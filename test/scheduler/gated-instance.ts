import type { BackendInstance, ExecutionResult } from '../../server/backends/backend';
import type { Tensor } from '../../server/core/tensor';

/**
 * Test double of the BackendInstance interface, for scheduler unit tests only: it computes OUTPUT0 = INPUT0 * 2 in
 * JavaScript and finishes an execution only when the test opens the gate, so queueing order and timing are
 * deterministic. The real backends are covered by the server tests.
 */
export class GatedInstance implements BackendInstance {
  readonly executions: Tensor[][] = [];
  private gates: Array<() => void> = [];
  autoOpen = false;

  constructor(readonly name = 'gated') {}

  async execute(inputs: Tensor[]): Promise<ExecutionResult> {
    this.executions.push(inputs);
    if (!this.autoOpen) await new Promise<void>((resolve) => this.gates.push(resolve));
    const input = inputs[0];
    const data = Int32Array.from(input.data as Int32Array, (v) => v * 2);
    return {
      outputs: [{ name: 'OUTPUT0', datatype: 'INT32', shape: [...input.shape], data }],
      computeInputNs: 1,
      computeInferNs: 2,
      computeOutputNs: 3,
    };
  }

  /** Let the oldest waiting execution finish. */
  openOne(): void {
    this.gates.shift()?.();
  }

  get waiting(): number {
    return this.gates.length;
  }

  async close(): Promise<void> {
    for (const open of this.gates) open();
  }
}

export function int32Input(values: number[], batch = 1): Tensor {
  return { name: 'INPUT0', datatype: 'INT32', shape: [batch, values.length / batch], data: Int32Array.from(values) };
}

/**
 * Resolves once the scheduler's pending dispatch has run: InstancePoolScheduler dispatches from a setImmediate queued
 * by enqueue(), immediates run in the order they were queued, and Node runs every microtask that a dispatch starts
 * (the instance's execute() up to its gate, a finished run's next dispatch) before the next immediate. No timer is
 * involved: a 0 ms timeout is not ordered against an immediate (issue 20), and a longer one only measures time.
 */
export const afterDispatch = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
