/**
 * A JSON schema of Google Cloud Managed Service for Prometheus' PodMonitoring (monitoring.googleapis.com/v1), written
 * here from its documented API (spec.selector, spec.endpoints, spec.targetLabels, spec.limits, spec.filterRunning):
 * the fields the constructs emit are typed and checked, unknown spec and endpoint fields are refused, so a typo or a
 * PodMonitoring without endpoints fails the synth tests. Only what the API documents; no upstream file is copied.
 */
const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        additionalProperties: false,
        properties: {
          key: { type: 'string' },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

/** Prometheus durations as GMP accepts them, e.g. 30s, 1m, 1m30s. */
const duration = { type: 'string', pattern: '^((([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?|0)$' };

const endpoint = {
  type: 'object',
  required: ['port'],
  additionalProperties: false,
  properties: {
    port: { anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, { type: 'string', minLength: 1 }] },
    path: { type: 'string' },
    scheme: { type: 'string', enum: ['http', 'https'] },
    interval: duration,
    timeout: duration,
    params: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    metricRelabeling: { type: 'array', items: { type: 'object' } },
    proxyUrl: { type: 'string' },
    authorization: { type: 'object' },
    basicAuth: { type: 'object' },
    oauth2: { type: 'object' },
    tls: { type: 'object' },
  },
};

export const POD_MONITORING_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'monitoring.googleapis.com/v1' },
    kind: { const: 'PodMonitoring' },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
    spec: {
      type: 'object',
      required: ['selector', 'endpoints'],
      additionalProperties: false,
      properties: {
        selector: labelSelector,
        endpoints: { type: 'array', minItems: 1, items: endpoint },
        targetLabels: {
          type: 'object',
          additionalProperties: false,
          properties: {
            fromPod: {
              type: 'array',
              items: { type: 'object', required: ['from'], additionalProperties: false, properties: { from: { type: 'string' }, to: { type: 'string' } } },
            },
            metadata: { type: 'array', items: { type: 'string', enum: ['pod', 'container', 'top_level_controller_name', 'top_level_controller_type', 'node'] } },
          },
        },
        limits: {
          type: 'object',
          additionalProperties: false,
          properties: { samples: { type: 'integer' }, labels: { type: 'integer' }, labelNameLength: { type: 'integer' }, labelValueLength: { type: 'integer' } },
        },
        filterRunning: { type: 'boolean' },
      },
    },
  },
} as const;
