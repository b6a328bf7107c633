/**
 * The custom-metrics calls of a stub (pb_utils.MetricFamily / Metric): each 'metric' message is one operation on the
 * server's custom metrics, answered with 'metric_response' (a handle, a value, or the error the model's
 * TritonModelException carries); deletions are not answered. Handles a stub still holds when it exits are released,
 * as Triton's stub destroys its metric objects with the model.
 */

/** What the Python backend needs of the server's custom metrics (metrics/custom-metrics.ts implements it). */
export interface CustomMetricRegistry {
  createFamily(name: string, description: string, kind: 'counter' | 'gauge' | 'histogram'): number;
  createMetric(family: number, labels: Record<string, unknown> | undefined, buckets: readonly number[] | undefined): number;
  increment(metric: number, amount: number): void;
  set(metric: number, value: number): void;
  observe(metric: number, value: number): void;
  value(metric: number): number;
  deleteMetric(metric: number): void;
  deleteFamily(family: number): void;
}

export interface MetricMessage {
  type: 'metric';
  /** Absent for deletions, which are not answered. */
  id?: number;
  op: 'create_family' | 'create_metric' | 'increment' | 'set' | 'observe' | 'value' | 'delete_metric' | 'delete_family';
  handle?: number;
  name?: string;
  description?: string;
  kind?: number;
  labels?: Record<string, unknown>;
  buckets?: number[] | null;
  value?: number;
}

/** pb_utils.MetricFamily.COUNTER, GAUGE, HISTOGRAM. */
const KINDS = ['counter', 'gauge', 'histogram'] as const;

export class StubMetricCalls {
  private readonly families = new Set<number>();
  private readonly metrics = new Set<number>();

  constructor(private readonly registry: CustomMetricRegistry | undefined) {}

  /** Run one operation; returns the reply to send, or undefined for deletions. */
  handle(message: MetricMessage): Record<string, unknown> | undefined {
    const reply = (fields: Record<string, unknown>) =>
      message.id === undefined ? undefined : { type: 'metric_response', id: message.id, ...fields };
    try {
      if (!this.registry) throw new Error('Custom metrics are not available: the server runs without metrics');
      const handle = message.handle ?? -1;
      const amount = message.value ?? Number.NaN;
      switch (message.op) {
        case 'create_family': {
          const kind = KINDS[message.kind ?? -1];
          if (!kind) throw new Error(`Invalid metric family kind ${message.kind}`);
          const family = this.registry.createFamily(message.name ?? '', message.description ?? '', kind);
          this.families.add(family);
          return reply({ handle: family });
        }
        case 'create_metric': {
          const metric = this.registry.createMetric(handle, message.labels, message.buckets ?? undefined);
          this.metrics.add(metric);
          return reply({ handle: metric });
        }
        case 'increment':
          this.registry.increment(handle, amount);
          return reply({});
        case 'set':
          this.registry.set(handle, amount);
          return reply({});
        case 'observe':
          this.registry.observe(handle, amount);
          return reply({});
        case 'value':
          return reply({ value: this.registry.value(handle) });
        case 'delete_metric':
          this.metrics.delete(handle);
          this.registry.deleteMetric(handle);
          return reply({});
        case 'delete_family':
          this.families.delete(handle);
          this.registry.deleteFamily(handle);
          return reply({});
        default:
          throw new Error(`unknown metric operation '${String(message.op)}'`);
      }
    } catch (error) {
      return reply({ error: (error as Error).message });
    }
  }

  /** The stub is gone: release every handle it held (metrics before their families). */
  releaseAll(): void {
    if (!this.registry) return;
    for (const metric of this.metrics) this.registry.deleteMetric(metric);
    for (const family of this.families) this.registry.deleteFamily(family);
    this.metrics.clear();
    this.families.clear();
  }
}
