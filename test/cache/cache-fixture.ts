/** A scratch repository for the response cache suites: which models ask for the cache, and scraping helpers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXAMPLES } from '../server/repo-fixture';

export const CACHE_STANZA = '\nresponse_cache {\n  enable: true\n}\n';

/**
 * `simple` and `string_upper` with `response_cache { enable: true }`; `simple_plain` (the same model, no cache) and
 * `mlp` as they are.
 */
export function cacheRepository(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-repo-'));
  for (const model of ['simple', 'string_upper', 'mlp']) {
    fs.cpSync(path.join(EXAMPLES, model), path.join(dir, model), { recursive: true });
  }
  fs.cpSync(path.join(EXAMPLES, 'simple'), path.join(dir, 'simple_plain'), { recursive: true });
  const plain = path.join(dir, 'simple_plain', 'config.pbtxt');
  fs.writeFileSync(plain, fs.readFileSync(plain, 'utf8').replace('name: "simple"', 'name: "simple_plain"'));
  for (const model of ['simple', 'string_upper']) fs.appendFileSync(path.join(dir, model, 'config.pbtxt'), CACHE_STANZA);
  return dir;
}

/** Entry bytes of a `simple` response with both outputs, batch 1 (see entryByteSize). */
export const SIMPLE_ENTRY_BYTES = 2 * (7 + 5 + 2 * 8 + 16 * 4);
