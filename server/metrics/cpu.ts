import { promises as fs } from 'node:fs';
import { Gauge, Registry } from 'prom-client';
import { CPU_METRICS } from './names';

/** Aggregate jiffies of the `cpu` line of /proc/stat. */
export interface CpuTimes {
  /** user + nice + system + irq + softirq + steal (guest time is already inside user and nice). */
  readonly busy: number;
  /** idle + iowait */
  readonly idle: number;
}

/** The first (`cpu `, all cores) line of /proc/stat; undefined when absent or malformed. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait };
}

/** Busy share of the time between two readings, 0..1 (0 when no time passed). */
export function cpuUtilization(previous: CpuTimes, current: CpuTimes): number {
  const busy = current.busy - previous.busy;
  const total = busy + (current.idle - previous.idle);
  if (!(total > 0) || busy < 0) return 0;
  return Math.min(1, Math.max(0, busy / total));
}

export interface MemoryInfo {
  readonly totalBytes: number;
  /** MemTotal − MemAvailable (what Triton reports). */
  readonly usedBytes: number;
}

/** /proc/meminfo → bytes; falls back to MemFree + Buffers + Cached on kernels without MemAvailable (< 3.14). */
export function parseMeminfo(text: string): MemoryInfo | undefined {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?\s*$/.exec(line.trim());
    if (match) kb.set(match[1], Number(match[2]));
  }
  const total = kb.get('MemTotal');
  if (total === undefined) return undefined;
  const available =
    kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return { totalBytes: total * 1024, usedBytes: Math.max(0, total - available) * 1024 };
}

export interface ProcReader {
  read(path: string): Promise<string>;
}

const PROC: ProcReader = { read: (path) => fs.readFile(path, 'utf8') };

/**
 * nv_cpu_utilization (since the previous poll) and nv_cpu_memory_*_bytes from /proc, polled every interval.
 * The families are registered on the first successful read, so where /proc is missing (not Linux) they are absent.
 */
export class CpuCollector {
  private previous: CpuTimes | undefined;
  private gauges: { utilization: Gauge; total: Gauge; used: Gauge } | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly proc: ProcReader = PROC,
  ) {}

  async poll(): Promise<void> {
    const [stat, meminfo] = await Promise.all([
      this.proc.read('/proc/stat').then(parseProcStat, () => undefined),
      this.proc.read('/proc/meminfo').then(parseMeminfo, () => undefined),
    ]);
    if (!stat && !meminfo) return;
    const gauges = this.ensureGauges();
    if (stat) {
      if (this.previous) gauges.utilization.set(cpuUtilization(this.previous, stat));
      this.previous = stat;
    }
    if (meminfo) {
      gauges.total.set(meminfo.totalBytes);
      gauges.used.set(meminfo.usedBytes);
    }
  }

  private ensureGauges(): { utilization: Gauge; total: Gauge; used: Gauge } {
    if (!this.gauges) {
      const registers = [this.registry];
      this.gauges = {
        utilization: new Gauge({ ...CPU_METRICS.utilization, registers }),
        total: new Gauge({ ...CPU_METRICS.memoryTotal, registers }),
        used: new Gauge({ ...CPU_METRICS.memoryUsed, registers }),
      };
    }
    return this.gauges;
  }
}
