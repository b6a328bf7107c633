/**
 * A stub that crashes or hangs fails the batch it was running with a clear error and is restarted; the server stays
 * up and the next request is served by the new stub.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorOf, get, isGone, outputs, post, scratchRepository, Started, startServer, stubPids, waitFor } from './helpers';

let server: Started;
let repository: string;

beforeAll(async () => {
  repository = scratchRepository(['raiser', 'lifecycle']);
  server = await startServer({ modelRepositories: [repository], loadModels: ['raiser', 'lifecycle'] });
  expect(server.failedModels).toEqual([]);
});

afterAll(async () => {
  await server?.app.stop();
  fs.rmSync(repository, { recursive: true, force: true });
});

function send(value: string) {
  return post(server.httpPort, '/v2/models/raiser/infer', { inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], data: [value] }] });
}

async function pidOfStub(): Promise<number> {
  const response = await send('ok');
  expect([response.statusCode, response.statusCode === 200 ? '' : response.body]).toEqual([200, '']);
  return Number(outputs(response).PID.data[0]);
}

async function expectServerUp(): Promise<void> {
  expect((await get(server.httpPort, '/v2/health/live')).statusCode).toBe(200);
  expect((await get(server.httpPort, '/v2/models/raiser/ready')).statusCode).toBe(200);
}

test('a stub that exits during execute: the request fails with the reason, the next one runs on a new stub', async () => {
  const before = await pidOfStub();
  const response = await send('crash');
  expect(response.statusCode).toBe(500);
  expect(errorOf(response)).toMatch(
    /^Failed to process the request\(s\) for model instance 'raiser_0', message: Stub process 'raiser_0' is not healthy: the process exited with code 3; the stub is being restarted/,
  );
  expect(isGone(before)).toBe(true);
  await expectServerUp();
  const after = await pidOfStub();
  expect(after).not.toBe(before);
});

test('a stub killed by a signal (segfault) is restarted too', async () => {
  const before = await pidOfStub();
  const response = await send('segfault');
  expect(response.statusCode).toBe(500);
  expect(errorOf(response)).toContain('the process was killed by SIGSEGV');
  await expectServerUp();
  expect(await pidOfStub()).not.toBe(before);
});

test('a stub that hangs past EXECUTE_TIMEOUT_SECONDS is killed; requests queued behind it are served by the new stub', async () => {
  const before = await pidOfStub();
  const scheduler = server.app.manager.readyVersions('raiser')[0].scheduler;
  const started = Date.now();
  const hanging = send('hang');
  // The second request goes in once the hung one runs in the stub (taken from the queue), so it queues behind it.
  await waitFor(() => scheduler.pendingCount === 1 && scheduler.queuedCount === 0);
  const [hung, queued] = await Promise.all([hanging, send('ok')]);
  const elapsed = Date.now() - started;
  expect(hung.statusCode).toBe(500);
  expect(errorOf(hung)).toBe(
    "Failed to process the request(s) for model instance 'raiser_0', message: Stub process 'raiser_0' did not finish execute within 1.5 s (EXECUTE_TIMEOUT_SECONDS); it was killed and is being restarted",
  );
  expect(elapsed).toBeGreaterThanOrEqual(1400); // not killed before EXECUTE_TIMEOUT_SECONDS (no upper bound: CI may be slow)
  expect(queued.statusCode).toBe(200);
  const after = Number(outputs(queued).PID.data[0]);
  expect(after).not.toBe(before);
  await waitFor(() => isGone(before));
  await expectServerUp();
});

test('a stub killed from outside while idle is replaced before the next request', async () => {
  const before = await pidOfStub();
  process.kill(before, 'SIGKILL');
  await waitFor(() => isGone(before));
  const after = await pidOfStub();
  expect(after).not.toBe(before);
});

test('a restart that fails (initialize raises) answers 503 until initialize succeeds again', async () => {
  const infer = () =>
    post(server.httpPort, '/v2/models/lifecycle/infer', { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [1] }] });
  expect((await infer()).statusCode).toBe(200);
  const blocker = path.join(repository, 'lifecycle', 'fail_initialize');
  fs.writeFileSync(blocker, '');
  const markers = () => fs.readdirSync(path.join(repository, 'lifecycle')).filter((f) => f.startsWith('initialized-'));
  // Kill both instances' stubs: each restart runs initialize, which now raises.
  const pids = markers()
    .map((marker) => Number(marker.split('-').pop()))
    .filter((pid) => stubPids().includes(pid));
  expect(pids).toHaveLength(2);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  await waitFor(() => pids.every(isGone));
  const failed = await infer();
  expect(failed.statusCode).toBe(503);
  expect(errorOf(failed)).toMatch(/^Stub process 'lifecycle_\w+' could not be restarted: [\s\S]*RuntimeError: initialize refused: fail_initialize exists/);
  fs.rmSync(blocker);
  const recovered = await infer();
  expect(recovered.statusCode).toBe(200);
  expect(outputs(recovered).OUTPUT0.data).toEqual([101]);
  expect((await get(server.httpPort, '/v2/health/live')).statusCode).toBe(200);
});
