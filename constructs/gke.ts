/**
 * GKE facts shared by the constructs: node labels, taints and accelerator types.
 * Kept in one place so the node pool, the driver installer and the server agree on them.
 */

/**
 * Node label GKE puts on every GPU node; its value is the accelerator type.
 * Source: https://cloud.google.com/kubernetes-engine/docs/how-to/gpus (nodeSelector cloud.google.com/gke-accelerator),
 * and the node affinity of container-engine-accelerators nvidia-driver-installer/cos/daemonset-preloaded.yaml.
 */
export const GKE_ACCELERATOR_LABEL = 'cloud.google.com/gke-accelerator';

/**
 * Node label GKE puts on GPU nodes whose driver it installs (absent when installation is disabled); Google's installer
 * DaemonSet stays off nodes that carry it (container-engine-accelerators daemonset-preloaded.yaml, HEAD 992db81).
 */
export const GKE_GPU_DRIVER_VERSION_LABEL = 'cloud.google.com/gke-gpu-driver-version';

/**
 * Extended resource the NVIDIA device plugin advertises (container-engine-accelerators pkg/gpu/nvidia/manager.go resourceName, and
 * https://cloud.google.com/kubernetes-engine/docs/how-to/gpus: `resources.limits: nvidia.com/gpu`).
 */
export const NVIDIA_GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * Label on Confidential GKE nodes, whose GPU driver Google installs differently; the installer DaemonSet excludes them
 * (container-engine-accelerators nvidia-driver-installer/cos/daemonset-preloaded.yaml, HEAD 992db81).
 */
export const GKE_CONFIDENTIAL_NODES_LABEL = 'cloud.google.com/gke-confidential-nodes-instance-type';

/**
 * The taint GKE puts on GPU nodes so that only pods asking for GPUs land there.
 * Source: https://cloud.google.com/kubernetes-engine/docs/how-to/gpus (nvidia.com/gpu=present:NoSchedule); the
 * custom-metrics-stackdriver-adapter Deployment tolerates the same taint (k8s-stackdriver, HEAD 673c7dd).
 */
export const GPU_TAINT = { key: NVIDIA_GPU_RESOURCE, value: 'present', effect: 'NoSchedule' } as const;

/**
 * GPU types GKE offers (the `guestAccelerator.type` and the value of {@link GKE_ACCELERATOR_LABEL}).
 * Source: Compute Engine "GPU machine types" (https://cloud.google.com/compute/docs/gpus) and GKE "About GPUs"
 * (https://cloud.google.com/kubernetes-engine/docs/concepts/gpus); the newer names also appear in Google's API enum
 * AcceleratorType (NVIDIA_H100_MEGA_80GB, NVIDIA_H200_141GB, NVIDIA_B200, NVIDIA_GB200, NVIDIA_RTX_PRO_6000).
 */
export const ACCELERATOR_TYPES = [
  'nvidia-tesla-t4',
  'nvidia-l4',
  'nvidia-rtx-pro-6000',
  'nvidia-tesla-a100',
  'nvidia-a100-80gb',
  'nvidia-h100-80gb',
  'nvidia-h100-mega-80gb',
  'nvidia-h200-141gb',
  'nvidia-b200',
  'nvidia-gb200',
  'nvidia-tesla-v100',
  'nvidia-tesla-p4',
] as const;

/** A GPU type GKE offers. */
export type AcceleratorType = (typeof ACCELERATOR_TYPES)[number];

/** True when `value` is one of {@link ACCELERATOR_TYPES}. */
export function isAcceleratorType(value: string): value is AcceleratorType {
  return (ACCELERATOR_TYPES as readonly string[]).includes(value);
}

/**
 * For each accelerator, the machine families it attaches to and a default machine type (the smallest one).
 * Accelerator-optimized machine types (A2, A3, A4, A4X, G2, G4) come with a fixed GPU count; N1 takes T4/V100/P4 cards
 * in a chosen count. Source: https://cloud.google.com/compute/docs/gpus and
 * https://cloud.google.com/compute/docs/accelerator-optimized-machines (A3 High/Edge: H100 80GB; A3 Mega:
 * a3-megagpu-8g, H100 Mega 80GB; A3 Ultra: a3-ultragpu-8g, H200; A4: a4-highgpu-8g, B200; A4X: a4x-highgpu-4g, GB200,
 * also named in container-engine-accelerators nvidia-driver-installer/cos/daemonset-preloaded-latest-a4x.yaml;
 * G4: g4-standard-48 to -384, RTX PRO 6000).
 */
export const ACCELERATOR_MACHINES: Record<AcceleratorType, { readonly families: readonly string[]; readonly defaultMachineType: string }> = {
  'nvidia-tesla-t4': { families: ['n1'], defaultMachineType: 'n1-standard-8' },
  'nvidia-l4': { families: ['g2'], defaultMachineType: 'g2-standard-8' },
  'nvidia-rtx-pro-6000': { families: ['g4'], defaultMachineType: 'g4-standard-48' },
  'nvidia-tesla-a100': { families: ['a2-highgpu', 'a2-megagpu'], defaultMachineType: 'a2-highgpu-1g' },
  'nvidia-a100-80gb': { families: ['a2-ultragpu'], defaultMachineType: 'a2-ultragpu-1g' },
  'nvidia-h100-80gb': { families: ['a3-highgpu', 'a3-edgegpu'], defaultMachineType: 'a3-highgpu-1g' },
  'nvidia-h100-mega-80gb': { families: ['a3-megagpu'], defaultMachineType: 'a3-megagpu-8g' },
  'nvidia-h200-141gb': { families: ['a3-ultragpu'], defaultMachineType: 'a3-ultragpu-8g' },
  'nvidia-b200': { families: ['a4-highgpu'], defaultMachineType: 'a4-highgpu-8g' },
  'nvidia-gb200': { families: ['a4x-highgpu'], defaultMachineType: 'a4x-highgpu-4g' },
  'nvidia-tesla-v100': { families: ['n1'], defaultMachineType: 'n1-standard-8' },
  'nvidia-tesla-p4': { families: ['n1'], defaultMachineType: 'n1-standard-8' },
};

/** A2/A3/A4/A4X machine types name their GPU count: a3-highgpu-8g, a4x-highgpu-4g-nolssd. */
const ACCELERATOR_OPTIMIZED = /^(a[234]x?-[a-z]+gpu)-(\d+)g(-nolssd)?$/;

/** GPUs that come with a machine type, or undefined when the type takes a chosen count (N1). */
export function fixedGpuCount(machineType: string): number | undefined {
  const accelerator = ACCELERATOR_OPTIMIZED.exec(machineType);
  if (accelerator) return Number(accelerator[2]);
  // G2: one L4 up to g2-standard-16 and g2-standard-32, then 2, 4, 8 (https://cloud.google.com/compute/docs/gpus#l4-gpus).
  const g2 = /^g2-standard-(\d+)$/.exec(machineType);
  if (g2) return ({ 24: 2, 48: 4, 96: 8 } as Record<number, number>)[Number(g2[1])] ?? 1;
  // G4: one RTX PRO 6000 per 48 vCPUs (https://cloud.google.com/compute/docs/gpus#rtx-6000-gpus).
  const g4 = /^g4-standard-(\d+)$/.exec(machineType);
  if (g4) return ({ 48: 1, 96: 2, 192: 4, 384: 8 } as Record<number, number>)[Number(g4[1])];
  return undefined;
}

/** The machine family of a machine type ("a3-highgpu-8g" → "a3-highgpu", "n1-standard-8" → "n1"). */
export function machineFamily(machineType: string): string {
  const gpuFamily = ACCELERATOR_OPTIMIZED.exec(machineType);
  if (gpuFamily) return gpuFamily[1];
  return machineType.split('-')[0];
}

/** RFC 1035 label: what Kubernetes requires of Service names. */
export function isDnsLabel(value: string, maxLength = 63): boolean {
  return value.length <= maxLength && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value);
}

/** RFC 1123 subdomain: what Kubernetes requires of most object names. */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value);
}
