/**
 * Offline validation of synthesized manifests: built-in kinds against the Kubernetes OpenAPI schema
 * (kubernetes-models), Config Connector kinds against the openAPIV3Schema of the CRDs kept in constructs/crds,
 * ServiceMonitors against @kubernetes-models/prometheus-operator.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ValidateFunction } from 'ajv';
import { Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { GATEWAY_SCHEMA, GRPC_ROUTE_SCHEMA, HTTP_ROUTE_SCHEMA } from './schemas/gateway-api';
import { GCP_BACKEND_POLICY_SCHEMA, HEALTH_CHECK_POLICY_SCHEMA } from './schemas/gke-gateway-policies';
import { POD_MONITORING_SCHEMA } from './schemas/pod-monitoring';

export const ROOT = path.resolve(__dirname, '..', '..');
const CRD_DIR = path.join(ROOT, 'constructs', 'crds');

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/** Every validation message in the chart, as `cdk8s synth` would report them. */
export function validationErrors(chart: Chart): string[] {
  return chart.node.findAll().flatMap((c) => c.node.validate());
}

/** Synthesizes after checking validations, as App.synth does (Testing.synth alone skips them). */
export function synth(chart: Chart): Manifest[] {
  const errors = validationErrors(chart);
  if (errors.length > 0) throw new Error(`Validation failed:\n  ${errors.join('\n  ')}`);
  return Testing.synth(chart) as Manifest[];
}

export function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

let crdValidators: Map<string, ValidateFunction> | undefined;

function crdValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  if (!crdValidators) {
    crdValidators = new Map();
    // strict: false ignores x-kubernetes-* keywords; formats such as int64 are not ajv formats.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    for (const file of fs.readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
      const crd = parse(fs.readFileSync(path.join(CRD_DIR, file), 'utf8'));
      for (const version of crd.spec.versions) {
        crdValidators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(version.schema.openAPIV3Schema));
      }
    }
    crdValidators.set('monitoring.googleapis.com/v1/PodMonitoring', ajv.compile(POD_MONITORING_SCHEMA));
    crdValidators.set('gateway.networking.k8s.io/v1/Gateway', ajv.compile(GATEWAY_SCHEMA));
    crdValidators.set('gateway.networking.k8s.io/v1/HTTPRoute', ajv.compile(HTTP_ROUTE_SCHEMA));
    crdValidators.set('gateway.networking.k8s.io/v1/GRPCRoute', ajv.compile(GRPC_ROUTE_SCHEMA));
    crdValidators.set('networking.gke.io/v1/HealthCheckPolicy', ajv.compile(HEALTH_CHECK_POLICY_SCHEMA));
    crdValidators.set('networking.gke.io/v1/GCPBackendPolicy', ajv.compile(GCP_BACKEND_POLICY_SCHEMA));
  }
  return crdValidators.get(`${apiVersion}/${kind}`);
}

function k8sModel(apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) | undefined {
  // Built-in groups only: kubernetes-models has a module per group/version, "v1" for the core group.
  if (apiVersion.split('/')[0].includes('.') && !apiVersion.includes('k8s.io')) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(`kubernetes-models/${apiVersion}`)[kind];
  } catch {
    return undefined;
  }
}

/** ESM-only package: validated in a child Node process, where `import` works. */
function validateServiceMonitors(objects: Manifest[]): string[] {
  if (objects.length === 0) return [];
  const script = `
    import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    const errors = [];
    for (const o of JSON.parse(input)) {
      try { new ServiceMonitor(o).validate(); } catch (e) { errors.push('ServiceMonitor ' + o.metadata.name + ': ' + e.message); }
    }
    process.stdout.write(JSON.stringify(errors));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, input: JSON.stringify(objects), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ServiceMonitor validator failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

/** Schema errors of every object; an object of a kind no schema covers is an error too. */
export function schemaErrors(manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const m of manifests) {
    const where = `${m.kind} ${m.metadata?.name}`;
    if (m.apiVersion === 'monitoring.coreos.com/v1' && m.kind === 'ServiceMonitor') continue;
    const crd = crdValidator(m.apiVersion, m.kind);
    if (crd) {
      if (!crd(m)) errors.push(`${where}: ${crd.errors?.map((e) => `${e.instancePath} ${e.message}`).join(', ')}`);
      continue;
    }
    const Model = k8sModel(m.apiVersion, m.kind);
    if (!Model) {
      errors.push(`${where}: no schema for ${m.apiVersion}`);
      continue;
    }
    try {
      new Model(m).validate();
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
    }
  }
  return errors.concat(validateServiceMonitors(manifests.filter((m) => m.kind === 'ServiceMonitor')));
}

/** A fresh chart in its own app, like Testing.chart() but with a namespace. */
export function chart(namespace = 'default'): Chart {
  return new Chart(Testing.app(), 'test', { namespace, disableResourceNameHashes: true });
}
