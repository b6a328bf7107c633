import { DASHBOARD_ROWS, DASHBOARD_TITLE, fillQuery, PANEL_UNITS } from './panels';

/**
 * Cloud Monitoring runs PromQL over Managed Service for Prometheus data; the dashboard's pinned filters on the `model`
 * and `pod` labels narrow every chart whose series carry them, so the queries need no variables of their own.
 */
export const CLOUD_MONITORING_SELECTORS = { selector: '', podSelector: '', range: '5m' } as const;

/** Mosaic layout: 48 columns; two charts per line. */
const COLUMNS = 48;
const TILE_WIDTH = 24;
const TILE_HEIGHT = 16;

/** `{{label}}` legends become Cloud Monitoring's `${labels.label}` legend templates. */
export function cloudMonitoringLegend(legend: string): string {
  return legend.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, '${labels.$1}');
}

/**
 * The dashboard as a Cloud Monitoring `Dashboard` (monitoring.googleapis.com v1, mosaicLayout of xyCharts with
 * `prometheusQuery` data sets), for `gcloud monitoring dashboards create --config-from-file`. What ships as
 * dashboards/inference-server.cloud-monitoring.json.
 */
export function cloudMonitoringDashboard(): Record<string, unknown> {
  const tiles: Record<string, unknown>[] = [];
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    tiles.push({ xPos: 0, yPos: y, width: COLUMNS, height: 4, widget: { title: row.title, sectionHeader: { subtitle: '' } } });
    y += 4;
    row.panels.forEach((panel, index) => {
      tiles.push({
        xPos: (index % 2) * TILE_WIDTH,
        yPos: y + Math.floor(index / 2) * TILE_HEIGHT,
        width: TILE_WIDTH,
        height: TILE_HEIGHT,
        widget: {
          title: panel.title,
          xyChart: {
            chartOptions: { mode: 'COLOR' },
            dataSets: panel.queries.map((query) => ({
              plotType: 'LINE',
              targetAxis: 'Y1',
              legendTemplate: cloudMonitoringLegend(query.legend),
              timeSeriesQuery: {
                prometheusQuery: fillQuery(query.expr, CLOUD_MONITORING_SELECTORS).replace(/\{\}/g, ''),
                unitOverride: PANEL_UNITS[panel.unit].cloudMonitoring,
              },
            })),
            yAxis: { scale: 'LINEAR' },
          },
        },
      });
    });
    y += Math.ceil(row.panels.length / 2) * TILE_HEIGHT;
  }
  return {
    displayName: DASHBOARD_TITLE,
    dashboardFilters: [
      // Pinned filters (no templateVariable): they apply to every chart, start unset (all models, all pods).
      { labelKey: 'model', filterType: 'METRIC_LABEL' },
      { labelKey: 'pod', filterType: 'METRIC_LABEL' },
    ],
    labels: { inference: '' },
    mosaicLayout: { columns: COLUMNS, tiles },
  };
}
