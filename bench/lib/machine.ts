/** The machine a benchmark ran on, as the bench READMEs record it: cores, CPU model, Node version, load. */
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface MachineInfo {
  /** What `nproc` prints: the CPUs this process may use. */
  readonly nproc: number;
  readonly cpuModel: string;
  readonly nodeVersion: string;
  readonly platform: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  readonly loadAverage1m: number;
}

function cpuModelFromProc(): string | undefined {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1].trim();
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpuModelFromProc() ?? os.cpus()[0]?.model ?? 'unknown',
    nodeVersion: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage1m: os.loadavg()[0],
  };
}

export function describeMachine(info: MachineInfo): string {
  return `nproc ${info.nproc}, ${info.cpuModel}, Node ${info.nodeVersion}, ${info.platform}, load avg (1m) at start ${info.loadAverage1m.toFixed(2)}`;
}
