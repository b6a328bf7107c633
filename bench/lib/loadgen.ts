/**
 * HTTP load generation for benchmarks, always in a process of its own so it never shares the server's event loop:
 * `wrk` when it is installed (C, cheapest per request), else autocannon run in a child node process.
 * runLoad is one run; callers run it twice (a warm-up, discarded, then the measured run) and may sample the server's
 * CPU time in between.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HOST, runJsonChild } from './processes';
import type { BenchRequest } from './simple-requests';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadSettings {
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** wrk threads (ignored by autocannon, which runs one event loop in its child). */
  readonly wrkThreads: number;
}

export interface LoadResult {
  readonly tool: LoadTool;
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly seconds: number;
  /** Responses that were not 2xx, plus socket errors and timeouts: must be 0 for the figure to count. */
  readonly failures: number;
  readonly latencyP50Ms?: number;
  readonly latencyP99Ms?: number;
}

export function wrkAvailable(): boolean {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && /wrk/i.test(`${probe.stdout}${probe.stderr}`);
}

/** Pick the tool: an explicit choice, else wrk when installed, else autocannon. */
export function chooseLoadTool(requested?: string): LoadTool {
  if (requested === 'wrk') {
    if (!wrkAvailable()) throw new Error('--tool=wrk asked for, but wrk is not installed (apt-get install -y wrk)');
    return 'wrk';
  }
  if (requested === 'autocannon') return 'autocannon';
  if (requested !== undefined) throw new Error(`--tool must be wrk or autocannon, got '${requested}'`);
  return wrkAvailable() ? 'wrk' : 'autocannon';
}

/** One run of `seconds` with `settings.connections` connections (settings' warm-up and duration are the caller's). */
export async function runLoad(
  tool: LoadTool, port: number, request: BenchRequest, settings: LoadSettings, seconds: number, libDir: string,
): Promise<LoadResult> {
  if (tool === 'wrk') {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-http-wrk-'));
    try {
      const script = writeWrkScript(scratch, request);
      return await runWrk(port, request.path, script, settings, seconds);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-http-ac-'));
  try {
    const bodyFile = path.join(scratch, 'body.bin');
    fs.writeFileSync(bodyFile, request.body);
    const config: AutocannonChildConfig = {
      url: `http://${HOST}:${port}${request.path}`,
      method: request.method,
      headers: request.headers,
      bodyFile,
      connections: settings.connections,
      durationSeconds: seconds,
    };
    const timeoutMs = (seconds + 60) * 1000;
    return await runJsonChild<LoadResult>(path.join(libDir, 'autocannon-child.js'), [JSON.stringify(config)], process.cwd(), timeoutMs);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** What bench/lib/autocannon-child.js takes as its one argument. */
export interface AutocannonChildConfig {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyFile: string;
  readonly connections: number;
  readonly durationSeconds: number;
}

function luaString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function writeWrkScript(dir: string, request: BenchRequest): string {
  const bodyFile = path.join(dir, 'body.bin');
  fs.writeFileSync(bodyFile, request.body);
  const lines = [
    `wrk.method = ${luaString(request.method)}`,
    `local f = assert(io.open(${luaString(bodyFile)}, "rb"))`,
    'wrk.body = f:read("*a")',
    'f:close()',
    ...Object.entries(request.headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
    // Latency percentiles in a machine-readable line.
    'done = function(summary, latency, requests)',
    '  io.write(string.format("BENCH-LATENCY-US p50=%d p99=%d\\n", latency:percentile(50), latency:percentile(99)))',
    'end',
  ];
  const script = path.join(dir, 'request.lua');
  fs.writeFileSync(script, `${lines.join('\n')}\n`);
  return script;
}

function runWrk(port: number, urlPath: string, script: string, settings: LoadSettings, seconds: number): Promise<LoadResult> {
  const args = [
    `-t${Math.min(settings.wrkThreads, settings.connections)}`,
    `-c${settings.connections}`,
    `-d${seconds}s`,
    '--timeout', '10s',
    '-s', script,
    `http://${HOST}:${port}${urlPath}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`wrk exited with ${code}:\n${out}`));
        return;
      }
      // "  123456 requests in 10.00s, 12.34MB read"
      const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
      const rps = /Requests\/sec:\s*([\d.]+)/.exec(out);
      if (!total || !rps) {
        reject(new Error(`could not read wrk's output:\n${out}`));
        return;
      }
      const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[total[3] as 'us' | 'ms' | 's' | 'm'];
      const non2xx = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(out)?.[1] ?? 0);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
      const latency = /BENCH-LATENCY-US p50=(\d+) p99=(\d+)/.exec(out);
      resolve({
        tool: 'wrk',
        requestsPerSecond: Number(rps[1]),
        requests: Number(total[1]),
        seconds: Number(total[2]) * unit,
        failures: non2xx + socketErrors,
        latencyP50Ms: latency ? Number(latency[1]) / 1000 : undefined,
        latencyP99Ms: latency ? Number(latency[2]) / 1000 : undefined,
      });
    });
  });
}
