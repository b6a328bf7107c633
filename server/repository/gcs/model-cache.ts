import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** What the cache holds for one model: the generation of every file, written after the files are in place. */
export interface Manifest {
  readonly source: string;
  readonly files: Record<string, { generation: string; size: number; localSize: number; crc32c?: string; md5Hash?: string }>;
}

const MANIFEST_DIR = '.manifests';

/**
 * The local mirror of one `gs://` repository root on disk: `<root>/<model>/` holds a model's files and
 * `<root>/.manifests/<model>.json` the generations they were downloaded at. Paths relative to a model are '/'-separated
 * (object names); the caller (gcs-source.ts) serialises the work on each model.
 */
export class ModelCache {
  constructor(readonly root: string) {}

  modelDir(model: string): string {
    return path.join(this.root, model);
  }

  /** Where a model's file lives; `relative` is '/'-separated. */
  filePath(model: string, relative: string): string {
    return path.join(this.modelDir(model), ...relative.split('/'));
  }

  /** The size of a cached file; undefined when it is missing (or not a file). */
  async fileSize(model: string, relative: string): Promise<number | undefined> {
    try {
      const stat = await fs.stat(this.filePath(model, relative));
      return stat.isFile() ? stat.size : undefined;
    } catch {
      return undefined;
    }
  }

  async readManifest(model: string): Promise<Manifest | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.manifestPath(model), 'utf8')) as Manifest;
    } catch {
      return undefined; // missing or unreadable: everything is downloaded again
    }
  }

  /** Written to a temporary file and renamed, so a manifest is whole or absent. */
  async writeManifest(model: string, manifest: Manifest): Promise<void> {
    const file = this.manifestPath(model);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(temp, JSON.stringify(manifest, null, 1));
    await fs.rename(temp, file);
  }

  /** The models that have a manifest; none when the cache is empty or unreadable. */
  async cachedModels(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(path.join(this.root, MANIFEST_DIR));
    } catch {
      return [];
    }
    return entries.filter((entry) => entry.endsWith('.json')).map((entry) => entry.slice(0, -'.json'.length));
  }

  /** Make sure the model's folder exists and delete every file in it that `wanted` does not list, then the folders left empty. */
  async keepOnly(model: string, wanted: ReadonlySet<string>): Promise<void> {
    const dir = this.modelDir(model);
    await fs.mkdir(dir, { recursive: true });
    await removeExcept(dir, wanted);
  }

  /** Delete a model's files and manifest. */
  async remove(model: string): Promise<void> {
    await fs.rm(this.modelDir(model), { recursive: true, force: true });
    await fs.rm(this.manifestPath(model), { force: true });
  }

  private manifestPath(model: string): string {
    return path.join(this.root, MANIFEST_DIR, `${model}.json`);
  }
}

/** Delete every file under `dir` whose '/'-relative path is not in `wanted`, then the directories left empty. */
async function removeExcept(dir: string, wanted: ReadonlySet<string>, relative = ''): Promise<boolean> {
  const entries = await fs.readdir(path.join(dir, ...(relative ? relative.split('/') : [])), { withFileTypes: true });
  let empty = true;
  for (const entry of entries) {
    const rel = relative ? `${relative}/${entry.name}` : entry.name;
    const full = path.join(dir, ...rel.split('/'));
    if (entry.isDirectory()) {
      if (await removeExcept(dir, wanted, rel)) await fs.rmdir(full).catch(() => undefined);
      else empty = false;
    } else if (!wanted.has(rel)) {
      await fs.rm(full, { force: true });
    } else {
      empty = false;
    }
  }
  return empty;
}
