/**
 * Triton's load with `file:<path>` parameters: the model's files come with the load request and are written to a
 * fresh temporary model directory, which the load uses instead of the repository's (the `config` parameter is then
 * required: it says the repository's config.pbtxt does not apply). A later load without files reads the repository
 * again. A path that is absolute or climbs out of the model directory is refused before anything is written; a
 * filesystem error (a name longer than NAME_MAX, ...) fails the load as Triton's "failed to poll from model
 * repository".
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The load request's files: path relative to the model directory → contents. */
export type OverrideFiles = ReadonlyMap<string, Uint8Array>;

export class OverrideError extends Error {}

/** Write `files` into a new temporary directory holding one model folder; returns that model folder. */
export async function writeOverrideModel(model: string, files: OverrideFiles): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'inference-server-override-'));
  const modelDir = path.join(root, 'model');
  try {
    await fs.mkdir(modelDir);
    for (const [relative, contents] of files) {
      const target = path.resolve(modelDir, relative);
      if (relative === '' || path.isAbsolute(relative) || !target.startsWith(modelDir + path.sep)) {
        throw new OverrideError(`file '${relative}' for model '${model}' is outside the model directory`);
      }
      await fs.mkdir(path.dirname(target), { recursive: true });
      // 'wx': never through a link or over a file written before (a path given twice).
      await fs.writeFile(target, contents, { flag: 'wx' });
    }
    return modelDir;
  } catch (error) {
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Remove a folder writeOverrideModel made (its temporary parent with it). */
export async function removeOverrideModel(modelDir: string): Promise<void> {
  await fs.rm(path.dirname(modelDir), { recursive: true, force: true });
}
