/**
 * JSON schemas of the GKE Gateway controller's policies (networking.gke.io/v1 HealthCheckPolicy and GCPBackendPolicy),
 * written here from their documented API (GKE "Configure Gateway resources using Policies" and the gke-gateway-api API
 * reference): field names, enums and ranges of what the constructs emit; unknown fields are refused. No upstream file
 * is copied.
 */
import { customObjectSchema } from './custom-object';

const targetRef = {
  type: 'object',
  required: ['group', 'kind', 'name'],
  additionalProperties: false,
  properties: { group: { type: 'string' }, kind: { enum: ['Service', 'ServiceImport'] }, name: { type: 'string', minLength: 1 }, namespace: { type: 'string' } },
};

const commonCheck = {
  portSpecification: { enum: ['USE_FIXED_PORT', 'USE_NAMED_PORT', 'USE_SERVING_PORT'] },
  port: { type: 'integer', minimum: 1, maximum: 65535 },
  portName: { type: 'string', maxLength: 63 },
};
const httpCheck = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...commonCheck,
    host: { type: 'string', maxLength: 2048 },
    requestPath: { type: 'string', maxLength: 2048, pattern: "^/[A-Za-z0-9/\\-._~%!?$&'()*+,;=:]*$" },
    proxyHeader: { enum: ['NONE', 'PROXY_V1'] },
    response: { type: 'string', maxLength: 1024 },
  },
};
const seconds = (max: number) => ({ type: 'integer', minimum: 1, maximum: max });

/** A policy attached to a Service: its targetRef and the `default` settings. */
function policySchema(kind: string, defaults: Record<string, unknown>) {
  return customObjectSchema('networking.gke.io/v1', kind, {
    type: 'object',
    required: ['targetRef'],
    additionalProperties: false,
    properties: { targetRef, default: { type: 'object', additionalProperties: false, properties: defaults } },
  });
}

export const HEALTH_CHECK_POLICY_SCHEMA = policySchema('HealthCheckPolicy', {
  checkIntervalSec: seconds(300),
  timeoutSec: seconds(300),
  healthyThreshold: seconds(10),
  unhealthyThreshold: seconds(10),
  logConfig: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' } } },
  config: {
    // A union: the type and exactly the one matching protocol block.
    type: 'object',
    required: ['type'],
    minProperties: 2,
    maxProperties: 2,
    additionalProperties: false,
    properties: {
      type: { enum: ['TCP', 'HTTP', 'HTTPS', 'HTTP2', 'GRPC'] },
      tcpHealthCheck: { type: 'object' },
      httpHealthCheck: httpCheck,
      httpsHealthCheck: httpCheck,
      http2HealthCheck: httpCheck,
      grpcHealthCheck: { type: 'object' },
    },
  },
});

export const GCP_BACKEND_POLICY_SCHEMA = policySchema('GCPBackendPolicy', {
  timeoutSec: seconds(2147483647),
  connectionDraining: { type: 'object', additionalProperties: false, properties: { drainingTimeoutSec: { type: 'integer', minimum: 0, maximum: 3600 } } },
  logging: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, sampleRate: { type: 'integer', minimum: 0, maximum: 1000000 } } },
  sessionAffinity: { type: 'object' },
  securityPolicy: { type: 'string' },
  iap: { type: 'object' },
  maxRatePerEndpoint: { type: 'integer', minimum: 1, maximum: 1000000000 },
});
