/**
 * The stub exits when its parent is not the server that started it (the server died before the stub could ask Linux
 * to kill it with its parent). The server's pid comes in INFERENCE_SERVER_PID: comparing with pid 1 instead made
 * every stub exit when the server itself is pid 1, as in a container.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const STUB = path.resolve(__dirname, '../../server/backends/python/stub.py');

function runStub(serverPid: string) {
  return spawnSync('python3', [STUB], {
    env: { ...process.env, INFERENCE_SERVER_PID: serverPid },
    timeout: 60_000, // a bound for a hung stub only: python starts slowly on a loaded machine
    encoding: 'utf8',
  });
}

describe('Python stub parent check', () => {
  it('exits at once, silently, when its parent is not the server named in INFERENCE_SERVER_PID', () => {
    const result = runStub('999999999');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('goes on to its channel when its parent is that server (whatever its pid, 1 included)', () => {
    // Spawned without the server's file descriptors: getting as far as reading fd 3 proves the check let it through.
    const result = runStub(String(process.pid));
    expect(result.stderr).toMatch(/Bad file descriptor/);
  });
});
