import { App, Chart } from 'cdk8s';
import { AcceleratorType, InferenceAutoscaler, InferenceEngine, InferenceServer, InferenceServiceType } from '../constructs';

export interface DeployManifestOptions {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly modelRepository: string;
  readonly numGpus: number;
  /** '' or undefined: any GPU node. */
  readonly accelerator?: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly serviceType: InferenceServiceType;
  /** '' or undefined: the construct creates a ServiceAccount <name>. */
  readonly serviceAccount?: string;
  /** The Secret whose `admin-key` unlocks the admin endpoints; '' or undefined: `<name>-admin-key`; 'none': open. */
  readonly adminKeySecret?: string;
  /** @default 'builtin'; 'triton' deploys NVIDIA's image, not `image` (the step's own), pulled with the `ngc` secret. */
  readonly engine?: InferenceEngine;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface DeployManifests {
  readonly objects: KubeObject[];
  readonly deploymentName: string;
  readonly serviceName: string;
}

/** Apply order: identities first, then what uses them. */
const KIND_ORDER = ['ServiceAccount', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PodMonitoring'];

/**
 * The manifests for one deployment, from the same constructs `cdk8s synth` uses: InferenceServer, plus an
 * InferenceAutoscaler (HPA, PodDisruptionBudget and PodMonitoring) when maxReplicas > minReplicas. Throws the constructs' validation
 * messages.
 */
export function synthesizeDeployManifests(options: DeployManifestOptions): DeployManifests {
  const app = new App();
  const chart = new Chart(app, 'deploy', { namespace: options.namespace, disableResourceNameHashes: true });
  const autoscaled = options.maxReplicas > options.minReplicas;
  const server = new InferenceServer(chart, 'Server', {
    name: options.name,
    namespace: options.namespace,
    engine: options.engine,
    // The triton engine's image is NVIDIA's (TRITON_IMAGE); `image` is the one this step runs in.
    image: options.engine === 'triton' ? undefined : options.image,
    imagePullSecrets: options.engine === 'triton' ? ['ngc'] : undefined,
    modelRepositories: [options.modelRepository],
    numGpus: options.numGpus,
    acceleratorType: options.accelerator ? (options.accelerator as AcceleratorType) : undefined,
    // With an autoscaler the HPA owns the count and InferenceAutoscaler leaves spec.replicas out of the Deployment.
    replicas: options.minReplicas,
    serviceType: options.serviceType,
    serviceAccountName: options.serviceAccount || undefined,
    adminKey: options.adminKeySecret === 'none' ? false : { secretName: options.adminKeySecret || undefined },
  });
  if (autoscaled) {
    new InferenceAutoscaler(chart, 'Autoscaler', {
      server,
      minReplicas: options.minReplicas,
      maxReplicas: options.maxReplicas,
      // GKE's own monitoring feeds the HPA: a PodMonitoring (Managed Service for Prometheus) and the Custom Metrics
      // Stackdriver Adapter, which a cluster admin installs once (docs/deploy.md). No NetworkPolicy: a pipeline's callers
      // are not known here.
      scraping: 'pod-monitoring',
      networkPolicy: false,
    });
  }
  const errors = chart.node.findAll().flatMap((construct) => construct.node.validate());
  if (errors.length > 0) throw new Error(`invalid deployment parameters:\n  ${errors.join('\n  ')}`);
  const objects = (chart.toJson() as KubeObject[]).sort(
    (a, b) => rank(a.kind) - rank(b.kind),
  );
  return { objects, deploymentName: server.deploymentName, serviceName: server.serviceName };
}

function rank(kind: string): number {
  const index = KIND_ORDER.indexOf(kind);
  return index === -1 ? KIND_ORDER.length : index;
}
