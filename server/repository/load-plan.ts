import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Backend } from '../backends/backend';
import type { ModelConfig, NormalizedModelConfig } from '../config/model-config';
import { normalizeModelConfig, resolveBackendFields } from '../config/normalize';
import { isEnsembleConfig } from '../config/ensemble-graph';
import { checkModelConfigPaths } from '../config/model-paths';
import { Errors } from '../core/errors';
import { backendFor } from './backend-for';
import { listVersionDirs, looseModelFiles, readConfigFile } from './source';
import { missingVersionFolderMessage, noVersionAvailableMessage, selectVersions } from './version-policy';

/** What a load needs to know before any instance starts. */
export interface ModelLoadPlan {
  /** The config as it serves: resolved, auto-completed (when allowed) and normalised. */
  readonly config: NormalizedModelConfig;
  /** The backend that runs it; undefined for an ensemble (its steps run on the composing models). */
  readonly backend: Backend | undefined;
  /** The version folders the version policy selects, ascending; never empty. */
  readonly versions: number[];
}

export interface ModelLoadSettings {
  readonly backends: ReadonlyMap<string, Backend>;
  /** Fill configs from the model files (Triton's auto-complete). */
  readonly autoCompleteConfig: boolean;
  /** --model-config-name: read `<model>/configs/<name>.pbtxt` where it exists instead of config.pbtxt. */
  readonly modelConfigName?: string;
  /** Most instances one version may start, over all its instance groups. @default unlimited */
  readonly maxInstancesPerModel?: number;
}

/**
 * Read and check a model folder for a load: its version folders, its config (the load's own `configOverride`, else
 * the folder's), the backend, the paths the config names, auto-complete, normalisation, the version policy and the
 * instance limit. Throws the reason the model cannot load; nothing has started then.
 */
export async function planModelLoad(
  name: string,
  modelDir: string,
  configOverride: ModelConfig | undefined,
  settings: ModelLoadSettings,
): Promise<ModelLoadPlan> {
  const available = await listVersionDirs(modelDir);
  const loose = available.length === 0 ? await looseModelFiles(modelDir) : [];
  if (loose.length > 0) throw new Error(missingVersionFolderMessage(name, loose[0]));
  const firstVersionEntries = available.length > 0 ? await fs.readdir(path.join(modelDir, String(available[0]))) : undefined;
  const raw = resolveBackendFields(configOverride ?? (await readConfigFile(modelDir, settings.modelConfigName)), {
    modelDirectoryName: name,
    versionDirectoryEntries: firstVersionEntries,
  });
  // An ensemble has no backend: its steps run on the composing models.
  const backend = isEnsembleConfig(raw) ? undefined : backendFor(raw, settings.backends);
  // Before anything reads a file the config names (auto-complete reads the model file).
  await checkModelConfigPaths(raw, modelDir, available);
  let completed: ModelConfig = raw;
  if (backend && settings.autoCompleteConfig && available.length > 0) {
    completed = await backend.autoCompleteConfig(completed, path.join(modelDir, String(available[0])));
  }
  const config = normalizeModelConfig(completed, { modelDirectoryName: name, versionDirectoryEntries: firstVersionEntries });
  const versions = selectVersions(config.version_policy, available);
  if (versions.length === 0) throw new Error(noVersionAvailableMessage(name));
  if (completed !== raw) await checkModelConfigPaths(config, modelDir, versions); // what auto_complete_config added
  if (backend) checkInstanceCount(config, settings.maxInstancesPerModel);
  return { config, backend, versions };
}

/** Refuse a config whose instance groups ask for more instances than the server allows, before any of them starts. */
function checkInstanceCount(config: NormalizedModelConfig, limit: number | undefined): void {
  if (limit === undefined) return;
  // A KIND_GPU group with a gpus list starts `count` on each listed GPU; any other group starts `count` in all.
  const asked = config.instance_group.reduce(
    (sum, group) => sum + group.count * (group.kind === 'KIND_GPU' && group.gpus.length > 0 ? group.gpus.length : 1),
    0,
  );
  if (asked > limit) throw Errors.tooManyInstances(config.name, asked, limit);
}
