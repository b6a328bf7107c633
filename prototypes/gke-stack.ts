import { Chart, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AcceleratorType, AutoscalingMetric, fixedGpuCount, GcsModelRepository, GpuDriverVersion, GpuNodeImage, GpuNodePool, GpuNodePoolCluster,
  InferenceAutoscaler, InferenceServer, InferenceServiceType, NgcPullSecret, NvidiaDriverInstaller,
} from '../constructs';
import { NVIDIA_INFERENCE_SERVER_PARAMS } from './nvidia-inference-server';
import { ParamSpecs } from './params';

/** Parameters of the full GKE stack: the ksonnet prototype's plus the cluster, bucket and scaling ones. */
export const GKE_STACK_PARAMS: ParamSpecs = {
  ...NVIDIA_INFERENCE_SERVER_PARAMS,
  modelRepositoryPath: { type: 'string', default: '', description: 'model repository; defaults to gs://<bucketName>/<modelPath>' },
  projectId: { type: 'string', description: 'Google Cloud project id' },
  location: { type: 'string', description: 'zone or region of the cluster, e.g. us-central1-a' },
  clusterName: { type: 'string', description: 'GKE cluster the GPU pool joins' },
  createCluster: { type: 'boolean', default: false, description: 'create the cluster (ContainerCluster) instead of using an existing one' },
  configConnectorNamespace: { type: 'string', default: '', description: 'namespace Config Connector reads; defaults to namespace' },
  nodePoolName: { type: 'string', default: 'gpu-pool', description: 'GPU node pool name' },
  acceleratorType: { type: 'string', default: 'nvidia-tesla-t4', description: 'GPU type' },
  gpusPerNode: { type: 'number', default: 0, description: 'GPUs per node; 0 means what the machine type carries, else numGpus' },
  machineType: { type: 'string', default: '', description: 'node machine type; defaults to a one-GPU machine for the GPU type' },
  minNodes: { type: 'number', default: 0, description: 'node pool autoscaling minimum' },
  maxNodes: { type: 'number', default: 3, description: 'node pool autoscaling maximum' },
  driverVersion: { type: 'string', default: 'default', description: 'default, latest or disabled (then the installer DaemonSet is added)' },
  nodeImage: { type: 'string', default: 'COS_CONTAINERD', description: 'COS_CONTAINERD or UBUNTU_CONTAINERD' },
  bucketName: { type: 'string', description: 'Cloud Storage bucket holding the model repository' },
  createBucket: { type: 'boolean', default: true, description: 'create the bucket; false binds IAM on an existing one' },
  bucketLocation: { type: 'string', default: 'US', description: 'bucket location' },
  modelPath: { type: 'string', default: 'model_repository', description: 'folder of the model repository in the bucket' },
  ngcSecret: { type: 'string', default: 'existing', description: 'create (from NGC_API_KEY), existing (a secret named ngc) or none' },
  minReplicas: { type: 'number', default: 1, description: 'HPA minimum' },
  maxReplicas: { type: 'number', default: 4, description: 'HPA maximum' },
  scaleOn: { type: 'string', default: 'queue-time', description: 'queue-time or gpu-duty-cycle' },
  targetQueueTimeMs: { type: 'number', default: 50, description: 'HPA target: average queue time per request' },
  targetGpuPercent: { type: 'number', default: 80, description: 'HPA target: average GPU duty cycle' },
  prometheusNamespace: { type: 'string', default: 'monitoring', description: 'namespace of Prometheus (may scrape port 8002)' },
  serviceMonitor: { type: 'boolean', default: true, description: 'add a ServiceMonitor (needs the Prometheus Operator CRDs)' },
};

export interface GkeStackChartProps {
  readonly name: string;
  readonly image: string;
  /** @default - gs://<bucketName>/<modelPath> */
  readonly modelRepositoryPath?: string;
  /** @default 'default' */
  readonly namespace?: string;
  /** @default 1 */
  readonly numGpus?: number;
  /** @default 'LoadBalancer' */
  readonly serviceType?: InferenceServiceType;
  readonly projectId: string;
  readonly location: string;
  readonly clusterName: string;
  /** @default false */
  readonly createCluster?: boolean;
  /** @default - namespace */
  readonly configConnectorNamespace?: string;
  /** @default 'gpu-pool' */
  readonly nodePoolName?: string;
  /** @default 'nvidia-tesla-t4' */
  readonly acceleratorType?: AcceleratorType;
  /** @default - what the machine type carries, else numGpus */
  readonly gpusPerNode?: number;
  /** @default - a one-GPU machine of the GPU's family */
  readonly machineType?: string;
  /** @default 0 */
  readonly minNodes?: number;
  /** @default 3 */
  readonly maxNodes?: number;
  /** @default 'default' */
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
  /** @default 'existing' */
  readonly ngcSecret?: 'create' | 'existing' | 'none';
  /** @default 1 */
  readonly minReplicas?: number;
  /** @default 4 */
  readonly maxReplicas?: number;
  /** @default 'queue-time' */
  readonly scaleOn?: 'queue-time' | 'gpu-duty-cycle';
  /** @default 50 */
  readonly targetQueueTimeMs?: number;
  /** @default 80 */
  readonly targetGpuPercent?: number;
  /** @default 'monitoring' */
  readonly prometheusNamespace?: string;
  /** @default true */
  readonly serviceMonitor?: boolean;
}

/**
 * Everything to serve models from Cloud Storage on GKE GPUs in one chart: the GPU node pool (and cluster), the driver
 * installer when GKE does not install drivers, the NGC pull secret, the bucket with its Workload Identity, the server
 * and its autoscaling. Config Connector objects must be applied to a cluster running Config Connector.
 */
export class GkeStackChart extends Chart {
  public readonly nodePool: GpuNodePool;
  public readonly repository: GcsModelRepository;
  public readonly server: InferenceServer;
  public readonly autoscaler: InferenceAutoscaler;

  constructor(scope: Construct, id: string, props: GkeStackChartProps) {
    const namespace = props.namespace ?? 'default';
    super(scope, id, { namespace, disableResourceNameHashes: true });
    const cnrmNamespace = props.configConnectorNamespace || namespace;
    const numGpus = props.numGpus ?? 1;
    // A node must fit at least one pod: N1 machines take the pod's GPU count unless told otherwise.
    const gpusPerNode = props.gpusPerNode || (props.machineType && fixedGpuCount(props.machineType)) || undefined;

    this.nodePool = new GpuNodePool(this, 'GpuNodePool', {
      name: props.nodePoolName ?? 'gpu-pool',
      namespace: cnrmNamespace,
      projectId: props.projectId,
      location: props.location,
      cluster: props.createCluster
        ? GpuNodePoolCluster.create({ name: props.clusterName })
        : GpuNodePoolCluster.fromName(props.clusterName),
      acceleratorType: props.acceleratorType ?? 'nvidia-tesla-t4',
      acceleratorCount: gpusPerNode,
      defaultAcceleratorCount: Math.max(1, numGpus),
      machineType: props.machineType || undefined,
      minNodes: props.minNodes,
      maxNodes: props.maxNodes,
      driverVersion: props.driverVersion,
      imageType: props.nodeImage,
    });
    if (this.nodePool.needsDriverInstaller) {
      new NvidiaDriverInstaller(this, 'DriverInstaller', { os: this.nodePool.imageType === 'UBUNTU_CONTAINERD' ? 'ubuntu' : 'cos' });
    }

    const ngc = props.ngcSecret ?? 'existing';
    const pullSecrets = ngc === 'none' ? [] : [new NgcPullSecret(this, 'NgcSecret', {
      namespace,
      ...(ngc === 'existing' ? { existingSecretName: 'ngc' } : {}),
    }).secretName];

    this.repository = new GcsModelRepository(this, 'ModelRepository', {
      projectId: props.projectId,
      bucketName: props.bucketName,
      existingBucket: props.createBucket === false,
      location: props.bucketLocation,
      modelPath: props.modelPath,
      namespace,
      configConnectorNamespace: cnrmNamespace,
      serviceAccountName: props.name,
    });

    this.server = new InferenceServer(this, 'Server', {
      name: props.name,
      namespace,
      image: props.image,
      modelRepositories: [props.modelRepositoryPath || this.repository.modelRepositoryUrl],
      numGpus,
      acceleratorType: this.nodePool.acceleratorType,
      serviceType: props.serviceType,
      serviceAccountName: this.repository.serviceAccountName,
      imagePullSecrets: pullSecrets,
    });

    this.autoscaler = new InferenceAutoscaler(this, 'Autoscaler', {
      server: this.server,
      minReplicas: props.minReplicas,
      maxReplicas: props.maxReplicas,
      metric: props.scaleOn === 'gpu-duty-cycle'
        ? AutoscalingMetric.gpuDutyCycle({ targetPercent: props.targetGpuPercent })
        : AutoscalingMetric.queueTimePerRequest({ target: Duration.millis(props.targetQueueTimeMs ?? 50) }),
      prometheusNamespace: props.prometheusNamespace,
      serviceMonitor: props.serviceMonitor,
    });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (props.scaleOn !== undefined && !['queue-time', 'gpu-duty-cycle'].includes(props.scaleOn)) {
          errors.push(`scaleOn "${props.scaleOn}" must be "queue-time" or "gpu-duty-cycle"`);
        }
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
