/**
 * Preloaded into a benchmarked server (`node -r server-probe.js`): answers its parent over IPC with the server's event
 * loop delay (monitorEventLoopDelay) and peak RSS since the last reset (VmHWM, reset by writing 5 to
 * /proc/self/clear_refs). Linux only; used by bench/hostile.ts.
 */
import * as fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

function statusKiB(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : NaN;
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    (globalThis as { gc?: () => void }).gc?.();
    fs.writeFileSync('/proc/self/clear_refs', '5');
    delay.reset();
    process.send?.({ type: 'reset', rssBytes: statusKiB('VmRSS') * 1024 });
  } else if (message.type === 'read') {
    process.send?.({ type: 'read', peakRssBytes: statusKiB('VmHWM') * 1024, rssBytes: statusKiB('VmRSS') * 1024, maxDelayMs: delay.max / 1e6 });
  }
});
