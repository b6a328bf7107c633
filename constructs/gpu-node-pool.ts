import { Construct } from 'constructs';
import {
  ACCELERATOR_MACHINES, ACCELERATOR_TYPES, AcceleratorType, fixedGpuCount, GKE_ACCELERATOR_LABEL, GPU_TAINT, isAcceleratorType, isDnsLabel,
  machineFamily,
} from './gke';
import { GpuSharing, gpuSharingErrors, gpuSharingNodeSelector } from './gpu-sharing';
import { ContainerCluster } from './imports/containerclusters-container.cnrm.cloud.google.com';
import { ContainerNodePool, ContainerNodePoolSpecClusterRef } from './imports/containernodepools-container.cnrm.cloud.google.com';

/** How GKE installs the NVIDIA driver: its default version, the latest it supports, or not at all (use NvidiaDriverInstaller). */
export type GpuDriverVersion = 'default' | 'latest' | 'disabled';

/** Values of `gpuDriverInstallationConfig.gpuDriverVersion` (GKE API enum GPUDriverVersion). */
const DRIVER_VERSION_ENUM: Record<GpuDriverVersion, string> = {
  default: 'DEFAULT',
  latest: 'LATEST',
  disabled: 'INSTALLATION_DISABLED',
};

/** Node image of the pool; it decides which driver installer DaemonSet applies when installation is disabled. */
export type GpuNodeImage = 'COS_CONTAINERD' | 'UBUNTU_CONTAINERD';

/**
 * Config Connector annotation that keeps the Google Cloud resource when its object is deleted, so that
 * `kubectl delete -f infra/` never deletes a cluster, bucket or service account. Source: Config Connector docs
 * "Managing and deleting resources" and its samples (k8s-config-connector HEAD cdb85ec,
 * config/samples/resources/containerattachedcluster/container-attached-cluster-basic/resourcemanager_v1beta1_project.yaml).
 */
export const ABANDON_ON_DELETE = { 'cnrm.cloud.google.com/deletion-policy': 'abandon' } as const;

/** How the pool consumes Compute Engine reservations (ContainerNodePool nodeConfig.reservationAffinity). */
export interface GpuReservation {
  /** ANY_RESERVATION, SPECIFIC_RESERVATION or NO_RESERVATION (GKE API ReservationAffinity.Type). */
  readonly consumeReservationType: 'ANY_RESERVATION' | 'SPECIFIC_RESERVATION' | 'NO_RESERVATION';
  /** SPECIFIC_RESERVATION: the reservation names (key `compute.googleapis.com/reservation-name`). @default [] */
  readonly values?: string[];
}

/** Label key of a specific reservation (GKE docs "Consuming reserved zonal resources"). */
export const RESERVATION_NAME_KEY = 'compute.googleapis.com/reservation-name';

/** Settings of a ContainerCluster created alongside the pool. */
export interface NewClusterOptions {
  /** Cluster name (`metadata.name`, also the GKE cluster name). */
  readonly name: string;
  /** @default 'REGULAR' */
  readonly releaseChannel?: 'RAPID' | 'REGULAR' | 'STABLE';
  /** Nodes of the default (CPU) pool, where system pods run. @default 1 */
  readonly initialNodeCount?: number;
  /** Machine type of the default pool. @default 'e2-standard-4' */
  readonly machineType?: string;
}

/** The cluster a GPU node pool joins. */
export class GpuNodePoolCluster {
  /** A ContainerCluster managed by Config Connector in the same namespace. */
  public static fromName(name: string): GpuNodePoolCluster {
    return new GpuNodePoolCluster({ name });
  }

  /**
   * A cluster not managed by Config Connector, e.g. made with gcloud: `projects/P/locations/L/clusters/C`
   * (clusterRef.external, ContainerNodePool CRD v1beta1; a name would only resolve a ContainerCluster object).
   */
  public static fromExternal(external: string): GpuNodePoolCluster {
    return new GpuNodePoolCluster({ external });
  }

  /** A new ContainerCluster with Workload Identity, created next to the pool. */
  public static create(options: NewClusterOptions): GpuNodePoolCluster {
    return new GpuNodePoolCluster({ name: options.name }, options);
  }

  private constructor(public readonly ref: ContainerNodePoolSpecClusterRef, public readonly create?: NewClusterOptions) {}
}

export interface GpuNodePoolProps {
  /** Node pool name (`metadata.name`, also the GKE node pool name). */
  readonly name: string;
  /** Namespace Config Connector watches for this project. @default - the chart's namespace */
  readonly namespace?: string;
  /** Google Cloud project (annotation `cnrm.cloud.google.com/project-id`). Required to create a cluster with Workload Identity. @default - the namespace's project */
  readonly projectId?: string;
  /** Zone or region of the cluster, e.g. `us-central1-a`. */
  readonly location: string;
  /** The cluster the pool joins. */
  readonly cluster: GpuNodePoolCluster;
  /** GPU type. */
  readonly acceleratorType: AcceleratorType;
  /** GPUs per node. @default - what the machine type carries, else `defaultAcceleratorCount` */
  readonly acceleratorCount?: number;
  /** GPUs per node on machine types that take any count (N1), when acceleratorCount is not given. @default 1 */
  readonly defaultAcceleratorCount?: number;
  /** @default 'default' */
  readonly driverVersion?: GpuDriverVersion;
  /** @default - a one-GPU machine of the accelerator's family (see ACCELERATOR_MACHINES) */
  readonly machineType?: string;
  /** @default 'COS_CONTAINERD' */
  readonly imageType?: GpuNodeImage;
  /** Autoscaling lower bound; 0 lets the pool scale to nothing when idle. @default 0 */
  readonly minNodes?: number;
  /** Autoscaling upper bound. @default 3 */
  readonly maxNodes?: number;
  /** The `nvidia.com/gpu=present:NoSchedule` taint, keeping non-GPU pods off these nodes. @default true */
  readonly taint?: boolean;
  /** Run the GKE metadata server so pods use Workload Identity. @default true */
  readonly workloadIdentity?: boolean;
  /** @default 100 */
  readonly diskSizeGb?: number;
  /** Spot VMs: cheaper, can be reclaimed. @default false */
  readonly spot?: boolean;
  /**
   * Zones of the pool's nodes, e.g. those of a regional cluster's region that have the GPU
   * (https://cloud.google.com/compute/docs/gpus/gpu-regions-zones). @default - the cluster's zones
   */
  readonly nodeLocations?: string[];
  /** Compute Engine reservation to consume. @default - GKE's default (ANY_RESERVATION) */
  readonly reservation?: GpuReservation;
  /**
   * Share each GPU between containers (time-sharing or MPS) and/or split it into MIG partitions. Give the server the
   * same value (InferenceServer `gpuSharing`, or this pool's `gpuSharing`). Immutable: changing it replaces the pool.
   * @default - whole GPUs
   */
  readonly gpuSharing?: GpuSharing;
  /**
   * Queued provisioning (Dynamic Workload Scheduler, ContainerNodePool spec.queuedProvisioning): nodes come only for
   * ProvisioningRequests (Kueue, batch jobs), all at once, so the pool starts empty, consumes no reservation, and has
   * auto-repair off and location policy ANY, as GKE's `gcloud container node-pools create --enable-queued-provisioning`
   * example sets them. Not for the InferenceServer, whose Deployment makes no ProvisioningRequest. Flex-start
   * (`--flex-start`) has no field in the Config Connector CRD (v1beta1, k8s-config-connector cdb85ec): make such a pool
   * with gcloud and reference its cluster. @default false
   */
  readonly queuedProvisioning?: boolean;
  /** Keep the cluster this construct creates when its object is deleted (see ABANDON_ON_DELETE). @default true */
  readonly abandonClusterOnDelete?: boolean;
}

/**
 * A GKE node pool with NVIDIA GPUs, as a Config Connector ContainerNodePool, optionally with the ContainerCluster it joins.
 */
export class GpuNodePool extends Construct {
  public readonly name: string;
  public readonly acceleratorType: AcceleratorType;
  public readonly driverVersion: GpuDriverVersion;
  public readonly imageType: GpuNodeImage;
  public readonly machineType: string;
  /** GPUs per node. */
  public readonly acceleratorCount: number;
  /** Undefined: whole GPUs. */
  public readonly gpuSharing?: GpuSharing;
  public readonly nodePool: ContainerNodePool;
  /** Set when the pool created its cluster. */
  public readonly containerCluster?: ContainerCluster;

  constructor(scope: Construct, id: string, props: GpuNodePoolProps) {
    super(scope, id);
    this.name = props.name;
    this.acceleratorType = props.acceleratorType;
    this.driverVersion = props.driverVersion ?? 'default';
    this.imageType = props.imageType ?? 'COS_CONTAINERD';
    const machine = ACCELERATOR_MACHINES[props.acceleratorType] as (typeof ACCELERATOR_MACHINES)[AcceleratorType] | undefined;
    const machineType = props.machineType ?? machine?.defaultMachineType ?? 'n1-standard-8';
    const count = props.acceleratorCount ?? fixedGpuCount(machineType) ?? props.defaultAcceleratorCount ?? 1;
    this.machineType = machineType;
    this.gpuSharing = props.gpuSharing;
    const sharing = props.gpuSharing;
    const queued = props.queuedProvisioning ?? false;
    const reservation: GpuReservation | undefined = props.reservation ?? (queued ? { consumeReservationType: 'NO_RESERVATION' } : undefined);
    this.acceleratorCount = count;
    const minNodes = props.minNodes ?? 0;
    const maxNodes = props.maxNodes ?? 3;
    const annotations = props.projectId ? { 'cnrm.cloud.google.com/project-id': props.projectId } : undefined;
    const clusterAnnotations = { ...annotations, ...((props.abandonClusterOnDelete ?? true) ? ABANDON_ON_DELETE : {}) };

    this.node.addValidation({ validate: () => validateProps(props, machineType, count, minNodes, maxNodes) });

    const create = props.cluster.create;
    if (create) {
      this.containerCluster = new ContainerCluster(this, 'Cluster', {
        metadata: { name: create.name, namespace: props.namespace, annotations: clusterAnnotations },
        spec: {
          location: props.location,
          releaseChannel: { channel: create.releaseChannel ?? 'REGULAR' },
          // Managed collection for PodMonitoring (GKE enables it by default from 1.27; explicit here).
          monitoringConfig: { managedPrometheus: { enabled: true } },
          initialNodeCount: create.initialNodeCount ?? 1,
          nodeConfig: { machineType: create.machineType ?? 'e2-standard-4', workloadMetadataConfig: { mode: 'GKE_METADATA' } },
          workloadIdentityConfig: props.projectId ? { workloadPool: `${props.projectId}.svc.id.goog` } : undefined,
        },
      });
    }

    this.nodePool = new ContainerNodePool(this, 'NodePool', {
      metadata: { name: props.name, namespace: props.namespace, annotations },
      spec: {
        location: props.location,
        clusterRef: props.cluster.ref,
        nodeLocations: props.nodeLocations?.length ? props.nodeLocations : undefined,
        initialNodeCount: minNodes,
        autoscaling: { minNodeCount: minNodes, maxNodeCount: maxNodes, locationPolicy: queued ? 'ANY' : undefined },
        management: { autoRepair: !queued, autoUpgrade: true },
        queuedProvisioning: queued ? { enabled: true } : undefined,
        nodeConfig: {
          machineType,
          imageType: this.imageType,
          diskSizeGb: props.diskSizeGb ?? 100,
          spot: props.spot || undefined,
          reservationAffinity: reservation ? {
            consumeReservationType: reservation.consumeReservationType,
            ...(reservation.values?.length ? { key: RESERVATION_NAME_KEY, values: reservation.values } : {}),
          } : undefined,
          oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
          guestAccelerator: [{
            type: props.acceleratorType,
            count,
            gpuDriverInstallationConfig: { gpuDriverVersion: DRIVER_VERSION_ENUM[this.driverVersion] },
            gpuPartitionSize: sharing?.partitionSize,
            gpuSharingConfig: sharing?.strategy ? {
              gpuSharingStrategy: sharing.strategy,
              maxSharedClientsPerGpu: sharing.maxSharedClientsPerGpu ?? 0,
            } : undefined,
          }],
          // Config Connector spells taint effects as the GKE API does.
          taint: (props.taint ?? true) ? [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: 'NO_SCHEDULE' }] : undefined,
          workloadMetadataConfig: (props.workloadIdentity ?? true) ? { mode: 'GKE_METADATA' } : undefined,
        },
      },
    });
  }

  /** True when GKE does not install the driver, so NvidiaDriverInstaller must. */
  public get needsDriverInstaller(): boolean {
    return this.driverVersion === 'disabled';
  }

  /** The nodeSelector that lands pods on this pool's GPU type (and its sharing settings). */
  public get nodeSelector(): Record<string, string> {
    return { [GKE_ACCELERATOR_LABEL]: this.acceleratorType, ...gpuSharingNodeSelector(this.gpuSharing) };
  }
}

function validateProps(p: GpuNodePoolProps, machineType: string, count: number, minNodes: number, maxNodes: number): string[] {
  const errors: string[] = [];
  if (!isDnsLabel(p.name, 40)) errors.push(`node pool name "${p.name}" must be lowercase letters, digits and '-', at most 40 characters`);
  if (!isAcceleratorType(p.acceleratorType)) {
    errors.push(`acceleratorType "${p.acceleratorType}" is not a GKE GPU type; use one of ${ACCELERATOR_TYPES.join(", ")}`);
    return errors;
  }
  if (!['default', 'latest', 'disabled'].includes(p.driverVersion ?? 'default')) {
    errors.push(`driverVersion "${p.driverVersion}" must be "default", "latest" or "disabled"`);
  }
  // gcloud container node-pools create --help (SDK 528): `latest` "can only be used for nodes that use Container-Optimized OS".
  if (p.driverVersion === 'latest' && p.imageType === 'UBUNTU_CONTAINERD') {
    errors.push('driverVersion "latest" is for Container-Optimized OS nodes only: use "default" (or "disabled" and the installer) on Ubuntu');
  }
  if (!Number.isInteger(count) || count < 1) errors.push(`acceleratorCount must be a whole number ≥ 1, got ${count}`);
  const families = ACCELERATOR_MACHINES[p.acceleratorType].families;
  const family = machineFamily(machineType);
  if (!families.includes(family)) {
    errors.push(`machine type "${machineType}" cannot carry ${p.acceleratorType}; use a ${families.join(' or ')} machine type`);
  }
  const fixed = fixedGpuCount(machineType);
  if (fixed !== undefined && fixed !== count) {
    errors.push(`machine type "${machineType}" comes with ${fixed} GPU(s) but acceleratorCount is ${count}`);
  }
  if (!Number.isInteger(minNodes) || minNodes < 0) errors.push(`minNodes must be a whole number ≥ 0, got ${minNodes}`);
  if (!Number.isInteger(maxNodes) || maxNodes < 1) errors.push(`maxNodes must be a whole number ≥ 1, got ${maxNodes}`);
  if (minNodes > maxNodes) errors.push(`minNodes (${minNodes}) is larger than maxNodes (${maxNodes})`);
  const external = p.cluster.ref.external;
  if (external !== undefined && !/^projects\/[a-z][-a-z0-9]{4,28}[a-z0-9]\/(locations|zones)\/[a-z0-9-]+\/clusters\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(external)) {
    errors.push(`cluster "${external}" must be projects/PROJECT/locations/LOCATION/clusters/CLUSTER`);
  }
  for (const zone of p.nodeLocations ?? []) {
    if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone)) errors.push(`nodeLocations entry "${zone}" is not a zone (e.g. us-central1-a)`);
  }
  const reservation = p.reservation;
  if (reservation && !['ANY_RESERVATION', 'SPECIFIC_RESERVATION', 'NO_RESERVATION'].includes(reservation.consumeReservationType)) {
    errors.push(`reservation type "${reservation.consumeReservationType}" must be ANY_RESERVATION, SPECIFIC_RESERVATION or NO_RESERVATION`);
  }
  if (reservation?.consumeReservationType === 'SPECIFIC_RESERVATION' && !reservation.values?.length) {
    errors.push('a SPECIFIC_RESERVATION needs the reservation name(s) in values');
  }
  errors.push(...gpuSharingErrors('gpuSharing', p.gpuSharing, p.acceleratorType));
  if (p.queuedProvisioning) {
    if (minNodes > 0) errors.push(`queuedProvisioning pools start empty (nodes come for ProvisioningRequests): minNodes must be 0, got ${minNodes}`);
    if (reservation && reservation.consumeReservationType !== 'NO_RESERVATION') {
      errors.push(`queuedProvisioning pools consume no reservation: drop reservation (${reservation.consumeReservationType}) or use NO_RESERVATION`);
    }
  }
  if (p.cluster.create && !p.projectId) {
    errors.push('creating a cluster needs projectId, for its Workload Identity pool PROJECT.svc.id.goog');
  }
  return errors;
}
