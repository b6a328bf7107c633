/** Runs the Python unit tests of triton_python_backend_utils with every interpreter here that has numpy. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { findPython, requirePythonWithNumpy } from './helpers';

const TESTS = path.join(__dirname, 'test_triton_python_backend_utils.py');

test('triton_python_backend_utils unit tests pass (python3 on PATH)', () => {
  const python = requirePythonWithNumpy();
  const result = spawnSync(python, [TESTS, '-v'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (result.status !== 0) throw new Error(`${python} ${TESTS} failed:\n${result.stdout}${result.stderr}`);
  expect(result.stderr).toMatch(/\nOK\n?$/);
});

test('and with the torch interpreter when it differs (numpy versions differ)', () => {
  const python = findPython('numpy', 'torch');
  if (!python || python === requirePythonWithNumpy()) {
    console.warn('skipped: no second interpreter with numpy and torch');
    return;
  }
  const result = spawnSync(python, [TESTS], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (result.status !== 0) throw new Error(`${python} ${TESTS} failed:\n${result.stdout}${result.stderr}`);
});
