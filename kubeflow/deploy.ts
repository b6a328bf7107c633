#!/usr/bin/env node
/**
 * The Kubeflow Pipelines "deploy inference server" step: synthesizes the manifests with the constructs for the given
 * inputs, server-side applies them with @kubernetes/client-node (in-cluster config), waits for the Deployment to be
 * available, and writes the endpoint and a status document to the output paths KFP passes.
 *
 *   node dist/kubeflow/deploy.js --name=simple --model-repository=gs://bucket/models --output-endpoint-path=/tmp/endpoint
 *
 * Exit codes: 0 deployed and available; 1 the cluster refused (RBAC), timed out or the rollout failed; 2 bad inputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS } from '../server/contract';
import type { InferenceEngine, InferenceServiceType } from '../constructs';
import { DEPLOY_FLAGS } from './flags';
import { DeploymentState, KubeApi, KubeApiError, loadKubeApi, ServiceState } from './kube';
import { DeployManifests, synthesizeDeployManifests } from './manifests';

export interface DeployOptions {
  readonly modelRepository: string;
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly numGpus: number;
  readonly accelerator: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly serviceType: InferenceServiceType;
  readonly serviceAccount: string;
  readonly adminKeySecret: string;
  readonly engine: InferenceEngine;
  readonly timeoutSeconds: number;
  readonly outputEndpointPath: string;
  readonly outputStatusPath: string;
  readonly pollIntervalSeconds: number;
  readonly fieldManager: string;
  readonly kubeconfig: string;
  readonly dryRun: boolean;
}

export class DeployInputError extends Error {}

/** Why the step failed, in words that say what to do about it. */
export class DeployError extends Error {}

export function usage(): string {
  const lines = DEPLOY_FLAGS.map(
    (f) => `  ${`${f.flag}=<${f.type}>`.padEnd(34)} ${f.help}${f.default === undefined ? ' Required.' : f.default !== '' ? ` Default ${f.default}.` : ''}`,
  );
  return ['Usage: deploy --name=<name> --model-repository=<gs://bucket/path|/path> --image=<image> [options]', '', ...lines].join('\n');
}

export function parseDeployArgs(argv: readonly string[]): DeployOptions {
  const options: Record<string, { type: 'string' }> = {};
  for (const f of DEPLOY_FLAGS) options[f.flag.slice(2)] = { type: 'string' };
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (error) {
    throw new DeployInputError((error as Error).message);
  }
  const missing = DEPLOY_FLAGS.filter((f) => f.default === undefined && !values[f.flag.slice(2)]);
  if (missing.length > 0) throw new DeployInputError(`missing ${missing.map((f) => f.flag).join(', ')}`);
  const text = (flag: string): string => values[flag.slice(2)] ?? DEPLOY_FLAGS.find((f) => f.flag === flag)?.default ?? '';
  const int = (flag: string, min: number): number => {
    const raw = text(flag).trim();
    if (!/^[0-9]+$/.test(raw) || Number(raw) < min) throw new DeployInputError(`${flag} expects a whole number ≥ ${min}, got '${raw}'`);
    return Number(raw);
  };
  const serviceType = text('--service-type');
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(serviceType)) {
    throw new DeployInputError(`--service-type must be ClusterIP, NodePort or LoadBalancer, got '${serviceType}'`);
  }
  const poll = Number(text('--poll-interval-seconds'));
  if (!(poll > 0)) throw new DeployInputError(`--poll-interval-seconds expects a positive number, got '${text('--poll-interval-seconds')}'`);
  const dryRun = text('--dry-run');
  if (!['true', 'false'].includes(dryRun)) throw new DeployInputError(`--dry-run expects true or false, got '${dryRun}'`);
  const engine = text('--engine');
  if (!['builtin', 'triton'].includes(engine)) throw new DeployInputError(`--engine must be builtin or triton, got '${engine}'`);
  const minReplicas = int('--min-replicas', 1);
  const maxReplicas = int('--max-replicas', 1);
  if (maxReplicas < minReplicas) throw new DeployInputError(`--max-replicas (${maxReplicas}) must be ≥ --min-replicas (${minReplicas})`);
  return {
    modelRepository: text('--model-repository'),
    name: text('--name'),
    namespace: text('--namespace'),
    image: text('--image'),
    numGpus: int('--num-gpus', 0),
    accelerator: text('--accelerator'),
    minReplicas,
    maxReplicas,
    serviceType: serviceType as InferenceServiceType,
    serviceAccount: text('--service-account'),
    adminKeySecret: text('--admin-key-secret'),
    engine: engine as InferenceEngine,
    timeoutSeconds: int('--timeout-seconds', 1),
    outputEndpointPath: text('--output-endpoint-path'),
    outputStatusPath: text('--output-status-path'),
    pollIntervalSeconds: poll,
    fieldManager: text('--field-manager'),
    kubeconfig: text('--kubeconfig'),
    dryRun: dryRun === 'true',
  };
}

/** Where the rollout stands: available, failed for good, or still going (with a one-line summary). */
export function rolloutState(deployment: DeploymentState): { available: boolean; failed?: string; summary: string } {
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  const conditions = status.conditions ?? [];
  const available = conditions.find((c) => c.type === 'Available');
  const progressing = conditions.find((c) => c.type === 'Progressing');
  const observed = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 1);
  const summary =
    `${status.availableReplicas ?? 0}/${wanted} available, ${status.updatedReplicas ?? 0} updated` +
    (available ? `; Available=${available.status}${available.reason ? ` (${available.reason})` : ''}` : '') +
    (progressing?.message ? `; ${progressing.message}` : '');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { available: false, failed: `rollout stopped: ${progressing.message ?? 'ProgressDeadlineExceeded'}`, summary };
  }
  const done =
    observed &&
    available?.status === 'True' &&
    (status.updatedReplicas ?? 0) >= wanted &&
    (status.availableReplicas ?? 0) >= wanted &&
    (status.replicas ?? 0) <= (status.updatedReplicas ?? 0);
  return { available: done, summary };
}

/** The HTTP endpoint clients use; undefined while a LoadBalancer has no address yet. */
export function endpointOf(service: ServiceState, name: string, namespace: string): string | undefined {
  const type = service.spec?.type ?? 'ClusterIP';
  const port = service.spec?.ports?.find((p) => p.port === DEFAULT_PORTS.http)?.port ?? DEFAULT_PORTS.http;
  if (type === 'LoadBalancer') {
    const ingress = service.status?.loadBalancer?.ingress?.[0];
    const host = ingress?.ip ?? ingress?.hostname;
    return host ? `http://${host.includes(':') ? `[${host}]` : host}:${port}` : undefined;
  }
  return `http://${name}.${namespace}.svc.cluster.local:${port}`;
}

export interface DeployDeps {
  /** @default loadKubeApi(--kubeconfig) */
  readonly kube?: KubeApi;
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export async function main(argv: readonly string[], deps: DeployDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = deps.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (argv.includes('--help')) {
    out(usage());
    return 0;
  }
  let options: DeployOptions;
  let manifests: DeployManifests;
  try {
    options = parseDeployArgs(argv);
    manifests = synthesizeDeployManifests({ ...options, accelerator: options.accelerator || undefined });
  } catch (error) {
    err(`error: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (options.dryRun) {
    out(JSON.stringify(manifests.objects, null, 2));
    return 0;
  }
  try {
    const result = await deploy(options, manifests, deps.kube ?? loadKubeApi(options.kubeconfig || undefined), {
      log: out,
      sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: deps.now ?? Date.now,
    });
    writeOutput(options.outputEndpointPath, result.endpoint);
    writeOutput(options.outputStatusPath, JSON.stringify(result));
    out(`deployed: ${result.endpoint}`);
    return 0;
  } catch (error) {
    const message = error instanceof DeployError ? error.message : `unexpected failure: ${(error as Error).stack ?? String(error)}`;
    err(`error: ${message}`);
    writeOutput(options.outputStatusPath, JSON.stringify({ status: 'Failed', name: options.name, namespace: options.namespace, reason: message }));
    return 1;
  }
}

export interface DeployResult {
  readonly status: 'Available';
  readonly name: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly service: string;
  readonly endpoint: string;
  readonly grpcEndpoint: string;
  readonly availableReplicas: number;
  readonly objects: string[];
}

async function deploy(
  options: DeployOptions,
  manifests: DeployManifests,
  kube: KubeApi,
  runtime: { log: (line: string) => void; sleep: (ms: number) => Promise<void>; now: () => number },
): Promise<DeployResult> {
  const { log, sleep, now } = runtime;
  const ns = options.namespace;
  const applied: string[] = [];
  for (const object of manifests.objects) {
    const id = `${object.kind} ${object.metadata.namespace ?? ns}/${object.metadata.name}`;
    try {
      await kube.apply(object, options.fieldManager);
    } catch (error) {
      throw explain(error, options);
    }
    applied.push(id);
    log(`applied ${id}`);
  }

  const deadline = now() + options.timeoutSeconds * 1000;
  const pollMs = options.pollIntervalSeconds * 1000;
  let last = '';
  for (;;) {
    let state: DeploymentState;
    try {
      state = await kube.readDeployment(ns, manifests.deploymentName);
    } catch (error) {
      throw explain(error, options);
    }
    const rollout = rolloutState(state);
    if (rollout.summary !== last) log(`Deployment ${ns}/${manifests.deploymentName}: ${rollout.summary}`);
    last = rollout.summary;
    if (rollout.failed) throw new DeployError(`Deployment ${ns}/${manifests.deploymentName} failed: ${rollout.failed}`);
    if (rollout.available) {
      let endpoint: string | undefined;
      for (;;) {
        let service: ServiceState;
        try {
          service = await kube.readService(ns, manifests.serviceName);
        } catch (error) {
          throw explain(error, options);
        }
        endpoint = endpointOf(service, manifests.serviceName, ns);
        if (endpoint) break;
        if (now() >= deadline) {
          throw new DeployError(
            `timed out after ${options.timeoutSeconds}s: Deployment ${ns}/${manifests.deploymentName} is available but the ` +
              `LoadBalancer Service ${ns}/${manifests.serviceName} has no external address yet (check the Service's events, ` +
              'or use --service-type=ClusterIP for an in-cluster endpoint)',
          );
        }
        log(`waiting for the load balancer address of Service ${ns}/${manifests.serviceName}`);
        await sleep(pollMs);
      }
      const host = new URL(endpoint).hostname;
      return {
        status: 'Available',
        name: options.name,
        namespace: ns,
        deployment: manifests.deploymentName,
        service: manifests.serviceName,
        endpoint,
        grpcEndpoint: `${host.includes(':') ? `[${host}]` : host}:${DEFAULT_PORTS.grpc}`,
        availableReplicas: state.status?.availableReplicas ?? 0,
        objects: applied,
      };
    }
    if (now() >= deadline) {
      throw new DeployError(
        `timed out after ${options.timeoutSeconds}s waiting for Deployment ${ns}/${manifests.deploymentName} to become available ` +
          `(${rollout.summary}). Check \`kubectl -n ${ns} describe deployment ${manifests.deploymentName}\` and the pods' events: ` +
          'GPU nodes scaling up, image pulls and model downloads can take minutes; raise --timeout-seconds if they are progressing.',
      );
    }
    await sleep(pollMs);
  }
}

/** RBAC denials and other API errors as messages that say which permission is missing. */
function explain(error: unknown, options: DeployOptions): DeployError {
  if (error instanceof KubeApiError) {
    if (error.status === 403) {
      return new DeployError(
        `RBAC denied ${error.action}: ${error.serverMessage}. The pipeline step's service account needs get, create and patch on ` +
          `serviceaccounts, services, deployments${options.maxReplicas > options.minReplicas ? ', horizontalpodautoscalers and poddisruptionbudgets' : ''} ` +
          `in namespace '${options.namespace}' (see kubeflow/rbac.yaml).`,
      );
    }
    if (error.status === 401) {
      return new DeployError(`the Kubernetes API rejected the credentials (HTTP 401) on ${error.action}: ${error.serverMessage}`);
    }
    return new DeployError(error.message);
  }
  return new DeployError(error instanceof Error ? error.message : String(error));
}

function writeOutput(file: string, content: string): void {
  if (!file) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`fatal: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    },
  );
}
