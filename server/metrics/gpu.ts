import { execFile } from 'node:child_process';
import { Counter, Gauge, Registry } from 'prom-client';
import { GPU_LABELS, GPU_METRICS } from './names';

/**
 * GPU metrics from `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`, polled. nvidia-smi has no query field for
 * NVML's total energy counter, so nv_energy_consumption integrates power.draw over time (trapezoids between polls),
 * from 0 when the server started, as Triton's counter does.
 */

/** The query, in the column order parseNvidiaSmiCsv expects. Units with nounits: %, MiB, MiB, W, W. */
export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'utilization.gpu',
  'memory.total',
  'memory.used',
  'power.draw',
  'power.limit',
] as const;

export const NVIDIA_SMI_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];

export interface GpuSample {
  readonly index: number;
  readonly uuid: string;
  /** 0..1 */
  readonly utilization?: number;
  readonly memoryTotalBytes?: number;
  readonly memoryUsedBytes?: number;
  readonly powerWatts?: number;
  readonly powerLimitWatts?: number;
}

const MIB = 1024 * 1024;

/**
 * Parse nvidia-smi's CSV rows. Fields nvidia-smi cannot read come as `[N/A]`, `[Not Supported]`, `[Unknown Error]`
 * and the like (MIG mode, vGPU, some boards): those metrics are left out for that GPU, the others stay. Rows without
 * a UUID or with the wrong number of columns are skipped. Tolerates units (a query run without nounits).
 */
export function parseNvidiaSmiCsv(text: string): GpuSample[] {
  const samples: GpuSample[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length !== NVIDIA_SMI_FIELDS.length) continue;
    const [index, uuid, utilization, memoryTotal, memoryUsed, power, powerLimit] = cells;
    if (!/^(GPU|MIG)-[0-9A-Za-z-]+$/.test(uuid)) continue;
    const indexNumber = reading(index);
    if (indexNumber === undefined) continue;
    const scaled = (value: number | undefined, factor: number) => (value === undefined ? undefined : value * factor);
    samples.push(
      withoutUndefined({
        index: indexNumber,
        uuid,
        utilization: scaled(reading(utilization), 0.01),
        memoryTotalBytes: scaled(reading(memoryTotal), MIB),
        memoryUsedBytes: scaled(reading(memoryUsed), MIB),
        powerWatts: reading(power),
        powerLimitWatts: reading(powerLimit),
      }),
    );
  }
  return samples;
}

/** A number, or undefined for `[N/A]`, `N/A`, `[Not Supported]`, ... Units after the number are ignored. */
function reading(cell: string): number | undefined {
  const match = /^(-?\d+(?:\.\d+)?)\s*(?:%|MiB|W|MHz|C)?$/.exec(cell);
  if (!match) return undefined;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : undefined;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Keep the GPUs CUDA would use (as Triton does): CUDA_VISIBLE_DEVICES lists indices or UUIDs (prefixes allowed);
 * unset or `all` keeps every GPU, an empty value none. (NVIDIA_VISIBLE_DEVICES already limits what nvidia-smi sees in a container.)
 */
export function visibleGpus(samples: readonly GpuSample[], cudaVisibleDevices: string | undefined): GpuSample[] {
  if (cudaVisibleDevices === undefined || cudaVisibleDevices.trim().toLowerCase() === 'all') return [...samples];
  const wanted = cudaVisibleDevices.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // MIG instances cannot be mapped to their GPU from this query: keep every GPU rather than none.
  if (wanted.some((entry) => entry.startsWith('MIG-'))) return [...samples];
  const result: GpuSample[] = [];
  for (const entry of wanted) {
    // CUDA stops at the first invalid entry.
    const match = /^\d+$/.test(entry)
      ? samples.find((s) => s.index === Number(entry))
      : samples.find((s) => s.uuid.startsWith(entry.startsWith('GPU-') ? entry : `GPU-${entry}`));
    if (!match) break;
    if (!result.includes(match)) result.push(match);
  }
  return result;
}

/** Joules per GPU: trapezoids of power between consecutive readings. */
export class EnergyIntegrator {
  private readonly last = new Map<string, { watts: number; atMs: number }>();

  /** Add a power reading; returns the joules since the GPU's previous reading (0 for the first). */
  add(uuid: string, watts: number, atMs: number): number {
    const previous = this.last.get(uuid);
    this.last.set(uuid, { watts, atMs });
    if (!previous || atMs <= previous.atMs) return 0;
    return ((previous.watts + watts) / 2) * ((atMs - previous.atMs) / 1000);
  }
}

/** Runs nvidia-smi; rejects with the child_process error (code 'ENOENT' when it is not installed). */
export type CommandRunner = (file: string, args: readonly string[], timeoutMs: number) => Promise<string>;

export const runCommand: CommandRunner = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, windowsHide: true, maxBuffer: 1024 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });

export interface GpuCollectorOptions {
  readonly registry: Registry;
  /** @default 'nvidia-smi' (found on PATH) */
  readonly command?: string;
  readonly run?: CommandRunner;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** @default process.env.CUDA_VISIBLE_DEVICES */
  readonly cudaVisibleDevices?: string;
  readonly now?: () => number;
  /** Told once when GPU metrics turn out to be unavailable (debug logging). */
  readonly onUnavailable?: (reason: string) => void;
}

type GpuLabel = (typeof GPU_LABELS)[number];
interface GpuGauges {
  readonly utilization: Gauge<GpuLabel>;
  readonly memoryTotal: Gauge<GpuLabel>;
  readonly memoryUsed: Gauge<GpuLabel>;
  readonly powerUsage: Gauge<GpuLabel>;
  readonly powerLimit: Gauge<GpuLabel>;
  /** A counter in Triton too: joules since the server started. */
  readonly energy: Counter<GpuLabel>;
}

/**
 * Polls nvidia-smi. Without nvidia-smi on PATH it stops for good; when nvidia-smi fails (no driver, no device) the GPU
 * series are cleared and it tries again next poll. The nv_gpu_* families are registered only once a GPU was seen, so
 * machines without GPUs expose none of them.
 */
export class GpuCollector {
  private readonly energy = new EnergyIntegrator();
  private gauges: GpuGauges | undefined;
  private disabled = false;
  private reported = false;

  constructor(private readonly options: GpuCollectorOptions) {}

  /** False once nvidia-smi was found missing. */
  get active(): boolean {
    return !this.disabled;
  }

  async poll(): Promise<void> {
    if (this.disabled) return;
    const run = this.options.run ?? runCommand;
    let stdout: string;
    try {
      stdout = await run(this.options.command ?? 'nvidia-smi', NVIDIA_SMI_ARGS, this.options.timeoutMs ?? 5000);
    } catch (error) {
      const err = error as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') {
        this.disabled = true;
        this.unavailable('nvidia-smi not found on PATH: no GPU metrics');
      } else {
        this.unavailable(`nvidia-smi failed: ${firstLine(err.message)}`);
      }
      this.clear();
      return;
    }
    const samples = visibleGpus(
      parseNvidiaSmiCsv(stdout),
      'cudaVisibleDevices' in this.options ? this.options.cudaVisibleDevices : process.env.CUDA_VISIBLE_DEVICES,
    );
    this.clear();
    if (samples.length === 0) return;
    const gauges = this.ensureGauges();
    const at = (this.options.now ?? Date.now)();
    for (const s of samples) {
      const labels = { gpu_uuid: s.uuid };
      if (s.utilization !== undefined) gauges.utilization.set(labels, s.utilization);
      if (s.memoryTotalBytes !== undefined) gauges.memoryTotal.set(labels, s.memoryTotalBytes);
      if (s.memoryUsedBytes !== undefined) gauges.memoryUsed.set(labels, s.memoryUsedBytes);
      if (s.powerWatts !== undefined) gauges.powerUsage.set(labels, s.powerWatts);
      if (s.powerLimitWatts !== undefined) gauges.powerLimit.set(labels, s.powerLimitWatts);
      if (s.powerWatts !== undefined) gauges.energy.inc(labels, this.energy.add(s.uuid, s.powerWatts, at));
    }
  }

  /** Drop the instantaneous readings (the energy counter keeps counting). */
  private clear(): void {
    const g = this.gauges;
    if (g) for (const gauge of [g.utilization, g.memoryTotal, g.memoryUsed, g.powerUsage, g.powerLimit]) gauge.reset();
  }

  private unavailable(reason: string): void {
    if (this.reported) return;
    this.reported = true;
    this.options.onUnavailable?.(reason);
  }

  private ensureGauges(): GpuGauges {
    if (!this.gauges) {
      const registers = [this.options.registry];
      const gauge = (spec: { name: string; help: string }) => new Gauge({ ...spec, labelNames: GPU_LABELS, registers });
      this.gauges = {
        utilization: gauge(GPU_METRICS.utilization),
        memoryTotal: gauge(GPU_METRICS.memoryTotal),
        memoryUsed: gauge(GPU_METRICS.memoryUsed),
        powerUsage: gauge(GPU_METRICS.powerUsage),
        powerLimit: gauge(GPU_METRICS.powerLimit),
        energy: new Counter({ ...GPU_METRICS.energy, labelNames: GPU_LABELS, registers }),
      };
    }
    return this.gauges;
  }
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}
