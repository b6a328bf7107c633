/**
 * JSON schemas of the Gateway API v1 kinds the constructs emit (Gateway, HTTPRoute, GRPCRoute), written here from the
 * API's documented fields (gateway-api.sigs.k8s.io API reference, standard channel): required fields, enums and limits
 * are checked, and unknown spec fields are refused, so a misspelt field fails the synth tests. Only what the API
 * documents; no upstream CRD file is copied.
 */
import { customObjectSchema } from './custom-object';

const name = { type: 'string', minLength: 1, maxLength: 253 };
const sectionName = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' };
const hostname = { type: 'string', minLength: 1, maxLength: 253, pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' };
const port = { type: 'integer', minimum: 1, maximum: 65535 };
const group = { type: 'string', maxLength: 253 };
const kind = { type: 'string', minLength: 1, maxLength: 63 };

const parentRef = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { group, kind, namespace: { type: 'string' }, name, sectionName, port },
};

const backendRef = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    group, kind, name, namespace: { type: 'string' }, port, weight: { type: 'integer', minimum: 0, maximum: 1000000 },
    filters: { type: 'array', items: { type: 'object' } },
  },
};

const commonRouteSpec = {
  parentRefs: { type: 'array', maxItems: 32, items: parentRef },
  hostnames: { type: 'array', maxItems: 16, items: hostname },
};

const headerMatch = {
  type: 'object',
  required: ['name', 'value'],
  additionalProperties: false,
  properties: { type: { enum: ['Exact', 'RegularExpression'] }, name: { type: 'string' }, value: { type: 'string' } },
};

const listener = {
  type: 'object',
  required: ['name', 'port', 'protocol'],
  additionalProperties: false,
  properties: {
    name: sectionName,
    hostname,
    port,
    protocol: { type: 'string', minLength: 1, maxLength: 255 },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['Terminate', 'Passthrough'] },
        certificateRefs: {
          type: 'array', maxItems: 64,
          items: { type: 'object', required: ['name'], additionalProperties: false, properties: { group, kind, name, namespace: { type: 'string' } } },
        },
        options: { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 4096 } },
      },
    },
    allowedRoutes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespaces: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { enum: ['All', 'Selector', 'Same'] }, selector: { type: 'object' } },
        },
        kinds: { type: 'array', maxItems: 8, items: { type: 'object', required: ['kind'], properties: { group, kind } } },
      },
    },
  },
};

export const GATEWAY_SCHEMA = customObjectSchema('gateway.networking.k8s.io/v1', 'Gateway', {
  type: 'object',
  required: ['gatewayClassName', 'listeners'],
  additionalProperties: false,
  properties: {
    gatewayClassName: name,
    listeners: { type: 'array', minItems: 1, maxItems: 64, items: listener },
    addresses: {
      type: 'array', maxItems: 16,
      items: { type: 'object', required: ['value'], additionalProperties: false, properties: { type: { type: 'string' }, value: { type: 'string', minLength: 1 } } },
    },
    infrastructure: { type: 'object' },
  },
});

/** A route kind's spec: parentRefs, hostnames, and rules of the kind's matches (and extra rule fields). */
function routeSchema(kind: string, match: Record<string, unknown>, maxMatches: number, extraRuleProperties: Record<string, unknown> = {}) {
  return customObjectSchema('gateway.networking.k8s.io/v1', kind, {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...commonRouteSpec,
      rules: {
        type: 'array', maxItems: 16,
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: sectionName,
            matches: { type: 'array', maxItems: maxMatches, items: { type: 'object', additionalProperties: false, properties: match } },
            filters: { type: 'array', maxItems: 16, items: { type: 'object', required: ['type'] } },
            backendRefs: { type: 'array', maxItems: 16, items: backendRef },
            ...extraRuleProperties,
          },
        },
      },
    },
  });
}

export const HTTP_ROUTE_SCHEMA = routeSchema('HTTPRoute', {
  path: {
    type: 'object',
    additionalProperties: false,
    properties: { type: { enum: ['Exact', 'PathPrefix', 'RegularExpression'] }, value: { type: 'string', pattern: '^/', maxLength: 1024 } },
  },
  headers: { type: 'array', items: headerMatch },
  queryParams: { type: 'array', items: headerMatch },
  method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] },
}, 64, { timeouts: { type: 'object', additionalProperties: false, properties: { request: { type: 'string' }, backendRequest: { type: 'string' } } } });

export const GRPC_ROUTE_SCHEMA = routeSchema('GRPCRoute', {
  method: {
    type: 'object',
    additionalProperties: false,
    properties: { type: { enum: ['Exact', 'RegularExpression'] }, service: { type: 'string', maxLength: 1024 }, method: { type: 'string', maxLength: 1024 } },
  },
  headers: { type: 'array', maxItems: 16, items: headerMatch },
}, 8);
