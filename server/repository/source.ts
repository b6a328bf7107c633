import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ModelConfig } from '../config/model-config';
import { parseModelConfigText } from '../config/pbtxt';
import { parseVersionDirectory } from './version-policy';
import type { Logger } from 'pino';
import { GcsRepositorySource } from './gcs/gcs-source';

/**
 * Where models come from. A local directory serves files in place; a remote source (gs://) materialises a model into
 * a local cache first, so backends always read local files.
 */
export interface RepositorySource {
  /** The root as the user gave it (a path or a URI). */
  readonly root: string;
  /** Names of the model directories in this root. */
  listModels(): Promise<string[]>;
  /** A local directory holding the model's current files (downloads them first for remote sources). */
  materialize(model: string): Promise<string>;
  /** A cheap digest of the model's files (names, sizes, times or generations): poll mode reloads when it changes. */
  fingerprint?(model: string): Promise<string>;
}

/** A model repository on local disk (Triton's layout: <root>/<model>/config.pbtxt, <root>/<model>/<version>/...). */
export class LocalRepositorySource implements RepositorySource {
  constructor(readonly root: string) {}

  async listModels(): Promise<string[]> {
    let entries;
    try {
      entries = await fs.readdir(this.root, { withFileTypes: true });
    } catch (error) {
      throw new Error(`failed to read model repository '${this.root}': ${(error as Error).message}`);
    }
    return entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  }

  async materialize(model: string): Promise<string> {
    return path.join(this.root, model);
  }

  async fingerprint(model: string): Promise<string> {
    const hash = createHash('sha256');
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
        else {
          const stat = await fs.stat(full);
          hash.update(`${prefix}${entry.name}:${stat.size}:${stat.mtimeMs}\n`);
        }
      }
    };
    await walk(path.join(this.root, model), '');
    return hash.digest('hex');
  }
}

/** What remote sources need besides the root. */
export interface RepositorySourceOptions {
  /** `--model-cache-dir`: where gs:// models are downloaded. @default - a folder under the OS temp dir */
  readonly modelCacheDir?: string;
  readonly log?: Logger;
}

export function createRepositorySource(root: string, options: RepositorySourceOptions = {}): RepositorySource {
  if (root.startsWith('gs://')) {
    return new GcsRepositorySource(root, { cacheDir: options.modelCacheDir, log: options.log });
  }
  return new LocalRepositorySource(path.resolve(root));
}

/** Version directories of a model: positive integer names, ascending. */
export async function listVersionDirs(modelDir: string): Promise<number[]> {
  const entries = await fs.readdir(modelDir, { withFileTypes: true });
  return entries
    .flatMap((entry) => {
      const version = entry.isDirectory() ? parseVersionDirectory(entry.name) : undefined;
      return version === undefined ? [] : [version];
    })
    .sort((a, b) => a - b);
}

/** Model files (`model.onnx`, `model.py`, any `*.onnx`...) lying directly in the model folder instead of a version folder. */
export async function looseModelFiles(modelDir: string): Promise<string[]> {
  const entries = await fs.readdir(modelDir, { withFileTypes: true });
  return entries
    .filter((entry) => !entry.isDirectory() && (/^model\.[a-z]+$/.test(entry.name) || entry.name.endsWith('.onnx')))
    .map((entry) => entry.name)
    .sort();
}

/**
 * `<model>/config.pbtxt`, parsed; an empty config when the file is absent (auto-complete fills it). With a custom
 * configuration name (Triton's --model-config-name), `<model>/configs/<name>.pbtxt` wins where it exists.
 */
export async function readConfigFile(modelDir: string, customName?: string): Promise<ModelConfig> {
  const candidates = [...(customName ? [path.join(modelDir, 'configs', `${customName}.pbtxt`)] : []), path.join(modelDir, 'config.pbtxt')];
  for (const file of candidates) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    return parseModelConfigText(text, file);
  }
  return {};
}
