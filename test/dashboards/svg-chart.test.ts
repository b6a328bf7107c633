import { formatValue, svgChart } from '../../bench/lib/svg-chart';

describe('dashboard render charts', () => {
  test('values carry the panel unit, scaled as Grafana scales them', () => {
    expect(formatValue(20, 'perSecond')).toBe('20 req/s');
    expect(formatValue(1500, 'perSecond')).toBe('1500 req/s');
    expect(formatValue(2.5, 'milliseconds')).toBe('2.5 ms');
    expect(formatValue(0.25, 'milliseconds')).toBe('250 µs');
    expect(formatValue(2500, 'milliseconds')).toBe('2.5 s');
    expect(formatValue(0.5, 'fraction')).toBe('50%');
    expect(formatValue(3 * 1024 ** 3, 'bytes')).toBe('3 GiB');
    expect(formatValue(70, 'watts')).toBe('70 W');
    expect(formatValue(0, 'count')).toBe('0');
  });

  test('one path per series with its legend; an empty panel says why', () => {
    const svg = svgChart(
      [{ name: 'mlp <p99>', points: [[0, 1], [2, 3], [4, 2], [20, 5]] }, { name: 'simple', points: [[0, 0], [2, 1]] }],
      { title: 'Latency', unit: 'milliseconds', width: 600, height: 300, emptyText: 'none' },
    );
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('mlp &lt;p99&gt;');
    // The gap between t=4 and t=20 breaks the line: two moves in the first path.
    expect(svg.match(/<path d="([^"]*)"/)![1].match(/M/g)).toHaveLength(2);
    const empty = svgChart([], { title: 'GPU', unit: 'fraction', width: 600, height: 300, emptyText: 'No data here' });
    expect(empty).toContain('No data here');
    expect(empty).not.toContain('<path');
  });
});
