/**
 * CPU seconds per thread of a process, from /proc/<pid>/task/<tid>/stat (Linux only; empty elsewhere): which thread
 * of the server (event loop, a model's worker, ONNX Runtime's pool threads, libuv, V8) spent the time.
 */
import * as fs from 'node:fs';

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

export interface ThreadCpu {
  readonly tid: number;
  /** The kernel's name for the thread (`comm`): node, a worker's name, ORT's pool threads inherit their creator's. */
  readonly name: string;
  readonly seconds: number;
  /** Of `seconds`, the time in the kernel (system calls: socket reads and writes, futex wake-ups, page faults). */
  readonly systemSeconds: number;
}

export function threadCpu(pid: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const threads: ThreadCpu[] = [];
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const systemSeconds = Number(fields[12]) / CLOCK_TICKS;
      threads.push({ tid: Number(tid), name, seconds: Number(fields[11]) / CLOCK_TICKS + systemSeconds, systemSeconds });
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

/** CPU seconds each thread used between two snapshots (threads gone by the second are left out), busiest first. */
export function threadCpuDelta(before: readonly ThreadCpu[], after: readonly ThreadCpu[]): ThreadCpu[] {
  const start = new Map(before.map((t) => [t.tid, t]));
  return after
    .map((t) => ({ ...t, seconds: t.seconds - (start.get(t.tid)?.seconds ?? 0), systemSeconds: t.systemSeconds - (start.get(t.tid)?.systemSeconds ?? 0) }))
    .filter((t) => t.seconds > 0)
    .sort((a, b) => b.seconds - a.seconds);
}
