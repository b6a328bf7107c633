import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { MAIN, startCli } from './cli-process';
import { copyRepository, EXAMPLES } from './repo-fixture';

const simpleBody = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(1) },
  ],
});

/**
 * A repository whose `simple` batches with an hour-long queue delay: requests wait in the queue until the batch is
 * full (8) — so they are certainly in flight when the signal comes, and only the shutdown's flush can finish them.
 */
function slowBatchingRepository(): string {
  const repo = copyRepository(['simple']);
  fs.appendFileSync(path.join(repo, 'simple', 'config.pbtxt'), '\ndynamic_batching { max_queue_delay_microseconds: 3600000000 }\n');
  return repo;
}

const REQUESTS = 5;

/** One POST on `agent`: the status, or the error code when no response came. */
function post(agent: http.Agent, port: number, body: string): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: '/v2/models/simple/infer', method: 'POST', agent, headers: { 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    request.end(body);
  });
}

describe('the inference-server command', () => {
  it('on SIGTERM turns unready at once, finishes every in-flight request, then exits 0', async () => {
    const { child, port, metricsPort, exit, logged } = await startCli([
      '--log-verbose=1',
      `--model-repository=${slowBatchingRepository()}`,
      '--http-port=0',
      '--grpc-port=0',
      '--metrics-port=0',
      '--host=127.0.0.1',
      '--exit-timeout-secs=30',
    ]);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const inFlight = Array.from({ length: REQUESTS }, (_, i) =>
      fetch(`${base}/v2/models/simple/infer`, { method: 'POST', body: simpleBody.replace('"inputs"', `"id":"${i}","inputs"`) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { id?: string; outputs?: { data: number[] }[] } }),
      ),
    );
    // Signal once every request waits in the queue (they cannot finish before: the batch is not full).
    const queued = (text: string) =>
      Number(/^nv_inference_pending_request_count\{[^}]*model="simple"[^}]*\} (\S+)/m.exec(text)?.[1] ?? 0);
    while (queued(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()) < REQUESTS) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGTERM');
    await logged('stopping: finishing in-flight requests'); // written as the stop begins: readiness is off by then
    const ready = await fetch(`${base}/v2/health/ready`).then((r) => r.status, () => 'closed');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    results.forEach((r, i) => {
      expect(r.body.id).toBe(String(i));
      expect(r.body.outputs?.[0].data).toEqual(Array.from({ length: 16 }, (_, k) => k + 1));
    });
    expect([400, 'closed']).toContain(ready);
    expect(await exit).toBe(0);
  });

  it('SIGTERM under 16 concurrent keep-alive clients loses no request: each gets 200 or 503, never a reset', async () => {
    const { child, port, exit } = await startCli([
      `--model-repository=${copyRepository(['simple'])}`,
      '--http-port=0',
      '--grpc-port=0',
      '--metrics-port=0',
      '--host=127.0.0.1',
      '--exit-timeout-secs=30',
    ]);
    const outcomes = { ok: 0, refusedWith503: 0, connectionRefused: 0, lost: [] as string[] };
    let signalled = false;
    let beforeSignal = 0;
    /** One client on its own keep-alive connection, back to back, until the server turns it away (as a balancer would). */
    const client = async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (;;) {
          const result = await post(agent, port, simpleBody);
          if (result === 200) {
            outcomes.ok += 1;
            if (!signalled && ++beforeSignal === 16 * 20) {
              signalled = true;
              child.kill('SIGTERM');
            }
          } else if (result === 503) {
            outcomes.refusedWith503 += 1;
            return;
          } else if (result === 'ECONNREFUSED') {
            outcomes.connectionRefused += 1; // never reached the server: nothing was lost
            return;
          } else {
            outcomes.lost.push(String(result));
            return;
          }
        }
      } finally {
        agent.destroy();
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    expect(signalled).toBe(true);
    expect(outcomes.lost).toEqual([]);
    expect(outcomes.ok).toBeGreaterThanOrEqual(16 * 20);
    expect(outcomes.refusedWith503 + outcomes.connectionRefused).toBe(16);
    expect(await exit).toBe(0);
  });

  it('exits non-zero with a clear message when a model fails to load (--exit-on-error=true)', async () => {
    const child = spawn(process.execPath, [MAIN, `--model-repository=${path.join(EXAMPLES, '..')}`, '--http-port=0', '--grpc-port=0', '--metrics-port=0', '--host=127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve)); // 'close': the output is read to its end
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
        child.on('close', (code) => resolve({ code, out }));
      });
    const unknown = await run(['--model-repository=x', '--no-such-flag=1']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe("error: unknown option '--no-such-flag' (inference-server --help lists every option)\n");
    const bad = await run(['--model-repository=x', '--model-control-mode=sometimes']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('Bad option: "--model-control-mode".\ninvalid argument for --model-control-mode'); // Triton's text
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--model-repository', '--model-store', '--strict-readiness', '--exit-on-error', '--backend-config']) {
      expect(help.out).toContain(flag);
    }
  });
});
