/**
 * The three Kubernetes calls the deploy step makes, behind an interface: server-side apply of any object, GET of the
 * Deployment's status and of the Service. The real implementation uses @kubernetes/client-node, loaded on first use
 * (it is an ES module; Node ≥ 20.19 can require it, jest's CommonJS runtime cannot, so tests of the pure parts never load it).
 */
import type * as K8s from '@kubernetes/client-node';
import type { KubeObject } from './manifests';

export interface DeploymentState {
  metadata?: { generation?: number; name?: string };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface ServiceState {
  spec?: { type?: string; ports?: { name?: string; port: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface KubeApi {
  /** Server-side apply (PATCH application/apply-patch+yaml, fieldManager, force=true). */
  apply(object: KubeObject, fieldManager: string): Promise<void>;
  readDeployment(namespace: string, name: string): Promise<DeploymentState>;
  readService(namespace: string, name: string): Promise<ServiceState>;
}

/** A failed API call, with what the API server said. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly serverMessage: string,
    readonly action: string,
  ) {
    super(`${action}: HTTP ${status}${reason ? ` ${reason}` : ''}: ${serverMessage}`);
    this.name = 'KubeApiError';
  }
}

/** In a pod: the in-cluster config (service account token). Elsewhere: `kubeconfig`, else KUBECONFIG / ~/.kube/config. */
export function loadKubeApi(kubeconfig?: string): KubeApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require('@kubernetes/client-node') as typeof K8s;
  const config = new k8s.KubeConfig();
  if (kubeconfig) config.loadFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
  else config.loadFromDefault();
  return kubeApiFromConfig(k8s, config);
}

export function kubeApiFromConfig(k8s: typeof K8s, config: K8s.KubeConfig): KubeApi {
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toKubeApiError(k8s, error, action);
    }
  };
  return {
    async apply(object, fieldManager) {
      const what = `apply ${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
      await call(what, () =>
        objects.patch(object as K8s.KubernetesObject, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply),
      );
    },
    readDeployment: (namespace, name) =>
      call(`get Deployment ${namespace}/${name}`, async () => (await apps.readNamespacedDeployment({ name, namespace })) as DeploymentState),
    readService: (namespace, name) =>
      call(`get Service ${namespace}/${name}`, async () => (await core.readNamespacedService({ name, namespace })) as ServiceState),
  };
}

function toKubeApiError(k8s: typeof K8s, error: unknown, action: string): Error {
  if (!(error instanceof k8s.ApiException)) {
    const message = error instanceof Error ? error.message : String(error);
    return new Error(`${action}: ${message}`);
  }
  let body: { message?: string; reason?: string } = {};
  const raw: unknown = error.body;
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      body = { message: raw };
    }
  } else if (raw && typeof raw === 'object') {
    body = raw as typeof body;
  }
  return new KubeApiError(error.code, body.reason ?? '', body.message ?? String(raw ?? ''), action);
}
