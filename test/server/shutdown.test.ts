import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { EXAMPLES } from './repo-fixture';

const MAIN = path.resolve(__dirname, '../../dist/server/main.js');

/** Start the real CLI on an ephemeral port; resolves with the port from its "HTTP service started" log line. */
function startCli(
  args: string[],
): Promise<{ child: ChildProcess; port: number; metricsPort?: number; exit: Promise<number | null>; logs: string[] }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  readline.createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
  let metricsPort: number | undefined;
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'Metrics service started') metricsPort = entry.port;
        if (entry.msg === 'HTTP service started' && entry.port) resolve({ child, port: entry.port, metricsPort, exit, logs });
      } catch {
        // not a log line
      }
    });
    void exit.then((code) => reject(new Error(`server exited with ${code}: ${logs.join('\n')}`)));
  });
}

/** A batch-64 `mlp` request in Triton's binary form: cheap to parse, so the server accepts all of them quickly. */
function mlpBinaryRequest(): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [64, 784], parameters: { binary_data_size: 64 * 784 * 4 } }],
    }),
  );
  const data = Buffer.from(new Float32Array(64 * 784).fill(0.5).buffer);
  return {
    body: Buffer.concat([header, data]),
    headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
  };
}

/** Batch-64 mlp requests: enough work (about 1 ms each) that many are still queued when SIGTERM arrives. */
const REQUESTS = 120;

describe('the inference-server command', () => {
  it('on SIGTERM turns unready at once, finishes every in-flight request, then exits 0', async () => {
    const { child, port, metricsPort, exit } = await startCli([
      '--log-verbose=1',
      `--model-repository=${EXAMPLES}`,
      '--http-port=0',
      '--grpc-port=0',
      '--metrics-port=0',
      '--host=127.0.0.1',
      '--exit-timeout-secs=30',
    ]);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    let killedAt = Infinity;
    const inFlight = Array.from({ length: REQUESTS }, () => {
      const { body, headers } = mlpBinaryRequest();
      return fetch(`${base}/v2/models/mlp/infer`, { method: 'POST', body, headers }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { outputs?: { shape: number[] }[] },
        afterKill: Date.now() > killedAt,
      }));
    });
    // Signal once the server has accepted every request and some still wait in the queue, so they are in flight.
    const metric = (text: string, name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*model="mlp"[^}]*\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    for (let polls = 0; ; polls++) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const finished = metric(text, 'nv_inference_request_success');
      const queued = metric(text, 'nv_inference_pending_request_count');
      // Executing ones are neither finished nor queued: at most 2 messages of 16 executions each.
      if (finished + queued + 32 >= REQUESTS && queued >= 10) break;
      if (finished >= REQUESTS || polls > 2000) throw new Error(`could not catch requests in flight (finished ${finished})`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill('SIGTERM');
    killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const ready = await fetch(`${base}/v2/health/ready`).then((r) => r.status, () => 'closed');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.every((r) => r.body.outputs?.[0].shape[0] === 64)).toBe(true);
    expect(results.some((r) => r.afterKill)).toBe(true); // some really were in flight when the signal came
    expect([400, 'closed']).toContain(ready);
    expect(await exit).toBe(0);
  });

  it('exits non-zero with a clear message when a model fails to load (--exit-on-error=true)', async () => {
    const child = spawn(process.execPath, [MAIN, `--model-repository=${path.join(EXAMPLES, '..')}`, '--http-port=0', '--grpc-port=0', '--metrics-port=0', '--host=127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toMatch(/exit-on-error/);
  });

  it('rejects unknown flags and bad values with usage, exit code 2; --help lists the flags', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [MAIN, ...args]);
        let out = '';
        child.stdout.on('data', (c) => (out += c));
        child.stderr.on('data', (c) => (out += c));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const unknown = await run(['--model-repository=x', '--no-such-flag=1']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(/Usage: inference-server/);
    const bad = await run(['--model-repository=x', '--model-control-mode=sometimes']);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/none, poll or explicit/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--model-repository', '--model-store', '--strict-readiness', '--exit-on-error', '--backend-config']) {
      expect(help.out).toContain(flag);
    }
  });
});
