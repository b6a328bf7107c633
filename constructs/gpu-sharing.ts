/**
 * GKE GPU sharing: time-sharing and NVIDIA MPS (several containers on one GPU) and multi-instance GPU partitions (MIG,
 * hardware slices of one GPU). The node pool turns them on (ContainerNodePool nodeConfig.guestAccelerator[]:
 * gpuSharingConfig {gpuSharingStrategy, maxSharedClientsPerGpu} and gpuPartitionSize, Config Connector CRD v1beta1);
 * GKE labels the nodes, and pods select those labels. GpuNodePool and InferenceServer take the same GpuSharing so
 * the two agree.
 */
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { AcceleratorType, GKE_ACCELERATOR_LABEL, GPU_TAINT } from './gke';

/** GKE API GPUSharingConfig.GPUSharingStrategy values (the node pool's spelling). */
export type GpuSharingStrategy = 'TIME_SHARING' | 'MPS';

export const GPU_SHARING_STRATEGIES: readonly GpuSharingStrategy[] = ['TIME_SHARING', 'MPS'];

/** How pods share the pool's GPUs. Give the same value to GpuNodePool and InferenceServer. */
export interface GpuSharing {
  /** Time-sharing (containers take turns on the whole GPU) or MPS (they run at once, each with a share of it). */
  readonly strategy?: GpuSharingStrategy;
  /** Containers per GPU (or per MIG partition) with a strategy: 2 to MAX_SHARED_CLIENTS_PER_GPU. */
  readonly maxSharedClientsPerGpu?: number;
  /** MIG partition size, e.g. `1g.10gb` (see MIG_PARTITION_SIZES for each GPU). @default - whole GPUs */
  readonly partitionSize?: string;
}

/**
 * Node labels GKE sets from the pool's sharing settings, for pods' nodeSelectors. Source: GKE docs "Share GPUs with
 * multiple workloads using time-sharing", "... using NVIDIA MPS" and "Running multi-instance GPUs"; the label values of
 * the strategies are the device plugin's (container-engine-accelerators pkg/gpu/nvidia/gpusharing/gpusharing.go,
 * HEAD 992db81: "time-sharing", "mps").
 */
export const GPU_SHARING_LABELS = {
  strategy: 'cloud.google.com/gke-gpu-sharing-strategy',
  maxSharedClients: 'cloud.google.com/gke-max-shared-clients-per-gpu',
  partitionSize: 'cloud.google.com/gke-gpu-partition-size',
} as const;

const STRATEGY_LABEL_VALUES: Record<GpuSharingStrategy, string> = { TIME_SHARING: 'time-sharing', MPS: 'mps' };

/**
 * Most containers GKE lets share one GPU, for time-sharing and MPS (GKE docs of both strategies, and the ComputeClass
 * reference: maxSharedClientsPerGPU "Valid range: 2-48").
 */
export const MAX_SHARED_CLIENTS_PER_GPU = 48;

/**
 * MIG partition sizes GKE creates for each GPU: the keys of container-engine-accelerators
 * partition_gpu/partition_gpu.go (partitionSizeToProfileID, HEAD 992db81), grouped by its comments. GPUs not listed
 * have no MIG partitions on GKE.
 */
export const MIG_PARTITION_SIZES: Partial<Record<AcceleratorType, readonly string[]>> = {
  'nvidia-tesla-a100': ['1g.5gb', '2g.10gb', '3g.20gb', '4g.20gb', '7g.40gb'],
  'nvidia-a100-80gb': ['1g.10gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb'],
  'nvidia-h100-80gb': ['1g.10gb', '1g.20gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb'],
  'nvidia-h200-141gb': ['1g.18gb', '1g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb'],
  'nvidia-b200': ['1g.23gb', '1g.45gb', '2g.45gb', '3g.90gb', '4g.90gb', '7g.180gb'],
  'nvidia-gb200': ['1g.23gb', '1g.47gb', '2g.47gb', '3g.93gb', '4g.93gb', '7g.186gb'],
  'nvidia-rtx-pro-6000': [
    '1g.24gb', '1g.24gb+me', '1g.24gb+gfx', '1g.24gb+me.all', '1g.24gb-me',
    '2g.48gb', '2g.48gb+gfx', '2g.48gb+me.all', '2g.48gb-me', '4g.96gb', '4g.96gb+gfx',
  ],
};

/** True when the settings share or partition GPUs. */
export function isSharedGpu(sharing: GpuSharing | undefined): boolean {
  return sharing?.strategy !== undefined || sharing?.partitionSize !== undefined;
}

/** The pod nodeSelector entries that land on nodes with these settings. */
export function gpuSharingNodeSelector(sharing: GpuSharing | undefined): Record<string, string> {
  if (!sharing) return {};
  return {
    ...(sharing.strategy ? { [GPU_SHARING_LABELS.strategy]: STRATEGY_LABEL_VALUES[sharing.strategy] } : {}),
    ...(sharing.strategy && sharing.maxSharedClientsPerGpu !== undefined
      ? { [GPU_SHARING_LABELS.maxSharedClients]: String(sharing.maxSharedClientsPerGpu) }
      : {}),
    ...(sharing.partitionSize ? { [GPU_SHARING_LABELS.partitionSize]: sharing.partitionSize } : {}),
  };
}

/**
 * What is wrong with the settings, each message starting with `prop` (the prop's name where they were given).
 * `acceleratorType` undefined: the partition size is checked against every GPU's sizes.
 */
export function gpuSharingErrors(prop: string, sharing: GpuSharing | undefined, acceleratorType: AcceleratorType | undefined): string[] {
  if (!sharing) return [];
  const errors: string[] = [];
  const { strategy, maxSharedClientsPerGpu: clients, partitionSize } = sharing;
  if (strategy !== undefined && !GPU_SHARING_STRATEGIES.includes(strategy)) {
    errors.push(`${prop}.strategy "${strategy}" must be TIME_SHARING or MPS`);
  }
  if (strategy !== undefined && clients === undefined) {
    errors.push(`${prop}.maxSharedClientsPerGpu is required with strategy ${strategy}: how many containers share one GPU`);
  }
  if (clients !== undefined && strategy === undefined) {
    errors.push(`${prop}.maxSharedClientsPerGpu needs a strategy (TIME_SHARING or MPS)`);
  }
  if (clients !== undefined && (!Number.isInteger(clients) || clients < 2 || clients > MAX_SHARED_CLIENTS_PER_GPU)) {
    errors.push(`${prop}.maxSharedClientsPerGpu must be a whole number from 2 to ${MAX_SHARED_CLIENTS_PER_GPU}, got ${clients}`);
  }
  if (partitionSize !== undefined) {
    const sizes = acceleratorType ? MIG_PARTITION_SIZES[acceleratorType] : [...new Set(Object.values(MIG_PARTITION_SIZES).flat())];
    if (!sizes) {
      errors.push(`${prop}.partitionSize: ${acceleratorType} has no MIG partitions on GKE; `
        + `MIG works on ${Object.keys(MIG_PARTITION_SIZES).join(', ')}`);
    } else if (!sizes.includes(partitionSize)) {
      errors.push(`${prop}.partitionSize "${partitionSize}" is not a MIG partition of ${acceleratorType ?? 'any GKE GPU'}; use one of ${sizes.join(', ')}`);
    }
  }
  return errors;
}

/**
 * Scheduling of a GPU pod: it tolerates the GPU taint, selects the GPU type (or any GPU node) and the sharing labels.
 * MPS pods also join the node's IPC namespace, where GKE runs the MPS control daemon: MPS clients and server must share
 * it (NVIDIA's MPS documentation; GKE's MPS how-to runs its example with `hostIPC: true`). Pod Security "baseline"
 * and "restricted" refuse hostIPC: a namespace enforcing them cannot run MPS pods.
 */
export function gpuSharingPodSpec(
  acceleratorType: AcceleratorType | undefined,
  sharing: GpuSharing | undefined,
): Pick<k8s.PodSpec, 'tolerations' | 'nodeSelector' | 'affinity' | 'hostIpc'> {
  const nodeSelector = {
    ...(acceleratorType ? { [GKE_ACCELERATOR_LABEL]: acceleratorType } : {}),
    ...gpuSharingNodeSelector(sharing),
  };
  return {
    tolerations: [{ key: GPU_TAINT.key, operator: 'Exists', effect: GPU_TAINT.effect }],
    nodeSelector: Object.keys(nodeSelector).length > 0 ? nodeSelector : undefined,
    affinity: acceleratorType ? undefined : {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: GKE_ACCELERATOR_LABEL, operator: 'Exists' }] }],
        },
      },
    },
    hostIpc: sharing?.strategy === 'MPS' ? true : undefined,
  };
}

/** What a server pod's props get wrong about sharing, messages naming the prop. */
export function gpuSharingPodErrors(
  sharing: GpuSharing | undefined,
  acceleratorType: AcceleratorType | undefined,
  numGpus: number,
  shmSize: string | undefined,
): string[] {
  if (!sharing) return [];
  const errors = gpuSharingErrors('gpuSharing', sharing, acceleratorType);
  // The device plugin refuses more than one time-shared GPU per container (gpusharing.go ValidateRequest), and a CUDA
  // process sees one MIG partition; GKE's examples request one share with MPS too.
  if (isSharedGpu(sharing) && numGpus !== 1) {
    errors.push(`numGpus must be 1 with gpuSharing (one share or MIG partition per pod), got ${numGpus}`);
  }
  if (sharing.strategy === 'MPS' && shmSize !== undefined) {
    errors.push('shmSize does not apply with gpuSharing.strategy MPS: MPS pods use the node\'s IPC namespace and its /dev/shm');
  }
  return errors;
}
