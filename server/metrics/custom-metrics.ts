import type { Registry } from 'prom-client';

/**
 * Custom metrics that models create (Triton's Python `pb_utils.MetricFamily` / `Metric`, the Python equivalent of
 * Triton's C API custom metrics), exported on the metrics endpoint next to the server's own.
 *
 * Semantics follow Triton's: a family is identified by its name (creating it again with the same kind shares it; the
 * first description stays; another kind is refused); metrics of one family with the same labels share one value;
 * families and metrics live as long as some handle on them does, and a metric whose family was deleted refuses every
 * operation. Counters only increase; gauges increase, decrease and are set; histograms only observe, into the buckets
 * their metric was created with.
 *
 * Hand-written collector: prom-client's Counter/Gauge/Histogram fix their label names up front, while a Triton family
 * holds metrics with any label sets, so each family is one object with prom-client's `get()` shape, rendered by the
 * same registry as every other metric.
 */

export type CustomMetricKind = 'counter' | 'gauge' | 'histogram';

/** A refused custom-metrics operation; the message is what the model's TritonModelException carries. */
export class CustomMetricError extends Error {}

interface Series {
  readonly labels: Record<string, string>;
  /** Counter and gauge value; histogram sum. */
  value: number;
  /** Histogram only: upper bounds and the (non-cumulative) count per bucket, the last one +Inf. */
  readonly buckets?: readonly number[];
  readonly counts?: number[];
  count: number;
  handles: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: CustomMetricKind;
  readonly series: Map<string, Series>;
  handles: number;
  deleted: boolean;
}

/** prom-client renders any registered object with this shape (see Registry.getMetricsAsString). */
interface CollectedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: CustomMetricKind;
  get(): { name: string; help: string; type: CustomMetricKind; values: { metricName?: string; labels: Record<string, string | number>; value: number }[] };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class CustomMetrics {
  private readonly families = new Map<string, Family>();
  private readonly familyHandles = new Map<number, Family>();
  private readonly metricHandles = new Map<number, { family: Family; key: string; series: Series }>();
  private nextHandle = 1;

  /** Where families are exported; none (metrics disabled): they work, nothing is exported. */
  private registry: Registry | undefined;

  /** Export the families (those existing and those to come) on this registry: the metrics endpoint's. */
  exportTo(registry: Registry): void {
    this.registry = registry;
    for (const family of this.families.values()) register(registry, family);
  }

  /** A handle on the family `name`, created when it does not exist yet. */
  createFamily(name: string, description: string, kind: CustomMetricKind): number {
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) throw new CustomMetricError(`Invalid metric family name '${name}'`);
    let family = this.families.get(name);
    if (family && family.kind !== kind) {
      throw new CustomMetricError(
        `Metric family '${name}' already exists with kind ${family.kind}, cannot create it again with kind ${kind}`,
      );
    }
    if (!family) {
      family = { name, help: String(description ?? ''), kind, series: new Map(), handles: 0, deleted: false };
      if (this.registry) {
        if (this.registry.getSingleMetric(name)) throw new CustomMetricError(`A metric named '${name}' already exists on the server`);
        register(this.registry, family);
      }
      this.families.set(name, family);
    }
    family.handles += 1;
    const handle = this.nextHandle++;
    this.familyHandles.set(handle, family);
    return handle;
  }

  /** A handle on the metric of the family with these labels (shared with earlier handles on the same labels). */
  createMetric(familyHandle: number, labels: Record<string, unknown> | undefined, buckets: readonly number[] | undefined): number {
    const family = this.liveFamily(familyHandle);
    const labelSet: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels ?? {})) {
      if (!LABEL_NAME.test(key)) throw new CustomMetricError(`Invalid label name '${key}'`);
      labelSet[key] = String(value);
    }
    if (family.kind === 'histogram') {
      if (!Array.isArray(buckets)) throw new CustomMetricError("Missing required argument 'buckets' for a histogram metric");
      for (let i = 0; i < buckets.length; i++) {
        if (typeof buckets[i] !== 'number' || !Number.isFinite(buckets[i])) throw new CustomMetricError('Histogram buckets must be finite numbers');
        if (i > 0 && !(buckets[i] > buckets[i - 1])) throw new CustomMetricError('Histogram buckets must be in increasing order');
      }
    } else if (buckets !== undefined && buckets !== null) {
      throw new CustomMetricError(`'buckets' are only for histogram metrics, not ${family.kind}`);
    }
    const key = JSON.stringify(Object.keys(labelSet).sort().map((name) => [name, labelSet[name]]));
    let series = family.series.get(key);
    if (!series) {
      series = { labels: labelSet, value: 0, count: 0, handles: 0 };
      if (family.kind === 'histogram') {
        series = { ...series, buckets: [...buckets!], counts: new Array<number>(buckets!.length + 1).fill(0) };
      }
      family.series.set(key, series);
    }
    series.handles += 1;
    const handle = this.nextHandle++;
    this.metricHandles.set(handle, { family, key, series });
    return handle;
  }

  increment(metricHandle: number, amount: number): void {
    const { family, series } = this.liveMetric(metricHandle);
    if (family.kind === 'histogram') throw new CustomMetricError('Increment is not supported for histogram metrics');
    if (family.kind === 'counter' && amount < 0) throw new CustomMetricError('Counter metrics cannot be decremented');
    series.value += number(amount);
  }

  set(metricHandle: number, value: number): void {
    const { family, series } = this.liveMetric(metricHandle);
    if (family.kind !== 'gauge') throw new CustomMetricError(`Set is not supported for ${family.kind} metrics`);
    series.value = number(value);
  }

  observe(metricHandle: number, value: number): void {
    const { family, series } = this.liveMetric(metricHandle);
    if (family.kind !== 'histogram') throw new CustomMetricError(`Observe is only supported for histogram metrics, not ${family.kind}`);
    const observed = number(value);
    const index = series.buckets!.findIndex((bound) => observed <= bound);
    series.counts![index === -1 ? series.buckets!.length : index] += 1;
    series.count += 1;
    series.value += observed;
  }

  value(metricHandle: number): number {
    const { family, series } = this.liveMetric(metricHandle);
    if (family.kind === 'histogram') throw new CustomMetricError('Value is not supported for histogram metrics');
    return series.value;
  }

  /** Drop a metric handle; the series goes when no handle holds it. */
  deleteMetric(metricHandle: number): void {
    const held = this.metricHandles.get(metricHandle);
    if (!held) return;
    this.metricHandles.delete(metricHandle);
    held.series.handles -= 1;
    if (held.series.handles === 0 && held.family.series.get(held.key) === held.series) held.family.series.delete(held.key);
  }

  /** Drop a family handle; the family (and its series) goes when no handle holds it. */
  deleteFamily(familyHandle: number): void {
    const family = this.familyHandles.get(familyHandle);
    if (!family) return;
    this.familyHandles.delete(familyHandle);
    family.handles -= 1;
    if (family.handles > 0) return;
    family.deleted = true;
    family.series.clear();
    this.families.delete(family.name);
    this.registry?.removeSingleMetric(family.name);
  }

  private liveFamily(handle: number): Family {
    const family = this.familyHandles.get(handle);
    if (!family || family.deleted) throw new CustomMetricError('Invalid metric family: it has been deleted.');
    return family;
  }

  private liveMetric(handle: number): { family: Family; series: Series } {
    const held = this.metricHandles.get(handle);
    if (!held) throw new CustomMetricError('Invalid metric: it has been deleted.');
    if (held.family.deleted) {
      throw new CustomMetricError("Invalid metric operation as the corresponding 'MetricFamily' has been deleted.");
    }
    return held;
  }
}

function number(value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new CustomMetricError(`Expected a number, got ${String(value)}`);
  return value;
}

function register(registry: Registry, family: Family): void {
  // The registry renders any object with prom-client's get() shape: see CollectedFamily.
  registry.registerMetric(collected(family) as unknown as Parameters<Registry['registerMetric']>[0]);
}

function collected(family: Family): CollectedFamily {
  return {
    name: family.name,
    help: family.help,
    type: family.kind,
    get() {
      const values: ReturnType<CollectedFamily['get']>['values'] = [];
      for (const series of family.series.values()) {
        if (family.kind !== 'histogram') {
          values.push({ labels: series.labels, value: series.value });
          continue;
        }
        let cumulative = 0;
        series.buckets!.forEach((bound, i) => {
          cumulative += series.counts![i];
          values.push({ metricName: `${family.name}_bucket`, labels: { ...series.labels, le: bound }, value: cumulative });
        });
        values.push({ metricName: `${family.name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count });
        values.push({ metricName: `${family.name}_sum`, labels: series.labels, value: series.value });
        values.push({ metricName: `${family.name}_count`, labels: series.labels, value: series.count });
      }
      return { name: family.name, help: family.help, type: family.kind, values };
    },
  };
}
