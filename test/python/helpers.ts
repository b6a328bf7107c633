/** Shared by the Python backend suites: interpreters, repositories, a server on loopback, HTTP helpers. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInferenceServer, InferenceServerApp, InferenceServerOptions } from '../../server/app';
import { httpRequest, TestResponse } from '../http/helpers';

export const PYTHON_EXAMPLES = path.resolve(__dirname, '../../examples/python_models');
export const ONNX_EXAMPLES = path.resolve(__dirname, '../../examples/model_repository');
export const TEST_MODELS = path.resolve(__dirname, 'models');

const CANDIDATE_INTERPRETERS = ['python3', '/usr/bin/python3', '/usr/local/bin/python3'];
const found = new Map<string, string | undefined>();

/** The first interpreter (python3 on PATH first) that can import every module given, or undefined. */
export function findPython(...modules: string[]): string | undefined {
  const key = modules.join(',');
  if (found.has(key)) return found.get(key);
  const code = modules.map((m) => `import ${m}`).join('; ') || 'pass';
  const python = CANDIDATE_INTERPRETERS.find((candidate) => {
    const result = spawnSync(candidate, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
    return result.status === 0;
  });
  found.set(key, python);
  return python;
}

/** python3 with numpy, which the Python backend needs; fails the suite with the fix when there is none. */
export function requirePythonWithNumpy(): string {
  const python = findPython('numpy');
  if (!python) {
    throw new Error(
      'the Python backend tests need python3 with numpy (Debian: apt-get install -y python3 python3-numpy; .ci/run does this)',
    );
  }
  return python;
}

/** Copy models (from the test fixtures unless a directory is given) into a scratch repository. */
export function scratchRepository(models: Array<string | { from: string; name: string }>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'python-repo-'));
  for (const model of models) {
    const from = typeof model === 'string' ? path.join(TEST_MODELS, model) : model.from;
    const name = typeof model === 'string' ? model : model.name;
    fs.cpSync(from, path.join(dir, name), { recursive: true });
  }
  return dir;
}

export interface Started {
  app: InferenceServerApp;
  httpPort: number;
  grpcPort?: number;
  metricsPort?: number;
  failedModels: string[];
  /** What the stubs wrote (models' prints, pb_utils.Logger lines): kept here, so passing tests print nothing. */
  stubOutput: string[];
}

/**
 * A server on ephemeral loopback ports. The interpreter is `python3` unless that one lacks numpy, then the one
 * findPython picked (server-wide `--backend-config=python,execution-env-path=...`).
 */
export async function startServer(options: Partial<InferenceServerOptions> & { modelRepositories: string[] }): Promise<Started> {
  const python = requirePythonWithNumpy();
  const backendConfig = new Map(options.backendConfig ?? []);
  if (python !== 'python3' && !backendConfig.has('python')) backendConfig.set('python', { 'execution-env-path': python });
  const stubOutput: string[] = [];
  const app = createInferenceServer({
    pythonStubOutput: (_stream, text) => stubOutput.push(text),
    modelControlMode: 'explicit',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    host: '127.0.0.1',
    allowGpuMetrics: false,
    ...options,
    backendConfig,
  });
  const started = await app.start();
  return {
    app,
    httpPort: started.httpPort!,
    grpcPort: started.grpcPort,
    metricsPort: started.metricsPort,
    failedModels: started.failedModels,
    stubOutput,
  };
}

export function post(port: number, url: string, body: unknown, headers: Record<string, string> = {}): Promise<TestResponse> {
  const payload = Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return httpRequest(port, { method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });
}

export function get(port: number, url: string): Promise<TestResponse> {
  return httpRequest(port, { method: 'GET', url });
}

export interface JsonOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export function outputs(response: TestResponse): Record<string, JsonOutput> {
  const body = response.json() as { outputs: JsonOutput[] };
  return Object.fromEntries(body.outputs.map((output) => [output.name, output]));
}

/** Triton's error body: exactly {"error": "..."}; returns the message. */
export function errorOf(response: TestResponse): string {
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  return body.error as string;
}

/** True once the process is gone and reaped (a zombie still has its /proc entry, with an empty cmdline). */
export function isGone(pid: number): boolean {
  return !fs.existsSync(`/proc/${pid}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `condition` (for state no event announces, e.g. another process's exit); the deadline is generous for a loaded CI machine. */
export async function waitFor(condition: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Stub processes of this test process (children running stub.py), from /proc. */
export function stubPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('stub.py')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}
