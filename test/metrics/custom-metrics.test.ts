/**
 * Models' custom metrics (Python pb_utils.MetricFamily / Metric) on the server's registry, with Triton's rules:
 * families by name, shared label sets, handle lifetimes, what each kind allows, histogram exposition.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { CustomMetricError, CustomMetrics } from '../../server/metrics/custom-metrics';

function setup() {
  const registry = new Registry();
  const metrics = new CustomMetrics();
  metrics.exportTo(registry);
  return { registry, metrics };
}

test('a counter counts up, refuses to go down or be set, and is exported with its labels', async () => {
  const { registry, metrics } = setup();
  const family = metrics.createFamily('requests_latency_ns', 'Cumulative latency', 'counter');
  const metric = metrics.createMetric(family, { model: 'm', version: '1' }, undefined);
  expect(metrics.value(metric)).toBe(0);
  metrics.increment(metric, 2023);
  expect(metrics.value(metric)).toBe(2023);
  expect(() => metrics.increment(metric, -1)).toThrow(CustomMetricError);
  expect(() => metrics.set(metric, 5)).toThrow(CustomMetricError);
  expect(() => metrics.observe(metric, 5)).toThrow(CustomMetricError);
  const text = await registry.metrics();
  expect(text).toContain('# HELP requests_latency_ns Cumulative latency');
  expect(text).toContain('# TYPE requests_latency_ns counter');
  expect(text).toContain('requests_latency_ns{model="m",version="1"} 2023');
});

test('a gauge goes up, down and is set', () => {
  const { metrics } = setup();
  const metric = metrics.createMetric(metrics.createFamily('queue_depth', 'd', 'gauge'), {}, undefined);
  metrics.increment(metric, 2023);
  metrics.increment(metric, -23.5);
  expect(metrics.value(metric)).toBe(1999.5);
  metrics.set(metric, 999.9);
  expect(metrics.value(metric)).toBe(999.9);
});

test('a histogram observes into its buckets: cumulative _bucket lines with le, _sum, _count', async () => {
  const { registry, metrics } = setup();
  const family = metrics.createFamily('size_hist', 'sizes', 'histogram');
  const metric = metrics.createMetric(family, { a: 'x' }, [0.1, 1, 2.5, 5, 10]);
  for (const value of [0.05, 1.5, 6]) metrics.observe(metric, value);
  expect(() => metrics.value(metric)).toThrow(CustomMetricError);
  expect(() => metrics.increment(metric, 1)).toThrow(CustomMetricError);
  const text = await registry.metrics();
  for (const line of [
    'size_hist_bucket{a="x",le="0.1"} 1',
    'size_hist_bucket{a="x",le="1"} 1',
    'size_hist_bucket{a="x",le="2.5"} 2',
    'size_hist_bucket{a="x",le="5"} 2',
    'size_hist_bucket{a="x",le="10"} 3',
    'size_hist_bucket{a="x",le="+Inf"} 3',
    'size_hist_sum{a="x"} 7.55',
    'size_hist_count{a="x"} 3',
  ]) {
    expect(text).toContain(line);
  }
});

test('histogram buckets are required and strictly increasing; an empty list is allowed', () => {
  const { metrics } = setup();
  const family = metrics.createFamily('h', 'd', 'histogram');
  expect(() => metrics.createMetric(family, {}, undefined)).toThrow(/buckets/);
  expect(() => metrics.createMetric(family, {}, [2.5, 0.1])).toThrow(/increasing/);
  expect(() => metrics.createMetric(family, {}, [1, 1, 2])).toThrow(/increasing/);
  expect(() => metrics.createMetric(family, {}, [])).not.toThrow();
});

test('the same name with the same kind shares one family (first description kept); another kind is refused', async () => {
  const { registry, metrics } = setup();
  const first = metrics.createFamily('dup', 'first description', 'counter');
  const second = metrics.createFamily('dup', 'second description', 'counter');
  expect(() => metrics.createFamily('dup', 'first description', 'gauge')).toThrow(CustomMetricError);
  const a = metrics.createMetric(first, { k: 'label1' }, undefined);
  const b = metrics.createMetric(second, { k: 'label1' }, undefined);
  metrics.increment(a, 7.5);
  expect(metrics.value(b)).toBe(7.5); // same family, same labels: one value
  metrics.deleteFamily(first);
  const text = await registry.metrics();
  expect(text).toContain('# HELP dup first description');
  expect(text).not.toContain('second description');
});

test('a metric whose family was deleted refuses every operation; the family leaves the endpoint', async () => {
  const { registry, metrics } = setup();
  const family = metrics.createFamily('gone', 'd', 'gauge');
  const metric = metrics.createMetric(family, {}, undefined);
  metrics.deleteFamily(family);
  const message = "Invalid metric operation as the corresponding 'MetricFamily' has been deleted.";
  expect(() => metrics.set(metric, 1)).toThrow(message);
  expect(() => metrics.increment(metric, 1)).toThrow(message);
  expect(() => metrics.value(metric)).toThrow(message);
  expect(await registry.metrics()).not.toContain('gone');
});

test('a series stays while some handle holds it', async () => {
  const { registry, metrics } = setup();
  const family = metrics.createFamily('held', 'd', 'counter');
  const one = metrics.createMetric(family, { k: 'v' }, undefined);
  const two = metrics.createMetric(family, { k: 'v' }, undefined);
  metrics.deleteMetric(one);
  expect(await registry.metrics()).toContain('held{k="v"} 0');
  metrics.deleteMetric(two);
  expect(await registry.metrics()).not.toContain('held{k="v"}');
});

test("a name the server's own metrics use is refused rather than clobbering them", () => {
  const { registry, metrics } = setup();
  registry.registerMetric({ name: 'nv_inference_count', get: async () => ({}) } as never);
  expect(() => metrics.createFamily('nv_inference_count', 'd', 'counter')).toThrow(/already exists/);
});

test('hostile names, labels and values are refused with CustomMetricError or accepted and rendered; never anything else', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string(),
      fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
      fc.oneof(fc.double(), fc.constant(Number.NaN)),
      async (name, labels, value) => {
        const { registry, metrics } = setup();
        try {
          const metric = metrics.createMetric(metrics.createFamily(name, 'help', 'gauge'), labels, undefined);
          metrics.set(metric, value);
        } catch (error) {
          expect(error).toBeInstanceOf(CustomMetricError);
        }
        await expect(registry.metrics()).resolves.toEqual(expect.any(String));
      },
    ),
    { numRuns: 200 },
  );
});
