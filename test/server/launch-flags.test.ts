/**
 * The node flags the server is launched with (server/launch-flags.ts) are accepted by the node running the tests
 * (jest runs on Node 20 and, in CI, on Node 24: each checks its own set), and differ by V8 where they must.
 */
import { spawnSync } from 'node:child_process';
import { serverNodeFlags } from '../../server/launch-flags';

it('this node starts with the flags chosen for its V8', () => {
  const run = spawnSync(process.execPath, [...serverNodeFlags(), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: 'ok', stderr: '' });
});

it('Node 24 (V8 13) counts external memory in the global limit; Node 20 (V8 11), which refuses that flag, does not', () => {
  expect(serverNodeFlags('13.6.233.17-node.44')).toEqual(['--external-memory-accounted-in-global-limit', '--initial-old-space-size=128']);
  expect(serverNodeFlags('11.3.244.8-node.33')).toEqual(['--initial-old-space-size=64']);
});
