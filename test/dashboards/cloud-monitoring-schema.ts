/**
 * A JSON schema of the Cloud Monitoring Dashboard resource (monitoring.googleapis.com v1, `projects.dashboards`),
 * written here from its documented API (Dashboard, MosaicLayout, Widget, XyChart, DataSet, TimeSeriesQuery,
 * SectionHeader, DashboardFilter): the fields the dashboard uses, their enums, and no unknown fields. No upstream file
 * is copied.
 */
const axis = { type: 'object', additionalProperties: false, properties: { label: { type: 'string' }, scale: { enum: ['LINEAR', 'LOG10'] } } };

const dataSet = {
  type: 'object',
  required: ['timeSeriesQuery'],
  additionalProperties: false,
  properties: {
    timeSeriesQuery: {
      type: 'object',
      additionalProperties: false,
      // One data source per query; the dashboard only uses PromQL.
      required: ['prometheusQuery'],
      properties: { prometheusQuery: { type: 'string', minLength: 1 }, unitOverride: { type: 'string' }, outputFullDuration: { type: 'boolean' } },
    },
    plotType: { enum: ['LINE', 'STACKED_AREA', 'STACKED_BAR', 'HEATMAP'] },
    legendTemplate: { type: 'string' },
    minAlignmentPeriod: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?s$' },
    targetAxis: { enum: ['Y1', 'Y2'] },
  },
};

const widget = {
  type: 'object',
  additionalProperties: false,
  properties: {
    title: { type: 'string' },
    xyChart: {
      type: 'object',
      required: ['dataSets'],
      additionalProperties: false,
      properties: {
        dataSets: { type: 'array', minItems: 1, items: dataSet },
        chartOptions: { type: 'object', additionalProperties: false, properties: { mode: { enum: ['COLOR', 'X_RAY', 'STATS'] } } },
        xAxis: axis,
        yAxis: axis,
        y2Axis: axis,
      },
    },
    sectionHeader: { type: 'object', additionalProperties: false, properties: { subtitle: { type: 'string' }, dividerBelow: { type: 'boolean' } } },
  },
  // A widget is exactly one kind of content.
  oneOf: [{ required: ['xyChart'] }, { required: ['sectionHeader'] }],
};

const integer = (minimum: number, maximum?: number) => ({ type: 'integer', minimum, ...(maximum !== undefined ? { maximum } : {}) });

export const CLOUD_MONITORING_DASHBOARD_SCHEMA = {
  type: 'object',
  required: ['displayName', 'mosaicLayout'],
  additionalProperties: false,
  properties: {
    displayName: { type: 'string', minLength: 1 },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    dashboardFilters: {
      type: 'array',
      items: {
        type: 'object',
        required: ['labelKey'],
        additionalProperties: false,
        properties: {
          labelKey: { type: 'string', minLength: 1 },
          templateVariable: { type: 'string' },
          stringValue: { type: 'string' },
          filterType: { enum: ['RESOURCE_LABEL', 'METRIC_LABEL', 'USER_METADATA_LABEL', 'SYSTEM_METADATA_LABEL', 'GROUP'] },
        },
      },
    },
    mosaicLayout: {
      type: 'object',
      required: ['columns', 'tiles'],
      additionalProperties: false,
      properties: {
        columns: integer(1, 48),
        tiles: {
          type: 'array',
          items: {
            type: 'object',
            required: ['width', 'height', 'widget'],
            additionalProperties: false,
            properties: { xPos: integer(0), yPos: integer(0), width: integer(1), height: integer(1), widget },
          },
        },
      },
    },
  },
} as const;
