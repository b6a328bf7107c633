import { DASHBOARD_ROWS, DASHBOARD_TITLE, DASHBOARD_UID, fillQuery, PANEL_UNITS } from './panels';

/** The Grafana template variables' selectors: every query filters by the chosen models and pods. */
export const GRAFANA_SELECTORS = {
  selector: 'model=~"$model", pod=~"$pod"',
  podSelector: 'pod=~"$pod"',
  // Grafana's window for rate(): at least four scrape intervals of the data source.
  range: '$__rate_interval',
} as const;

/** Grid: 24 columns; two panels per line. */
const PANEL_WIDTH = 12;
const PANEL_HEIGHT = 8;
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function queryVariable(name: string, label: string, metric: string) {
  const query = `label_values(${metric}, ${name})`;
  return {
    name, label, type: 'query', datasource: DATASOURCE,
    definition: query, query: { query, refId: `${name}-values` },
    refresh: 2, includeAll: true, multi: true, allValue: '.*', sort: 1,
    current: { selected: true, text: ['All'], value: ['$__all'] },
  };
}

/**
 * The dashboard as Grafana's JSON model (schemaVersion 39: rows and timeseries panels), for the Prometheus data source
 * the user picks (`datasource` variable), with `model` and `pod` variables. What ships as
 * dashboards/inference-server.grafana.json and in GrafanaDashboard's ConfigMap.
 */
export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((panel, index) => {
      panels.push({
        id: id++,
        type: 'timeseries',
        title: panel.title,
        description: panel.description,
        datasource: DATASOURCE,
        gridPos: { h: PANEL_HEIGHT, w: PANEL_WIDTH, x: (index % 2) * PANEL_WIDTH, y: y + Math.floor(index / 2) * PANEL_HEIGHT },
        fieldConfig: { defaults: { unit: PANEL_UNITS[panel.unit].grafana, min: 0, custom: { lineWidth: 1, fillOpacity: 10, showPoints: 'never' } }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
        targets: panel.queries.map((query, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: fillQuery(query.expr, GRAFANA_SELECTORS),
          legendFormat: query.legend,
          range: true,
        })),
      });
    });
    y += Math.ceil(row.panels.length / 2) * PANEL_HEIGHT;
  }
  return {
    uid: DASHBOARD_UID,
    title: DASHBOARD_TITLE,
    description: 'Triton-compatible inference server: requests, batching, latency, pending requests, GPUs (cdk8s-inference-server)',
    tags: ['inference', 'triton', 'gpu'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    graphTooltip: 1,
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        queryVariable('model', 'Model', 'nv_inference_request_success'),
        queryVariable('pod', 'Pod', 'nv_inference_request_success'),
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
