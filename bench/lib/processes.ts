/** Child processes for benchmarks: a free loopback port, a server child waited on until ready, a clean stop. */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { serverNodeFlags } from '../../server/launch-flags';

export const HOST = '127.0.0.1';

/** The repository root: the nearest directory above `from` holding this package's package.json. */
/** Where the benchmarks find the repository and the compiled server and helpers. */
export function benchPaths(): { root: string; dist: string; lib: string; serverMain: string } {
  const root = repoRoot();
  // The compiled tree this bench runs from (…/bench/lib → …), so a copy of dist/ (a build of another commit, as
  // bench-before/) benchmarks its own server; run from source (ts-node), the repository's dist/.
  const compiled = path.resolve(__dirname, '..', '..');
  const dist = fs.existsSync(path.join(compiled, 'server', 'main.js')) ? compiled : path.join(root, 'dist');
  return { root, dist, lib: path.join(dist, 'bench', 'lib'), serverMain: path.join(dist, 'server', 'main.js') };
}

/** Fail clearly when the compiled files a benchmark runs are missing (its npm script builds them first). */
export function requireBuilt(files: readonly string[], script: string): void {
  const root = repoRoot();
  for (const file of files) {
    if (!fs.existsSync(file)) throw new Error(`${path.relative(root, file)} is missing: run \`npm run build\` first (npm run ${script} does)`);
  }
}

export function repoRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'cdk8s-inference-server') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no cdk8s-inference-server package.json above ${from}`);
    dir = parent;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * CPU seconds (user + system, every thread) a process has used so far, from /proc/<pid>/stat; undefined off Linux.
 * Unlike req/s, CPU time per request barely moves when other work shares the machine. With `thread`, that one
 * thread's (/proc/<pid>/task/<thread>/stat; the main thread's id is the pid).
 */
export function processCpuSeconds(pid: number, thread?: number): number | undefined {
  try {
    const stat = fs.readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (1-based).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request on a fresh connection (for checks, never for load). */
export function httpRequest(
  port: number,
  method: string,
  urlPath: string,
  headers: Readonly<Record<string, string>> = {},
  body?: Buffer,
  timeoutMs = 5000,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: HOST, port, method, path: urlPath, agent: false, timeout: timeoutMs,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${urlPath} timed out`)));
    request.on('error', reject);
    request.end(body);
  });
}

export interface ServerChild {
  readonly name: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** The last lines the child printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  /** node arguments before the script (e.g. --cpu-prof), after launchFlags. */
  readonly nodeArgs?: readonly string[];
  /**
   * The node flags the program is launched with. @default for a server (a script ending in server/main.js, this
   * build's or another's) those of the inference-server command (serverNodeFlags); else none
   */
  readonly launchFlags?: readonly string[];
  readonly script: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly readyPath: string;
  readonly cwd: string;
  readonly readyTimeoutMs?: number;
  /** Extra environment for the child (over this process's). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Start `node [launchFlags] [nodeArgs] script args` and wait until GET readyPath answers 200. */
export async function startServerChild(options: StartOptions): Promise<ServerChild> {
  const launchFlags = options.launchFlags ?? (options.script.endsWith(path.join('server', 'main.js')) ? serverNodeFlags() : []);
  const child = spawn(process.execPath, [...launchFlags, ...(options.nodeArgs ?? []), options.script, ...options.args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...options.env },
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      resolve();
    });
  });

  const handle: ServerChild = {
    name: options.name,
    port: options.port,
    process: child,
    output: () => tail,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${options.name} ${exited} before it was ready:\n${tail}`);
    try {
      const result = await httpRequest(options.port, 'GET', options.readyPath, {}, undefined, 1000);
      if (result.status === 200) return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${options.name} not ready after ${options.readyTimeoutMs ?? 60_000} ms:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Run `node script args` to completion (with `env` over this process's) and parse the last stdout line as JSON. */
export function runJsonChild<T>(
  script: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  env?: Readonly<Record<string, string>>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`${path.basename(script)} ${args.join(' ')} exited with ${signal ?? code}:\n${stderr}${stdout.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${path.basename(script)} printed no JSON result:\n${stdout.slice(-2000)}\n${stderr}`));
      }
    });
  });
}
