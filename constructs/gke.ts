/**
 * GKE facts shared by the constructs: node labels, taints and accelerator types.
 * Kept in one place so the node pool, the driver installer and the server agree on them.
 */

/** Node label GKE puts on every GPU node; its value is the accelerator type. */
export const GKE_ACCELERATOR_LABEL = 'cloud.google.com/gke-accelerator';

/** Node label GKE puts on GPU nodes whose driver it installs (absent when installation is disabled). */
export const GKE_GPU_DRIVER_VERSION_LABEL = 'cloud.google.com/gke-gpu-driver-version';

/** Extended resource the NVIDIA device plugin advertises. */
export const NVIDIA_GPU_RESOURCE = 'nvidia.com/gpu';

/** The taint GKE puts on GPU nodes so that only pods asking for GPUs land there. */
export const GPU_TAINT = { key: NVIDIA_GPU_RESOURCE, value: 'present', effect: 'NoSchedule' } as const;

/** GPU types GKE offers (the `guestAccelerator.type` and the value of {@link GKE_ACCELERATOR_LABEL}). */
export const ACCELERATOR_TYPES = [
  'nvidia-tesla-t4',
  'nvidia-l4',
  'nvidia-tesla-a100',
  'nvidia-a100-80gb',
  'nvidia-h100-80gb',
  'nvidia-h200-141gb',
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
 * For each accelerator, the machine family it attaches to and a default machine type with one GPU.
 * A2/A3/G2 machine types come with a fixed GPU count; N1 takes T4/V100/P4 cards in any supported count.
 */
export const ACCELERATOR_MACHINES: Record<AcceleratorType, { readonly families: readonly string[]; readonly defaultMachineType: string }> = {
  'nvidia-tesla-t4': { families: ['n1'], defaultMachineType: 'n1-standard-8' },
  'nvidia-l4': { families: ['g2'], defaultMachineType: 'g2-standard-8' },
  'nvidia-tesla-a100': { families: ['a2-highgpu', 'a2-megagpu'], defaultMachineType: 'a2-highgpu-1g' },
  'nvidia-a100-80gb': { families: ['a2-ultragpu'], defaultMachineType: 'a2-ultragpu-1g' },
  'nvidia-h100-80gb': { families: ['a3-highgpu', 'a3-megagpu', 'a3-edgegpu'], defaultMachineType: 'a3-highgpu-1g' },
  'nvidia-h200-141gb': { families: ['a3-ultragpu'], defaultMachineType: 'a3-ultragpu-8g' },
  'nvidia-tesla-v100': { families: ['n1'], defaultMachineType: 'n1-standard-8' },
  'nvidia-tesla-p4': { families: ['n1'], defaultMachineType: 'n1-standard-8' },
};

/** GPUs that come with a machine type, or undefined when the type takes a chosen count (N1). */
export function fixedGpuCount(machineType: string): number | undefined {
  const accelerator = /^a[23]-[a-z]+gpu-(\d+)g$/.exec(machineType);
  if (accelerator) return Number(accelerator[1]);
  // G2: one L4 up to g2-standard-16 and g2-standard-32, then 2, 4, 8.
  const g2 = /^g2-standard-(\d+)$/.exec(machineType);
  if (g2) return ({ 24: 2, 48: 4, 96: 8 } as Record<number, number>)[Number(g2[1])] ?? 1;
  return undefined;
}

/** The machine family of a machine type ("a3-highgpu-8g" → "a3-highgpu", "n1-standard-8" → "n1"). */
export function machineFamily(machineType: string): string {
  const gpuFamily = /^(a[23]-[a-z]+gpu)-/.exec(machineType);
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
