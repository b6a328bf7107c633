/**
 * Where KIND_GPU instances run. Triton puts `count` instances on every GPU when a group lists no `gpus`; the 2018
 * design instead moves models across GPUs by load, and that is what this does: each instance goes to the GPU with the
 * most free memory, then the least utilisation, then the fewest instances this server already placed there. The
 * inventory is read again on every load, so placement follows the GPUs' current state.
 */
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, runCommand, visibleGpus, type CommandRunner } from '../metrics/gpu';

export interface GpuDevice {
  /** CUDA device ordinal (the position among the GPUs CUDA_VISIBLE_DEVICES leaves visible). */
  readonly deviceId: number;
  readonly uuid: string;
  readonly memoryTotalBytes: number;
  readonly memoryUsedBytes: number;
  /** 0..1 */
  readonly utilization: number;
}

export interface GpuInventory {
  /** The GPUs usable now; empty when the machine has none (or the driver is not reachable). */
  devices(): Promise<GpuDevice[]>;
}

/** The GPUs nvidia-smi reports, as CUDA numbers them; no GPUs when nvidia-smi is missing or fails. */
export class NvidiaSmiInventory implements GpuInventory {
  constructor(
    private readonly run: CommandRunner = runCommand,
    private readonly cudaVisibleDevices: string | undefined = process.env.CUDA_VISIBLE_DEVICES,
  ) {}

  async devices(): Promise<GpuDevice[]> {
    let text: string;
    try {
      text = await this.run('nvidia-smi', NVIDIA_SMI_ARGS, 5000);
    } catch {
      return [];
    }
    return visibleGpus(parseNvidiaSmiCsv(text), this.cudaVisibleDevices).map((sample, position) => ({
      deviceId: position,
      uuid: sample.uuid,
      memoryTotalBytes: sample.memoryTotalBytes ?? 0,
      memoryUsedBytes: sample.memoryUsedBytes ?? 0,
      utilization: sample.utilization ?? 0,
    }));
  }
}

/** Instances this server has placed per device (by uuid), kept across loads so new models avoid crowded GPUs. */
export class PlacementLedger {
  private readonly counts = new Map<string, number>();

  count(uuid: string): number {
    return this.counts.get(uuid) ?? 0;
  }

  add(uuid: string, delta: number): void {
    const next = this.count(uuid) + delta;
    if (next <= 0) this.counts.delete(uuid);
    else this.counts.set(uuid, next);
  }
}

/**
 * Choose a device for each of `count` instances. `bytesPerInstance` (an estimate, e.g. the model file size) is
 * subtracted from a device's free memory as instances land on it, so several instances spread when memory is even.
 */
export function placeInstances(
  devices: readonly GpuDevice[],
  count: number,
  bytesPerInstance: number,
  ledger: PlacementLedger = new PlacementLedger(),
): GpuDevice[] {
  if (devices.length === 0) throw new Error('no GPU is available for a KIND_GPU instance');
  const free = new Map(devices.map((d) => [d.uuid, d.memoryTotalBytes - d.memoryUsedBytes]));
  const placedNow = new Map<string, number>();
  const chosen: GpuDevice[] = [];
  for (let i = 0; i < count; i++) {
    const best = [...devices].sort(
      (a, b) =>
        free.get(b.uuid)! - free.get(a.uuid)! ||
        a.utilization - b.utilization ||
        ledger.count(a.uuid) + (placedNow.get(a.uuid) ?? 0) - (ledger.count(b.uuid) + (placedNow.get(b.uuid) ?? 0)) ||
        a.deviceId - b.deviceId,
    )[0];
    if (free.get(best.uuid)! < bytesPerInstance) {
      throw new Error(
        `not enough free GPU memory for instance ${i + 1} of ${count}: needs about ${bytesPerInstance} bytes, ` +
          `the best GPU (${best.uuid}) has ${free.get(best.uuid)} free`,
      );
    }
    free.set(best.uuid, free.get(best.uuid)! - bytesPerInstance);
    placedNow.set(best.uuid, (placedNow.get(best.uuid) ?? 0) + 1);
    chosen.push(best);
  }
  return chosen;
}
