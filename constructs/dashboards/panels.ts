/**
 * The inference dashboard, defined once and rendered as Grafana JSON (grafana.ts) and as a Cloud Monitoring dashboard
 * (cloud-monitoring.ts): the metrics of the 2018 NVIDIA/Kubeflow "Figure 2" view — request success and failure,
 * inferences vs executions (the batching ratio), queue and compute time with their percentiles, pending requests, and
 * per-GPU utilization, memory and power — per model and per pod.
 *
 * Metric names are the server's (server/metrics/names.ts, Triton's names); constructs may not import server code, so
 * they are written out here and test/dashboards checks every name in every query against the exporter's.
 */

/** Placeholders the renderers replace: the model/pod selector, the pod-only selector (GPU and CPU series have no model), the rate window. */
export const SELECTOR = '$SELECTOR';
export const POD_SELECTOR = '$POD_SELECTOR';
export const RANGE = '$RANGE';

/** Units the panels use, with their names in Grafana and in Cloud Monitoring (UCUM). */
export const PANEL_UNITS = {
  perSecond: { grafana: 'reqps', cloudMonitoring: '1/s' },
  ratio: { grafana: 'short', cloudMonitoring: '1' },
  milliseconds: { grafana: 'ms', cloudMonitoring: 'ms' },
  count: { grafana: 'short', cloudMonitoring: '1' },
  fraction: { grafana: 'percentunit', cloudMonitoring: '10^2.%' },
  bytes: { grafana: 'bytes', cloudMonitoring: 'By' },
  watts: { grafana: 'watt', cloudMonitoring: 'W' },
} as const;
export type PanelUnit = keyof typeof PANEL_UNITS;

export interface PanelQuery {
  /** PromQL with SELECTOR / POD_SELECTOR inside the braces of every series and RANGE as every range. */
  readonly expr: string;
  /** Series name: Grafana's legend syntax, `{{label}}`. */
  readonly legend: string;
}

export interface PanelDefinition {
  readonly title: string;
  readonly description: string;
  readonly unit: PanelUnit;
  readonly queries: readonly PanelQuery[];
}

export interface PanelRow {
  readonly title: string;
  readonly panels: readonly PanelDefinition[];
}

const rate = (metric: string, by: string) => `sum by (${by}) (rate(${metric}{${SELECTOR}}[${RANGE}]))`;
const quantile = (q: number, histogram: string) => `histogram_quantile(${q}, sum by (model, le) (rate(${histogram}_bucket{${SELECTOR}}[${RANGE}])))`;
/** Mean per successful request, µs counters → ms; `> 0` drops idle models (0/0). */
const meanMs = (counter: string) => `${rate(counter, 'model')} / (${rate('nv_inference_request_success', 'model')} > 0) / 1000`;

export const DASHBOARD_TITLE = 'Inference server';
export const DASHBOARD_UID = 'inference-server';

export const DASHBOARD_ROWS: readonly PanelRow[] = [
  {
    title: 'Requests',
    panels: [
      {
        title: 'Request rate: success and failure',
        description: 'Successful and failed requests per second per model; failures by reason (REJECTED, CANCELED, BACKEND, OTHER).',
        unit: 'perSecond',
        queries: [
          { expr: rate('nv_inference_request_success', 'model'), legend: '{{model}} success' },
          { expr: `${rate('nv_inference_request_failure', 'model, reason')} > 0`, legend: '{{model}} failed {{reason}}' },
        ],
      },
      {
        title: 'Inferences vs executions',
        description: 'Inferences (a batch of n counts n) and model executions per second: with dynamic batching executions stay below inferences.',
        unit: 'perSecond',
        queries: [
          { expr: rate('nv_inference_count', 'model'), legend: '{{model}} inferences' },
          { expr: rate('nv_inference_exec_count', 'model'), legend: '{{model}} executions' },
        ],
      },
      {
        title: 'Batching ratio',
        description: 'Inferences per execution: the average batch size the scheduler formed.',
        unit: 'ratio',
        queries: [{ expr: `${rate('nv_inference_count', 'model')} / (${rate('nv_inference_exec_count', 'model')} > 0)`, legend: '{{model}}' }],
      },
      {
        title: 'Pending requests',
        description: 'Requests accepted by a model\'s scheduler and not finished, per model and pod (the HPA\'s metric).',
        unit: 'count',
        queries: [{ expr: `sum by (model, pod) (nv_inference_pending_request_count{${SELECTOR}})`, legend: '{{model}} {{pod}}' }],
      },
    ],
  },
  {
    title: 'Latency',
    panels: [
      {
        title: 'Mean queue and compute time per request',
        description: 'From Triton\'s cumulative µs counters divided by successful requests.',
        unit: 'milliseconds',
        queries: [
          { expr: meanMs('nv_inference_queue_duration_us'), legend: '{{model}} queue' },
          { expr: meanMs('nv_inference_compute_infer_duration_us'), legend: '{{model}} compute' },
          { expr: meanMs('nv_inference_request_duration_us'), legend: '{{model}} end to end' },
        ],
      },
      {
        title: 'Request latency p50 / p99',
        description: 'End-to-end duration of successful requests, from the server\'s histogram.',
        unit: 'milliseconds',
        queries: [
          { expr: quantile(0.5, 'nv_inference_request_duration_histogram_ms'), legend: '{{model}} p50' },
          { expr: quantile(0.99, 'nv_inference_request_duration_histogram_ms'), legend: '{{model}} p99' },
        ],
      },
      {
        title: 'Queue latency p50 / p99',
        description: 'Time successful requests waited in the scheduler queue.',
        unit: 'milliseconds',
        queries: [
          { expr: quantile(0.5, 'nv_inference_queue_duration_histogram_ms'), legend: '{{model}} p50' },
          { expr: quantile(0.99, 'nv_inference_queue_duration_histogram_ms'), legend: '{{model}} p99' },
        ],
      },
      {
        title: 'Compute latency p50 / p99',
        description: 'Model execution time of successful requests.',
        unit: 'milliseconds',
        queries: [
          { expr: quantile(0.5, 'nv_inference_compute_infer_duration_histogram_ms'), legend: '{{model}} p50' },
          { expr: quantile(0.99, 'nv_inference_compute_infer_duration_histogram_ms'), legend: '{{model}} p99' },
        ],
      },
    ],
  },
  {
    title: 'GPU and host',
    panels: [
      {
        title: 'GPU utilization',
        description: 'Busy fraction per GPU (nvidia-smi utilization.gpu), per pod.',
        unit: 'fraction',
        queries: [{ expr: `max by (pod, gpu_uuid) (nv_gpu_utilization{${POD_SELECTOR}})`, legend: '{{pod}} {{gpu_uuid}}' }],
      },
      {
        title: 'GPU memory',
        description: 'Used and total memory per GPU.',
        unit: 'bytes',
        queries: [
          { expr: `max by (pod, gpu_uuid) (nv_gpu_memory_used_bytes{${POD_SELECTOR}})`, legend: '{{pod}} {{gpu_uuid}} used' },
          { expr: `max by (pod, gpu_uuid) (nv_gpu_memory_total_bytes{${POD_SELECTOR}})`, legend: '{{pod}} {{gpu_uuid}} total' },
        ],
      },
      {
        title: 'GPU power',
        description: 'Power draw and power limit per GPU, in watts.',
        unit: 'watts',
        queries: [
          { expr: `max by (pod, gpu_uuid) (nv_gpu_power_usage{${POD_SELECTOR}})`, legend: '{{pod}} {{gpu_uuid}} draw' },
          { expr: `max by (pod, gpu_uuid) (nv_gpu_power_limit{${POD_SELECTOR}})`, legend: '{{pod}} {{gpu_uuid}} limit' },
        ],
      },
      {
        title: 'Node CPU utilization',
        description: 'The node\'s CPU busy fraction as the server reads it from /proc (the node, not the pod\'s limits).',
        unit: 'fraction',
        queries: [{ expr: `max by (pod) (nv_cpu_utilization{${POD_SELECTOR}})`, legend: '{{pod}}' }],
      },
    ],
  },
];

/** Every query of the dashboard with its panel, in order. */
export function allQueries(): Array<{ panel: PanelDefinition; query: PanelQuery }> {
  return DASHBOARD_ROWS.flatMap((row) => row.panels.flatMap((panel) => panel.queries.map((query) => ({ panel, query }))));
}

/** A query with its placeholders filled in. */
export function fillQuery(expr: string, values: { selector: string; podSelector: string; range: string }): string {
  return expr.split(SELECTOR).join(values.selector).split(POD_SELECTOR).join(values.podSelector).split(RANGE).join(values.range);
}
