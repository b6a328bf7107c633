import * as fs from 'node:fs/promises';
import * as path from 'node:path';

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
}

export function createRepositorySource(root: string): RepositorySource {
  if (root.startsWith('gs://')) {
    throw new Error(`model repository '${root}': gs:// repositories are not supported yet`);
  }
  return new LocalRepositorySource(path.resolve(root));
}

/** Version directories of a model: positive integer names, ascending. */
export async function listVersionDirs(modelDir: string): Promise<number[]> {
  const entries = await fs.readdir(modelDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && /^[0-9]+$/.test(entry.name) && Number(entry.name) > 0)
    .map((entry) => Number(entry.name))
    .sort((a, b) => a - b);
}
