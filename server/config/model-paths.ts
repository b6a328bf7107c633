/**
 * Paths a model config names (label_filename, default_model_filename, cc_model_filenames, warmup input_data_file,
 * initial_state data_file, EXECUTION_ENV_PATH) must stay inside the model's folder, symbolic links included: a config
 * can come from the load API (a config override), and nothing it says may read, import or run a file elsewhere.
 * What is inside the model folder is the model's own (it may already run code, as model.py does).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Errors } from '../core/errors';
import type { ModelConfig } from './model-config';

/** Triton's warmup data folder (kWarmupDataFolder) and initial state folder under the model folder. */
export const WARMUP_DATA_FOLDER = 'warmup';
export const INITIAL_STATE_FOLDER = 'initial_state';

/**
 * `name` resolved against `folder`, refused unless it stays inside `modelDir` after symbolic links (a name that does
 * not exist yet is checked through its deepest existing ancestor; the caller reports it missing). `setting` names the
 * config field for the error.
 */
export async function resolveInsideModel(modelDir: string, folder: string, name: string, setting: string): Promise<string> {
  const target = path.resolve(folder, name);
  const root = path.resolve(modelDir);
  // Checked before touching the file system: a path outside is refused the same whether it exists or not.
  if (name === '' || name.includes('\0') || !isInside(root, target)) throw Errors.modelPathOutside(setting, name);
  const realRoot = await fs.realpath(root);
  const real = await realpathOfMaybeMissing(target);
  if (real === undefined || !isInside(realRoot, real)) throw Errors.modelPathOutside(setting, name);
  return target;
}

/** Check every path `config` names for the model in `modelDir` (versions: the version folders that will load). */
export async function checkModelConfigPaths(config: ModelConfig, modelDir: string, versions: readonly number[]): Promise<void> {
  for (const output of config.output ?? []) {
    if (output.label_filename) await resolveInsideModel(modelDir, modelDir, output.label_filename, `label_filename of output '${output.name}'`);
  }
  const modelFiles = [config.default_model_filename, ...Object.values(config.cc_model_filenames ?? {})];
  for (const file of modelFiles) {
    if (!file) continue;
    for (const version of versions) {
      await resolveInsideModel(modelDir, path.join(modelDir, String(version)), file, 'default_model_filename');
    }
  }
  for (const sample of config.model_warmup ?? []) {
    for (const [input, setting] of Object.entries(sample.inputs ?? {})) {
      if (setting.input_data_file === undefined) continue;
      await resolveInsideModel(
        modelDir,
        path.join(modelDir, WARMUP_DATA_FOLDER),
        setting.input_data_file,
        `input_data_file of warmup '${sample.name ?? ''}' input '${input}'`,
      );
    }
  }
  for (const state of config.sequence_batching?.state ?? []) {
    for (const initial of state.initial_state ?? []) {
      if (initial.data_file === undefined) continue;
      await resolveInsideModel(modelDir, path.join(modelDir, INITIAL_STATE_FOLDER), initial.data_file, `initial_state data_file of state '${state.input_name ?? ''}'`);
    }
  }
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}

/** realpath of `target`, or of its deepest existing ancestor joined with the rest; undefined for a dangling link. */
async function realpathOfMaybeMissing(target: string): Promise<string | undefined> {
  try {
    return await fs.realpath(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  // An entry that lstat sees but realpath cannot follow is a link to nothing (or through one): its target is unknown.
  if (await fs.lstat(target).then(() => true, () => false)) return undefined;
  const parent = path.dirname(target);
  if (parent === target) return target;
  const realParent = await realpathOfMaybeMissing(parent);
  return realParent === undefined ? undefined : path.join(realParent, path.basename(target));
}
