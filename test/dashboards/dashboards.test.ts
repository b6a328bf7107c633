import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { Testing } from 'cdk8s';
import { DASHBOARD_ROWS, GRAFANA_DASHBOARD_KEY, GrafanaDashboard } from '../../constructs';
import { INFERENCE_METRICS } from '../../server/metrics/names';
import { DASHBOARD_FILES, dashboardFileContents } from '../../scripts/dashboards';
import { chart, find, schemaErrors, synth } from '../constructs/helpers';
import { CLOUD_MONITORING_DASHBOARD_SCHEMA } from './cloud-monitoring-schema';
import { exportedMetricNames, parsePromql, promqlMetricNames, unknownMetricNames } from './promql-names';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

interface GrafanaPanel { type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Array<{ refId: string; expr: string; legendFormat: string }> }

describe('dashboard files', () => {
  test('are what `npm run dashboards` writes from constructs/dashboards', () => {
    const expected = dashboardFileContents();
    expect(fs.readFileSync(path.join(ROOT, DASHBOARD_FILES.grafana), 'utf8')).toBe(expected.grafana);
    expect(fs.readFileSync(path.join(ROOT, DASHBOARD_FILES.cloudMonitoring), 'utf8')).toBe(expected.cloudMonitoring);
  });

  test('every metric name in every Grafana and Cloud Monitoring query is one the server exports', () => {
    const grafana = read(DASHBOARD_FILES.grafana);
    const cm = read(DASHBOARD_FILES.cloudMonitoring);
    const grafanaExprs: string[] = grafana.panels.flatMap((p: GrafanaPanel) => (p.targets ?? []).map((t) => t.expr));
    const cmExprs: string[] = cm.mosaicLayout.tiles.flatMap((t: any) => (t.widget.xyChart?.dataSets ?? []).map((d: any) => d.timeSeriesQuery.prometheusQuery));
    const queryCount = DASHBOARD_ROWS.flatMap((r) => r.panels).flatMap((p) => p.queries).length;
    expect(grafanaExprs).toHaveLength(queryCount);
    expect(cmExprs).toHaveLength(queryCount);
    const exported = exportedMetricNames();
    for (const expr of [...grafanaExprs, ...cmExprs]) {
      expect({ expr, errors: parsePromql(expr).errors }).toEqual({ expr, errors: [] });
      expect(promqlMetricNames(expr).length).toBeGreaterThan(0);
      expect({ expr, unknown: unknownMetricNames(expr, exported) }).toEqual({ expr, unknown: [] });
    }
    // The Figure-2 families are all on the dashboard.
    const used = new Set([...grafanaExprs, ...cmExprs].flatMap(promqlMetricNames));
    for (const name of ['nv_inference_request_success', 'nv_inference_request_failure', 'nv_inference_count', 'nv_inference_exec_count',
      'nv_inference_queue_duration_us', 'nv_inference_compute_infer_duration_us', 'nv_inference_pending_request_count',
      'nv_inference_request_duration_histogram_ms_bucket', 'nv_inference_queue_duration_histogram_ms_bucket',
      'nv_inference_compute_infer_duration_histogram_ms_bucket', 'nv_gpu_utilization', 'nv_gpu_memory_used_bytes', 'nv_gpu_power_usage']) {
      expect(used).toContain(name);
    }
  });

  test('the name check catches a misspelt name, a histogram without its suffix and a suffix on a counter', () => {
    expect(unknownMetricNames('sum by (model, le) (rate(nv_inference_request_sucess{model=~"a"}[5m]))')).toEqual(['nv_inference_request_sucess']);
    expect(unknownMetricNames('rate(nv_inference_queue_duration_histogram_ms[1m])')).toEqual(['nv_inference_queue_duration_histogram_ms']);
    expect(unknownMetricNames(`rate(${INFERENCE_METRICS.inferenceCount.name}_bucket[1m])`)).toEqual(['nv_inference_count_bucket']);
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (model, le) (rate(a_bucket{pod=~"$pod"}[$__rate_interval]))) / (b > 0) / 1000')).toEqual(['a_bucket', 'b']);
    expect(parsePromql('sum by (model) (rate(x[5m])').errors).not.toEqual([]);
  });

  test('Grafana: panels on the 24-column grid without overlap, unique refIds, every variable used is defined', () => {
    const grafana = read(DASHBOARD_FILES.grafana);
    const variables = new Set(grafana.templating.list.map((v: { name: string }) => v.name));
    const cells = new Set<string>();
    for (const panel of grafana.panels as GrafanaPanel[]) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        expect(cells.has(`${i},${j}`)).toBe(false);
        cells.add(`${i},${j}`);
      }
      if (panel.type === 'row') continue;
      const refIds = panel.targets!.map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of panel.targets!) {
        for (const [, name] of t.expr.matchAll(/\$(?!__)([a-z_]+)/g)) expect(variables).toContain(name);
        expect(t.expr).not.toMatch(/\$(RANGE|SELECTOR|POD_SELECTOR)/);
      }
    }
  });

  test('Cloud Monitoring: valid against the Dashboard API, tiles inside the mosaic, legends in its ${labels.x} form, no Grafana syntax left', () => {
    const cm = read(DASHBOARD_FILES.cloudMonitoring);
    const validate = new Ajv({ allErrors: true }).compile(CLOUD_MONITORING_DASHBOARD_SCHEMA);
    expect(validate(cm) ? [] : validate.errors).toEqual([]);
    expect(validate({ ...cm, mosaicLayout: { ...cm.mosaicLayout, colums: 48 } })).toBe(false);
    for (const tile of cm.mosaicLayout.tiles) {
      expect(tile.xPos + tile.width).toBeLessThanOrEqual(cm.mosaicLayout.columns);
      for (const d of tile.widget.xyChart?.dataSets ?? []) {
        expect(d.timeSeriesQuery.prometheusQuery).not.toMatch(/\$/);
        expect(d.legendTemplate).not.toMatch(/\{\{/);
        expect(d.legendTemplate).toMatch(/\$\{labels\.[a-z_]+\}/);
      }
    }
  });
});

describe('GrafanaDashboard construct', () => {
  test('a ConfigMap with the sidecar label holding the same JSON as the file, schema-valid', () => {
    const c = chart('monitoring');
    new GrafanaDashboard(c, 'Dashboard', { folder: 'Inference' });
    const m = synth(c);
    expect(schemaErrors(m)).toEqual([]);
    const cm = find(m, 'ConfigMap');
    expect(cm.metadata).toMatchObject({ name: 'inference-server-dashboard', namespace: 'monitoring', labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'Inference' } });
    expect(JSON.parse(cm.data[GRAFANA_DASHBOARD_KEY])).toEqual(read(DASHBOARD_FILES.grafana));
  });

  test('a changed sidecar label, and a refused name', () => {
    const c = chart();
    new GrafanaDashboard(c, 'Dashboard', { sidecarLabel: { key: 'dashboards', value: 'inference' } });
    expect(find(synth(c), 'ConfigMap').metadata.labels).toMatchObject({ dashboards: 'inference' });
    const bad = Testing.chart();
    new GrafanaDashboard(bad, 'Dashboard', { name: 'Not A Name' });
    expect(() => synth(bad)).toThrow(/must be a valid ConfigMap name/);
  });
});
