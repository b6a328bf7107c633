/**
 * Metric names in a PromQL expression, read from the parse tree of Prometheus' own PromQL grammar
 * (@prometheus-io/lezer-promql), and the names the server exports.
 */
import { parser } from '@prometheus-io/lezer-promql';
import {
  CACHE_METRICS, CACHE_MODEL_METRICS, CPU_METRICS, GPU_METRICS, HISTOGRAM_METRICS, INFERENCE_METRICS,
} from '../../server/metrics/names';

/** Grafana's range variables are not PromQL: a duration stands in for them before parsing. */
function withoutGrafanaRanges(expr: string): string {
  return expr.replace(/\$__(rate_)?interval|\$__range/g, '5m');
}

/** Parses one expression: the series names it selects, and where the grammar found errors. */
export function parsePromql(expr: string): { metricNames: string[]; errors: string[] } {
  const text = withoutGrafanaRanges(expr);
  const metricNames = new Set<string>();
  const errors: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: ${JSON.stringify(text.slice(Math.max(0, node.from - 10), node.to + 10))}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metricNames.add(text.slice(node.from, node.to));
    },
  });
  return { metricNames: [...metricNames], errors };
}

export function promqlMetricNames(expr: string): string[] {
  return parsePromql(expr).metricNames;
}

/** Names the server's /metrics shows: counters and gauges as named, histograms only with _bucket, _sum and _count. */
export function exportedMetricNames(): Set<string> {
  const plain = [INFERENCE_METRICS, GPU_METRICS, CPU_METRICS, CACHE_MODEL_METRICS, CACHE_METRICS].flatMap((family) => Object.values(family).map((m) => m.name));
  const histograms = Object.values(HISTOGRAM_METRICS).flatMap((m) => ['_bucket', '_sum', '_count'].map((suffix) => m.name + suffix));
  return new Set([...plain, ...histograms]);
}

/** Names in the expression the server does not export. */
export function unknownMetricNames(expr: string, exported = exportedMetricNames()): string[] {
  return promqlMetricNames(expr).filter((name) => !exported.has(name));
}
