/** Resident memory of a process from /proc/<pid>/status (Linux): what a container's memory limit is compared to. */
import * as fs from 'node:fs';

export interface ProcessMemory {
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** Peak resident set size so far (VmHWM), bytes. */
  readonly peakRss: number;
  /** Anonymous resident memory (heaps, malloc arenas, thread stacks), bytes. */
  readonly rssAnon: number;
  /** File-backed resident memory (mapped code: node, onnxruntime's shared library, ...), bytes. */
  readonly rssFile: number;
}

/** undefined off Linux or once the process is gone. */
export function processMemory(pid: number): ProcessMemory | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb('VmRSS');
    return Number.isFinite(rss) ? { rss, peakRss: kb('VmHWM'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') } : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sample RSS every `intervalMs` until it stops moving — the spread of the last `windowMs` of samples is within
 * `tolerance` of their median — or `maxMs` passes; returns the median of that last window (bytes) and how long it took.
 */
export async function settledRss(
  pid: number, options: { intervalMs?: number; windowMs?: number; tolerance?: number; minMs?: number; maxMs?: number } = {},
): Promise<{ rss: number; waitedMs: number; settled: boolean }> {
  const intervalMs = options.intervalMs ?? 250;
  const windowSize = Math.max(2, Math.round((options.windowMs ?? 2000) / intervalMs));
  const tolerance = options.tolerance ?? 0.01;
  const minMs = options.minMs ?? 2000;
  const maxMs = options.maxMs ?? 20_000;
  const started = Date.now();
  const samples: number[] = [];
  for (;;) {
    const memory = processMemory(pid);
    if (!memory) throw new Error(`process ${pid} is gone`);
    samples.push(memory.rss);
    const window = samples.slice(-windowSize);
    const sorted = [...window].sort((a, b) => a - b);
    const mid = sorted[Math.floor(sorted.length / 2)];
    const waitedMs = Date.now() - started;
    const steady = window.length === windowSize && sorted[sorted.length - 1] - sorted[0] <= tolerance * mid;
    if ((steady && waitedMs >= minMs) || waitedMs >= maxMs) return { rss: mid, waitedMs, settled: steady };
    await sleep(intervalMs);
  }
}

export const mib = (bytes: number) => bytes / (1024 * 1024);
