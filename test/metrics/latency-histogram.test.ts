import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { LatencyHistogram } from '../../server/metrics/latency-histogram';
import { DEFAULT_LATENCY_BUCKETS_MS } from '../../server/metrics/config';

// Our histogram must expose exactly what prom-client's own Histogram exposes for the same observations: /metrics text
// and the JSON form, for any values, series, removals.

const NAME = 'nv_test_duration_histogram_ms';
const HELP = 'Histogram of a test duration in milliseconds';

function pair(buckets: readonly number[]) {
  const theirsRegistry = new Registry();
  const oursRegistry = new Registry();
  const theirs = new Histogram({ name: NAME, help: HELP, labelNames: ['model', 'version'], buckets: [...buckets], registers: [theirsRegistry] });
  const ours = new LatencyHistogram({ name: NAME, help: HELP, buckets, registers: [oursRegistry] });
  return { theirs, ours, theirsRegistry, oursRegistry };
}

describe('LatencyHistogram', () => {
  it('exposes what prom-client Histogram exposes for the same observations (text and JSON)', async () => {
    const series = fc.constantFrom({ model: 'simple', version: '1' }, { model: 'simple', version: '2' }, { model: 'm"x\\y\nz', version: '1' });
    const value = fc.oneof(fc.constantFrom(...DEFAULT_LATENCY_BUCKETS_MS, 0, 20000), fc.double({ min: 0, max: 20000, noNaN: true }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(series, value), { maxLength: 60 }), fc.option(series, { nil: undefined }), async (observations, removed) => {
        const { theirs, ours, theirsRegistry, oursRegistry } = pair(DEFAULT_LATENCY_BUCKETS_MS);
        for (const [labels, v] of observations) {
          theirs.observe(labels, v);
          ours.seriesOf(labels).observe(v);
        }
        if (removed) {
          theirs.remove(removed);
          ours.remove(removed);
        }
        expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
        expect(await oursRegistry.getMetricsAsJSON()).toStrictEqual(await theirsRegistry.getMetricsAsJSON());
      }),
      { numRuns: 100 },
    );
  });

  it('shows a new series at zero, as prom-client after zero()', async () => {
    const { theirs, ours, theirsRegistry, oursRegistry } = pair([1, 2.5]);
    theirs.zero({ model: 'a', version: '3' });
    ours.seriesOf({ model: 'a', version: '3' });
    const text = await oursRegistry.metrics();
    expect(text).toBe(await theirsRegistry.metrics());
    expect(text).toContain(`${NAME}_bucket{le="+Inf",model="a",version="3"} 0`);
  });

  it('ignores a value that is not a finite number (prom-client would throw), keeping the series as it was', async () => {
    const { ours, oursRegistry } = pair([1]);
    const series = ours.seriesOf({ model: 'a', version: '1' });
    series.observe(0.5);
    for (const bad of [NaN, Infinity, -Infinity]) series.observe(bad);
    const text = await oursRegistry.metrics();
    expect(text).toContain(`${NAME}_count{model="a",version="1"} 1`);
    expect(text).toContain(`${NAME}_sum{model="a",version="1"} 0.5`);
  });

  it('keeps one series per label set, whatever the order of the labels', () => {
    const { ours } = pair([1]);
    const series = ours.seriesOf({ model: 'a', version: '1' });
    expect(ours.seriesOf({ version: '1', model: 'a' })).toBe(series);
    expect(ours.seriesOf({ model: 'a', version: '2' })).not.toBe(series);
  });

  it('zeroes its series on reset (the registry resetMetrics), and they go on counting', async () => {
    const { ours, oursRegistry } = pair([1]);
    const series = ours.seriesOf({ model: 'a', version: '1' });
    series.observe(0.5);
    oursRegistry.resetMetrics();
    expect(await oursRegistry.metrics()).toContain(`${NAME}_count{model="a",version="1"} 0`);
    series.observe(2);
    const text = await oursRegistry.metrics();
    expect(text).toContain(`${NAME}_bucket{le="1",model="a",version="1"} 0`);
    expect(text).toContain(`${NAME}_count{model="a",version="1"} 1`);
    expect(text).toContain(`${NAME}_sum{model="a",version="1"} 2`);
  });
});
