/**
 * Model lifecycle with the Python backend: load (initialize in every instance's stub), unload (finalize, stubs gone),
 * reload with a changed model.py, load failures, auto_complete_config, and the interpreter choice
 * (EXECUTION_ENV_PATH).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  errorOf,
  get,
  isGone,
  outputs,
  post,
  requirePythonWithNumpy,
  scratchRepository,
  Started,
  startServer,
  stubPids,
  waitFor,
} from './helpers';

let server: Started;
let repository: string;

beforeAll(async () => {
  repository = scratchRepository(['lifecycle', 'auto_complete', 'env_probe']);
  server = await startServer({ modelRepositories: [repository], loadModels: [] });
});

afterAll(async () => {
  await server?.app.stop();
  fs.rmSync(repository, { recursive: true, force: true });
});

const modelDir = (name: string) => path.join(repository, name);
const markers = (prefix: string) => fs.readdirSync(modelDir('lifecycle')).filter((f) => f.startsWith(prefix));
const pidOf = (marker: string) => Number(marker.split('-').pop());

function load(model: string, body: unknown = {}) {
  return post(server.httpPort, `/v2/repository/models/${model}/load`, body);
}

function unload(model: string) {
  return post(server.httpPort, `/v2/repository/models/${model}/unload`, {});
}

function inferLifecycle(value: number) {
  return post(server.httpPort, '/v2/models/lifecycle/infer', { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [value] }] });
}

async function envProbe(model = 'env_probe'): Promise<string[]> {
  const response = await post(server.httpPort, `/v2/models/${model}/infer`, {
    inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [0] }],
  });
  expect(response.statusCode).toBe(200);
  return outputs(response).OUTPUT0.data as string[];
}

describe('load, unload, reload', () => {
  test('load starts one stub per instance and runs initialize in each', async () => {
    expect((await load('lifecycle')).statusCode).toBe(200);
    const initialized = markers('initialized-');
    expect(initialized).toHaveLength(2); // instance_group count: 2
    const pids = initialized.map(pidOf);
    expect(new Set(pids).size).toBe(2);
    expect(stubPids()).toEqual(expect.arrayContaining(pids));
    const response = await inferLifecycle(1);
    expect(outputs(response).OUTPUT0.data).toEqual([101]);
    // The tensor files are unlinked as soon as both sides hold them: nothing is left in /dev/shm.
    if (fs.existsSync('/dev/shm')) {
      expect(fs.readdirSync('/dev/shm').filter((f) => f.startsWith('inference_server_python_backend'))).toEqual([]);
    }
  });

  test('reload with a changed model.py: new stubs serve the new code, the old ones are finalized', async () => {
    const oldPids = markers('initialized-').map(pidOf);
    const file = path.join(modelDir('lifecycle'), '1', 'model.py');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('OFFSET = 100', 'OFFSET = 200'));
    expect((await load('lifecycle')).statusCode).toBe(200);
    expect(outputs(await inferLifecycle(1)).OUTPUT0.data).toEqual([201]);
    await waitFor(() => oldPids.every(isGone));
    expect(markers('finalized-').map(pidOf).sort()).toEqual([...oldPids].sort());
    expect(markers('initialized-')).toHaveLength(4);
  });

  test('unload runs finalize in every stub and stops them', async () => {
    const running = markers('initialized-')
      .map(pidOf)
      .filter((pid) => !isGone(pid));
    expect(running).toHaveLength(2);
    expect((await unload('lifecycle')).statusCode).toBe(200);
    await waitFor(() => running.every(isGone));
    expect(markers('finalized-').map(pidOf)).toEqual(expect.arrayContaining(running));
    expect((await get(server.httpPort, '/v2/models/lifecycle/ready')).statusCode).toBe(400);
  });

  test('a failing initialize fails the load with the Python error; nothing is left running; the server stays up', async () => {
    fs.writeFileSync(path.join(modelDir('lifecycle'), 'fail_initialize'), '');
    const before = stubPids();
    const response = await load('lifecycle');
    expect(response.statusCode).toBe(400);
    const message = errorOf(response);
    expect(message).toContain("failed to load 'lifecycle'");
    expect(message).toContain('RuntimeError: initialize refused: fail_initialize exists');
    expect(message).toMatch(/lifecycle\/1\/model\.py\(\d+\): initialize/);
    await waitFor(() => stubPids().every((pid) => before.includes(pid)));
    expect((await get(server.httpPort, '/v2/health/live')).statusCode).toBe(200);
    const index = (await post(server.httpPort, '/v2/repository/index', {})).json() as Array<Record<string, string>>;
    expect(index.find((entry) => entry.name === 'lifecycle')).toMatchObject({ state: 'UNAVAILABLE' });
    fs.rmSync(path.join(modelDir('lifecycle'), 'fail_initialize'));
    expect((await load('lifecycle')).statusCode).toBe(200);
    expect(outputs(await inferLifecycle(5)).OUTPUT0.data).toEqual([205]);
  });

  /** Writes a Python model with this model.py into the repository and loads it; the load must fail: its message. */
  async function failedLoadOf(name: string, modelPy: string): Promise<string> {
    const dir = path.join(repository, name);
    fs.mkdirSync(path.join(dir, '1'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.pbtxt'), 'backend: "python"\nmax_batch_size: 0\n');
    fs.writeFileSync(path.join(dir, '1', 'model.py'), modelPy);
    const response = await load(name);
    expect(response.statusCode).toBe(400);
    return errorOf(response);
  }

  test('a model.py importing a missing module names the interpreter that ran it and how to choose another', async () => {
    const message = await failedLoadOf('needs_module', 'import no_such_module_for_this_test\n\nclass TritonPythonModel:\n    pass\n');
    expect(message).toContain("ModuleNotFoundError: No module named 'no_such_module_for_this_test' (Python interpreter '/");
    expect(message).toContain('--backend-config=python,execution-env-path=');
  });

  test('a model.py with a syntax error fails the load with the traceback', async () => {
    expect(await failedLoadOf('broken', 'class TritonPythonModel:\n    def execute(self, requests)\n')).toContain('SyntaxError');
  });
});

describe('auto_complete_config', () => {
  test('a model without config.pbtxt gets its inputs, outputs, max_batch_size and batcher from model.py', async () => {
    expect((await load('auto_complete')).statusCode).toBe(200);
    const config = (await get(server.httpPort, '/v2/models/auto_complete/config')).json() as Record<string, any>;
    expect(config).toMatchObject({ name: 'auto_complete', backend: 'python', max_batch_size: 4 });
    expect(config.input).toEqual([expect.objectContaining({ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [4] })]);
    expect(config.output).toEqual([expect.objectContaining({ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4] })]);
    expect(config.dynamic_batching).toBeDefined();
    const response = await post(server.httpPort, '/v2/models/auto_complete/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    });
    expect(outputs(response).OUTPUT0).toMatchObject({ shape: [2, 4], data: [3, 6, 9, 12, 15, 18, 21, 24] });
  });
});

describe('EXECUTION_ENV_PATH: the interpreter per model', () => {
  const python = requirePythonWithNumpy();
  const absolute = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();

  test('default: python3 (or the server-wide execution-env-path)', async () => {
    expect((await load('env_probe')).statusCode).toBe(200);
    const [executable, numpyVersion, instance] = await envProbe();
    expect(executable).toBe(absolute);
    expect(numpyVersion).toMatch(/^\d+\.\d+/);
    expect(instance).toMatch(/^env_probe/);
  });

  test('a directory with bin/python3 (an unpacked environment), relative to $$TRITON_MODEL_DIRECTORY', async () => {
    const env = path.join(modelDir('env_probe'), 'pyenv');
    fs.mkdirSync(path.join(env, 'bin'), { recursive: true });
    fs.symlinkSync(absolute, path.join(env, 'bin', 'python3'));
    const override = await load('env_probe', {
      parameters: {
        config: JSON.stringify({
          name: 'env_probe',
          backend: 'python',
          max_batch_size: 0,
          input: [{ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [1] }],
          output: [{ name: 'OUTPUT0', data_type: 'TYPE_STRING', dims: [3] }],
          parameters: { EXECUTION_ENV_PATH: { string_value: '$$TRITON_MODEL_DIRECTORY/pyenv' } },
        }),
      },
    });
    expect(override.statusCode).toBe(200);
    const [executable] = await envProbe();
    expect(executable).toBe(path.join(env, 'bin', 'python3'));
  });

  const overrideWithEnv = (value: string) =>
    load('env_probe', {
      parameters: {
        config: JSON.stringify({
          name: 'env_probe',
          backend: 'python',
          input: [{ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [1] }],
          output: [{ name: 'OUTPUT0', data_type: 'TYPE_STRING', dims: [3] }],
          parameters: { EXECUTION_ENV_PATH: { string_value: value } },
        }),
      },
    });

  test('a config may only name an environment folder or archive inside the model folder; anything else fails the load clearly', async () => {
    const outside = await overrideWithEnv('/nonexistent/python-env');
    expect(outside.statusCode).toBe(400);
    expect(errorOf(outside)).toContain("EXECUTION_ENV_PATH '/nonexistent/python-env' is not inside the model's folder");
    // An interpreter (or any program) outside the model folder, directly or through ../ or a link, never runs.
    for (const value of [absolute, '$$TRITON_MODEL_DIRECTORY/../../../../../../bin/sh', '../env_probe/../../x']) {
      const response = await overrideWithEnv(value);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response)).toContain("is not inside the model's folder");
    }
    fs.symlinkSync(path.dirname(path.dirname(absolute)), path.join(modelDir('env_probe'), 'linked-env'));
    const linked = await overrideWithEnv('$$TRITON_MODEL_DIRECTORY/linked-env');
    expect(errorOf(linked)).toContain("EXECUTION_ENV_PATH '$$TRITON_MODEL_DIRECTORY/linked-env' is not inside the model's folder");
    // A bare command name is looked up in the model folder, not on PATH.
    const command = await overrideWithEnv('python3-not-installed');
    expect(command.statusCode).toBe(400);
    expect(errorOf(command)).toContain("EXECUTION_ENV_PATH 'python3-not-installed' does not exist");
    // A program inside the model folder is neither a folder nor an archive.
    const program = path.join(modelDir('env_probe'), 'run.sh');
    fs.writeFileSync(program, '#!/bin/sh\necho ran > ran.txt\n', { mode: 0o755 });
    const script = await overrideWithEnv('$$TRITON_MODEL_DIRECTORY/run.sh');
    expect(script.statusCode).toBe(400);
    expect(errorOf(script)).toContain('must be an environment folder (with bin/python3) or a conda-pack archive');
    expect(fs.existsSync(path.join(modelDir('env_probe'), 'ran.txt'))).toBe(false);
    // The previous version keeps serving.
    expect((await envProbe())[0]).toBe(path.join(modelDir('env_probe'), 'pyenv', 'bin', 'python3'));
  });

  test('two models on two interpreters at once (when this machine has two with numpy)', async () => {
    const others = ['/usr/bin/python3', 'python3'].filter((candidate) => {
      const result = spawnSync(candidate, ['-c', 'import numpy, sys; print(sys.executable)'], { encoding: 'utf8' });
      return result.status === 0 && result.stdout.trim() !== absolute;
    });
    if (others.length === 0) {
      console.warn('skipped: only one interpreter with numpy on this machine');
      return;
    }
    fs.cpSync(modelDir('env_probe'), path.join(repository, 'env_probe_other'), { recursive: true, verbatimSymlinks: true });
    // The model's own environment folder, its interpreter a link (as a venv's is).
    const otherEnv = path.join(repository, 'env_probe_other', 'other-env');
    fs.mkdirSync(path.join(otherEnv, 'bin'), { recursive: true });
    fs.symlinkSync(others[0].includes('/') ? others[0] : spawnSync('which', [others[0]], { encoding: 'utf8' }).stdout.trim(), path.join(otherEnv, 'bin', 'python3'));
    fs.writeFileSync(
      path.join(repository, 'env_probe_other', 'config.pbtxt'),
      fs
        .readFileSync(path.join(repository, 'env_probe', 'config.pbtxt'), 'utf8')
        .replace('name: "env_probe"', 'name: "env_probe_other"') +
        'parameters { key: "EXECUTION_ENV_PATH" value: { string_value: "$$TRITON_MODEL_DIRECTORY/other-env" } }\n',
    );
    expect((await load('env_probe_other')).statusCode).toBe(200);
    const [first] = await envProbe('env_probe');
    const [second] = await envProbe('env_probe_other');
    expect(first).not.toBe(second);
    expect((await unload('env_probe_other')).statusCode).toBe(200);
  });
});
