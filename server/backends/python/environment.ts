import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { resolveInsideModel } from '../../config/model-paths';
import { Errors } from '../../core/errors';

const execFileAsync = promisify(execFile);

/** The interpreter a model's stubs run with, and the environment directory it came from (if any). */
export interface PythonEnvironment {
  readonly python: string;
  /** Root of a venv / conda environment: its bin/ goes first on PATH. */
  readonly envDir?: string;
}

export const DEFAULT_PYTHON = 'python3';
const MODEL_DIRECTORY_VARIABLE = '$$TRITON_MODEL_DIRECTORY';
const extractions = new Map<string, Promise<string>>();

/** Where an EXECUTION_ENV_PATH came from: the model's config (load API, config.pbtxt) or the server's own flags. */
export type EnvironmentSource = 'model-config' | 'server';

const ARCHIVE = /\.(tar\.gz|tgz|tar)$/;

/**
 * Resolve Triton's `EXECUTION_ENV_PATH` (model parameter, or `--backend-config=python,execution-env-path=...` as the
 * server-wide default) to an interpreter:
 *  - unset: `python3` from PATH;
 *  - a directory (an unpacked conda-pack environment, a venv): its `bin/python3` (or `bin/python`);
 *  - a `.tar.gz` / `.tgz` / `.tar` archive (conda-pack's output): unpacked once into a cache directory, then as above;
 *  - from the server's flags only (the operator's choice): a bare command name (`python3.11`) looked up on PATH, or an
 *    interpreter file.
 * From a model config it must be a folder or an archive inside the model's folder (symbolic links included), as
 * Triton's conda-pack environments are: a config (which the load API can override) never runs an arbitrary program.
 * `$$TRITON_MODEL_DIRECTORY` is replaced by the model's directory, as Triton does.
 */
export async function resolvePythonEnvironment(
  value: string | undefined,
  modelDir: string,
  source: EnvironmentSource = 'server',
): Promise<PythonEnvironment> {
  const raw = (value ?? '').trim();
  if (raw === '') return { python: DEFAULT_PYTHON };
  const resolved = raw.split(MODEL_DIRECTORY_VARIABLE).join(modelDir);
  const fromConfig = source === 'model-config';
  if (!resolved.includes('/') && !fromConfig) return { python: resolved };
  const target = fromConfig
    ? await resolveInsideModel(modelDir, modelDir, resolved, 'EXECUTION_ENV_PATH').catch(() => {
        throw Errors.modelPathOutside('EXECUTION_ENV_PATH', raw); // named as the config wrote it
      })
    : path.resolve(modelDir, resolved);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(target);
  } catch {
    throw new Error(`EXECUTION_ENV_PATH '${raw}' does not exist (resolved to '${target}')`);
  }
  if (stat.isDirectory()) return environmentFromDirectory(target, raw);
  if (stat.isFile() && ARCHIVE.test(target)) {
    const dir = await extract(target, stat);
    return environmentFromDirectory(dir, raw);
  }
  if (fromConfig) {
    throw new Error(
      `EXECUTION_ENV_PATH '${raw}' in a model config must be an environment folder (with bin/python3) or a conda-pack archive (.tar.gz, .tgz, .tar); an interpreter can only be named server-wide (--backend-config=python,execution-env-path=...)`,
    );
  }
  return { python: target };
}

function environmentFromDirectory(dir: string, raw: string): PythonEnvironment {
  for (const candidate of ['bin/python3', 'bin/python']) {
    const python = path.join(dir, candidate);
    if (fs.existsSync(python)) return { python, envDir: dir };
  }
  throw new Error(`EXECUTION_ENV_PATH '${raw}' has no bin/python3 or bin/python`);
}

/** Unpack an environment archive once per (path, size, mtime) into the temporary directory. */
function extract(archive: string, stat: fs.Stats): Promise<string> {
  const key = crypto.createHash('sha256').update(`${archive}\0${stat.size}\0${stat.mtimeMs}`).digest('hex').slice(0, 16);
  let running = extractions.get(key);
  if (!running) {
    running = (async () => {
      const dir = path.join(os.tmpdir(), 'inference-server-python-envs', key);
      const done = path.join(dir, '.unpacked');
      if (fs.existsSync(done)) return dir;
      await fs.promises.rm(dir, { recursive: true, force: true });
      await fs.promises.mkdir(dir, { recursive: true });
      try {
        await execFileAsync('tar', ['-xf', archive, '-C', dir]);
      } catch (error) {
        throw new Error(`failed to unpack EXECUTION_ENV_PATH '${archive}': ${(error as Error).message}`);
      }
      await fs.promises.writeFile(done, archive);
      return dir;
    })();
    extractions.set(key, running);
    running.catch(() => extractions.delete(key));
  }
  return running;
}
