import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AcceleratorType, AutoscalingMetric, customMetricsAdapterMember, CUSTOM_METRICS_ADAPTER_ROLE, CustomMetricsStackdriverAdapter, fixedGpuCount,
  GcsModelRepository, GpuDriverVersion, GpuNodeImage, GpuNodePool, GpuNodePoolCluster, GpuReservation, GpuSharing, GpuSharingStrategy,
  InferenceAutoscaler, InferenceEngine, InferenceGateway, InferenceServer, InferenceServiceType, MetricsScraping, NgcPullSecret, NvidiaDriverInstaller,
} from '../constructs';
import { IamPolicyMember } from '../constructs/imports/iampolicymembers-iam.cnrm.cloud.google.com';
import { addDashboards, GKE_STACK_DASHBOARD_PARAMS, GkeStackDashboardProps } from './gke-stack-dashboards';
import { addEdge, edgeServiceType, GKE_STACK_EDGE_PARAMS, GkeStackEdgeProps } from './gke-stack-edge';
import { NVIDIA_INFERENCE_SERVER_PARAMS } from './nvidia-inference-server';
import { ParamSpecs } from './params';

/** Parameters of the full GKE stack: the ksonnet prototype's plus the cluster, bucket and scaling ones. */
export const GKE_STACK_PARAMS: ParamSpecs = {
  ...NVIDIA_INFERENCE_SERVER_PARAMS,
  modelRepositoryPath: { type: 'string', default: '', description: 'model repository; defaults to gs://<bucketName>/<modelPath>' },
  projectId: { type: 'string', description: 'Google Cloud project id' },
  location: { type: 'string', description: 'zone or region of the cluster, e.g. us-central1-a' },
  clusterName: { type: 'string', description: 'GKE cluster the GPU pool joins' },
  clusterRef: {
    type: 'string', default: 'external',
    description: 'external: a cluster made with gcloud (projects/<projectId>/locations/<location>/clusters/<clusterName>); name: a ContainerCluster object',
  },
  createCluster: { type: 'boolean', default: false, description: 'create the cluster (ContainerCluster) instead of using an existing one' },
  configConnectorNamespace: { type: 'string', default: '', description: 'namespace Config Connector reads; defaults to namespace' },
  nodePoolName: { type: 'string', default: 'gpu-pool', description: 'GPU node pool name' },
  acceleratorType: { type: 'string', default: 'nvidia-l4', description: 'GPU type' },
  gpusPerNode: { type: 'number', default: 0, description: 'GPUs per node; 0 means what the machine type carries, else numGpus' },
  machineType: { type: 'string', default: '', description: 'node machine type; defaults to the smallest machine of the GPU type' },
  nodeLocations: { type: 'string', default: '', description: 'comma-separated zones of the GPU nodes (regional clusters: zones that have the GPU)' },
  spot: { type: 'boolean', default: false, description: 'Spot VMs for the GPU nodes' },
  reservation: { type: 'string', default: '', description: 'ANY_RESERVATION, NO_RESERVATION or a reservation name; empty: GKE default' },
  gpuSharingStrategy: { type: 'string', default: '', description: 'TIME_SHARING or MPS: several pods per GPU (numGpus 1); empty: whole GPUs' },
  maxSharedClientsPerGpu: { type: 'number', default: 0, description: 'pods per GPU (or per MIG partition) with gpuSharingStrategy, 2 to 48' },
  gpuPartitionSize: { type: 'string', default: '', description: 'MIG partition per pod, e.g. 1g.10gb (A100, H100, H200, B200, GB200, RTX PRO 6000); empty: none' },
  minNodes: { type: 'number', default: 0, description: 'node pool autoscaling minimum' },
  maxNodes: { type: 'number', default: 3, description: 'node pool autoscaling maximum' },
  driverVersion: { type: 'string', default: '', description: 'latest (COS only), default or disabled (then the installer DaemonSet is added); empty: latest on COS, default on Ubuntu' },
  nodeImage: { type: 'string', default: 'COS_CONTAINERD', description: 'COS_CONTAINERD or UBUNTU_CONTAINERD' },
  bucketName: { type: 'string', description: 'Cloud Storage bucket holding the model repository' },
  createBucket: { type: 'boolean', default: true, description: 'create the bucket; false binds IAM on an existing one' },
  bucketLocation: { type: 'string', default: 'US', description: 'bucket location' },
  modelPath: { type: 'string', default: 'model_repository', description: 'folder of the model repository in the bucket' },
  ngcSecret: {
    type: 'string', default: '',
    description: 'create (from NGC_API_KEY), existing (a secret named ngc) or none; empty: existing with engine triton, none with builtin',
  },
  minReplicas: { type: 'number', default: 1, description: 'HPA minimum' },
  maxReplicas: { type: 'number', default: 4, description: 'HPA maximum' },
  scaleOn: { type: 'string', default: 'pending-requests', description: 'pending-requests or gpu-duty-cycle' },
  targetPendingRequests: { type: 'number', default: 5, description: 'HPA target: average requests waiting per pod' },
  targetGpuPercent: { type: 'number', default: 80, description: 'HPA target: average GPU duty cycle' },
  scraping: { type: 'string', default: 'pod-monitoring', description: 'pod-monitoring (GKE managed Prometheus), service-monitor (Prometheus Operator) or none' },
  scraperNamespaces: { type: 'string', default: '', description: 'comma-separated namespaces allowed to scrape port 8002; defaults to the scraper\'s' },
  customMetricsAdapter: { type: 'boolean', default: true, description: 'add the Custom Metrics Stackdriver Adapter and its IAM grant (one per cluster)' },
  adminKeySecret: {
    type: 'string', default: '',
    description: 'Secret (key admin-key) whose value unlocks the admin endpoints; empty: <name>-admin-key; none: leave them open',
  },
  allowClientShm: { type: 'boolean', default: false, description: 'let clients register shared memory regions' },
  ...GKE_STACK_EDGE_PARAMS,
  ...GKE_STACK_DASHBOARD_PARAMS,
};

export interface GkeStackProps extends GkeStackEdgeProps, GkeStackDashboardProps {
  readonly name: string;
  /** The server image you built and pushed (nobody publishes one). @default - required with builtin; the pinned Triton image with triton */
  readonly image?: string;
  /** @default - gs://<bucketName>/<modelPath> */
  readonly modelRepositoryPath?: string;
  /** @default 'default' */
  readonly namespace?: string;
  /** @default 1 */
  readonly numGpus?: number;
  /** @default 'LoadBalancer'; ClusterIP with `edge: 'gateway'` */
  readonly serviceType?: InferenceServiceType;
  readonly projectId: string;
  readonly location: string;
  readonly clusterName: string;
  /** How the pool finds an existing cluster. @default 'external' */
  readonly clusterRef?: 'external' | 'name';
  /** @default false */
  readonly createCluster?: boolean;
  /** @default - namespace */
  readonly configConnectorNamespace?: string;
  /** @default 'gpu-pool' */
  readonly nodePoolName?: string;
  /** @default 'nvidia-l4' */
  readonly acceleratorType?: AcceleratorType;
  /** @default - what the machine type carries, else numGpus */
  readonly gpusPerNode?: number;
  /** @default - the smallest machine of the GPU type */
  readonly machineType?: string;
  /** Comma-separated zones. @default - the cluster's */
  readonly nodeLocations?: string;
  /** @default false */
  readonly spot?: boolean;
  /** ANY_RESERVATION, NO_RESERVATION or a specific reservation's name. @default - GKE's default */
  readonly reservation?: string;
  /** Share each GPU between pods. @default - whole GPUs */
  readonly gpuSharingStrategy?: GpuSharingStrategy | '';
  /** Pods per GPU (or MIG partition) with gpuSharingStrategy. @default - none */
  readonly maxSharedClientsPerGpu?: number;
  /** MIG partition size per pod, e.g. `1g.10gb`. @default - none */
  readonly gpuPartitionSize?: string;
  /** @default 0 */
  readonly minNodes?: number;
  /** @default 3 */
  readonly maxNodes?: number;
  /** @default 'latest' on COS (GKE installs the latest driver of the node version, as Google's GPU tutorials do), 'default' on Ubuntu */
  readonly driverVersion?: GpuDriverVersion;
  /** @default 'COS_CONTAINERD' */
  readonly nodeImage?: GpuNodeImage;
  readonly bucketName: string;
  /** @default true */
  readonly createBucket?: boolean;
  /** @default 'US' */
  readonly bucketLocation?: string;
  /** @default 'model_repository' */
  readonly modelPath?: string;
  /** @default 'existing' with engine triton (NGC's secret `ngc`, as the 2018 prototype), 'none' with builtin (your own registry) */
  readonly ngcSecret?: 'create' | 'existing' | 'none' | '';
  /** @default 1 */
  readonly minReplicas?: number;
  /** @default 4 */
  readonly maxReplicas?: number;
  /** @default 'pending-requests' */
  readonly scaleOn?: 'pending-requests' | 'gpu-duty-cycle';
  /** @default 5 */
  readonly targetPendingRequests?: number;
  /** @default 80 */
  readonly targetGpuPercent?: number;
  /** @default 'pod-monitoring' */
  readonly scraping?: MetricsScraping;
  /** Comma-separated. @default - the scraper's namespaces */
  readonly scraperNamespaces?: string;
  /** @default true */
  readonly customMetricsAdapter?: boolean;
  /** The Secret whose `admin-key` unlocks the admin endpoints; 'none' leaves them open. @default '<name>-admin-key' */
  readonly adminKeySecret?: string;
  /** @default false */
  readonly allowClientShm?: boolean;
  /** @default 'builtin' */
  readonly engine?: InferenceEngine;
}

/** Where the stack's charts go: each scope is usually an App of its own, synthesized into its own folder. */
export interface GkeStackScopes {
  /** Config Connector objects, applied where Config Connector runs. */
  readonly infra: Construct;
  /** What runs in the GPU cluster. */
  readonly workload: Construct;
}

const list = (value: string | undefined): string[] => (value ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');

/** The pool's and the server's sharing settings from the flat parameters (empty and 0 mean unset). */
function gpuSharingOf(props: GkeStackProps): GpuSharing | undefined {
  const sharing: GpuSharing = {
    strategy: props.gpuSharingStrategy || undefined,
    maxSharedClientsPerGpu: props.maxSharedClientsPerGpu || undefined,
    partitionSize: props.gpuPartitionSize || undefined,
  };
  return Object.values(sharing).some((v) => v !== undefined) ? sharing : undefined;
}

function reservationOf(value: string | undefined): GpuReservation | undefined {
  if (!value) return undefined;
  if (value === 'ANY_RESERVATION' || value === 'NO_RESERVATION') return { consumeReservationType: value };
  return { consumeReservationType: 'SPECIFIC_RESERVATION', values: [value] };
}

/**
 * Everything to serve models from Cloud Storage on GKE GPUs, as two charts for two `kubectl apply`s:
 * - `infra`: Config Connector objects (the GPU node pool, and the cluster with `createCluster`; the bucket, the Google
 *   service account and its IAM bindings; the adapter's monitoring.viewer grant), applied in the cluster and namespace
 *   where Config Connector runs;
 * - `workload`: what runs in the GPU cluster (the server, its ServiceAccount, autoscaling, scraping, the driver
 *   installer when GKE does not install drivers, the NGC secret), plus, in a chart of its own, the Custom Metrics
 *   Stackdriver Adapter.
 */
export class GkeStack {
  public readonly infra: Chart;
  public readonly workload: Chart;
  /** Undefined when customMetricsAdapter is false. */
  public readonly metricsAdapter?: Chart;
  public readonly nodePool: GpuNodePool;
  public readonly repository: GcsModelRepository;
  public readonly server: InferenceServer;
  public readonly autoscaler: InferenceAutoscaler;
  /** Undefined unless `edge` is 'gateway'. */
  public readonly gateway?: InferenceGateway;

  constructor(scopes: GkeStackScopes, id: string, props: GkeStackProps) {
    const namespace = props.namespace ?? 'default';
    const cnrmNamespace = props.configConnectorNamespace || namespace;
    this.infra = new Chart(scopes.infra, `${id}-infra`, { namespace: cnrmNamespace, disableResourceNameHashes: true });
    this.workload = new Chart(scopes.workload, `${id}-workload`, { namespace, disableResourceNameHashes: true });
    const numGpus = props.numGpus ?? 1;
    // A node must fit at least one pod: N1 machines take the pod's GPU count unless told otherwise.
    const gpusPerNode = props.gpusPerNode || (props.machineType && fixedGpuCount(props.machineType)) || undefined;
    const clusterRefKind = props.clusterRef ?? 'external';

    this.nodePool = new GpuNodePool(this.infra, 'GpuNodePool', {
      name: props.nodePoolName ?? 'gpu-pool',
      namespace: cnrmNamespace,
      projectId: props.projectId,
      location: props.location,
      cluster: props.createCluster
        ? GpuNodePoolCluster.create({ name: props.clusterName })
        : clusterRefKind === 'name'
          ? GpuNodePoolCluster.fromName(props.clusterName)
          : GpuNodePoolCluster.fromExternal(`projects/${props.projectId}/locations/${props.location}/clusters/${props.clusterName}`),
      acceleratorType: props.acceleratorType ?? 'nvidia-l4',
      acceleratorCount: gpusPerNode,
      defaultAcceleratorCount: Math.max(1, numGpus),
      machineType: props.machineType || undefined,
      nodeLocations: list(props.nodeLocations),
      spot: props.spot,
      reservation: reservationOf(props.reservation),
      gpuSharing: gpuSharingOf(props),
      minNodes: props.minNodes,
      maxNodes: props.maxNodes,
      // GKE-managed drivers as Google's tutorials install them: `latest` on COS, which Ubuntu nodes do not take.
      driverVersion: props.driverVersion ?? (props.nodeImage === 'UBUNTU_CONTAINERD' ? 'default' : 'latest'),
      imageType: props.nodeImage,
    });
    if (this.nodePool.needsDriverInstaller) {
      new NvidiaDriverInstaller(this.workload, 'DriverInstaller', { os: this.nodePool.imageType === 'UBUNTU_CONTAINERD' ? 'ubuntu' : 'cos' });
    }

    const engine = props.engine ?? 'builtin';
    const ngc = props.ngcSecret || (engine === 'triton' ? 'existing' : 'none');
    const pullSecrets = ngc === 'none' ? [] : [new NgcPullSecret(this.workload, 'NgcSecret', {
      namespace,
      ...(ngc === 'existing' ? { existingSecretName: 'ngc' } : {}),
    }).secretName];

    this.repository = new GcsModelRepository(this.infra, 'ModelRepository', {
      projectId: props.projectId,
      bucketName: props.bucketName,
      existingBucket: props.createBucket === false,
      location: props.bucketLocation,
      modelPath: props.modelPath,
      namespace,
      configConnectorNamespace: cnrmNamespace,
      serviceAccountName: props.name,
      serviceAccountScope: this.workload,
    });

    this.server = new InferenceServer(this.workload, 'Server', {
      name: props.name,
      namespace,
      engine,
      image: props.image || undefined,
      modelRepositories: [props.modelRepositoryPath || this.repository.modelRepositoryUrl],
      numGpus,
      // A CPU-only server (numGpus 0) is not pinned to the pool's GPU type.
      acceleratorType: numGpus > 0 ? this.nodePool.acceleratorType : undefined,
      gpuSharing: numGpus > 0 ? this.nodePool.gpuSharing : undefined,
      serviceType: edgeServiceType(props),
      serviceAccountName: this.repository.serviceAccountName,
      imagePullSecrets: pullSecrets,
      adminKey: props.adminKeySecret === 'none' ? false : { secretName: props.adminKeySecret || undefined },
      allowClientSharedMemory: props.allowClientShm,
    });

    this.gateway = addEdge(this.workload, this.server, props);
    addDashboards(this.workload, props);
    const scraperNamespaces = list(props.scraperNamespaces);
    this.autoscaler = new InferenceAutoscaler(this.workload, 'Autoscaler', {
      server: this.server,
      minReplicas: props.minReplicas,
      maxReplicas: props.maxReplicas,
      metric: props.scaleOn === 'gpu-duty-cycle'
        ? AutoscalingMetric.gpuDutyCycle({ targetPercent: props.targetGpuPercent })
        : AutoscalingMetric.pendingRequests({ targetPerPod: props.targetPendingRequests }),
      scraping: props.scraping,
      scraperNamespaces: scraperNamespaces.length > 0 ? scraperNamespaces : undefined,
      // Behind a Gateway only its load balancer and the server's own namespace may call the server.
      ...(this.gateway ? { clientNamespaces: [namespace], clientIpBlocks: this.gateway.sourceRanges } : {}),
    });

    if (props.customMetricsAdapter ?? true) {
      this.metricsAdapter = new Chart(scopes.workload, 'custom-metrics-adapter', { disableResourceNameHashes: true });
      new CustomMetricsStackdriverAdapter(this.metricsAdapter, 'Adapter');
      // The adapter reads Cloud Monitoring as its own Kubernetes ServiceAccount through Workload Identity.
      new IamPolicyMember(this.infra, 'CustomMetricsAdapterViewer', {
        metadata: {
          name: 'custom-metrics-adapter-monitoring-viewer',
          namespace: cnrmNamespace,
          annotations: { 'cnrm.cloud.google.com/project-id': props.projectId },
        },
        spec: {
          resourceRef: { kind: 'Project', external: `projects/${props.projectId}` },
          role: CUSTOM_METRICS_ADAPTER_ROLE,
          member: customMetricsAdapterMember(props.projectId),
        },
      });
    }

    this.workload.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (props.scaleOn !== undefined && !['pending-requests', 'gpu-duty-cycle'].includes(props.scaleOn)) {
          errors.push(`scaleOn "${props.scaleOn}" must be "pending-requests" or "gpu-duty-cycle"`);
        }
        if (!['external', 'name'].includes(clusterRefKind)) errors.push(`clusterRef "${clusterRefKind}" must be "external" or "name"`);
        if (numGpus > this.nodePool.acceleratorCount) {
          errors.push(`numGpus (${numGpus}) is more than a ${this.nodePool.machineType} node carries (${this.nodePool.acceleratorCount}): no pod would fit`);
        }
        // The bucket's IAM binding is the only access the server has: a gs:// path in another bucket could not be read.
        const pathBucket = /^gs:\/\/([^/]+)/.exec(props.modelRepositoryPath ?? '')?.[1];
        if (pathBucket !== undefined && pathBucket !== props.bucketName) {
          errors.push(`modelRepositoryPath "${props.modelRepositoryPath}" is in bucket "${pathBucket}" but bucketName is "${props.bucketName}": `
            + `leave modelRepositoryPath unset (it defaults to gs://${props.bucketName}/${props.modelPath ?? 'model_repository'}) or use a path in that bucket`);
        }
        if (!['create', 'existing', 'none'].includes(ngc)) errors.push(`ngcSecret "${ngc}" must be "create", "existing" or "none"`);
        if (props.nodeImage !== undefined && !['COS_CONTAINERD', 'UBUNTU_CONTAINERD'].includes(props.nodeImage)) {
          errors.push(`nodeImage "${props.nodeImage}" must be COS_CONTAINERD or UBUNTU_CONTAINERD`);
        }
        return errors;
      },
    });
  }
}
