import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The memory settings the Dockerfile's ENV gives the image: its MALLOC_* variables and NODE_OPTIONS, read from the
 * Dockerfile itself so that a benchmark run "as the image runs" measures what the image really sets.
 */
export function imageMemoryEnv(root: string): Record<string, string> {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const env: Record<string, string> = Object.fromEntries([...dockerfile.matchAll(/\b(MALLOC_[A-Z_]+)=([0-9]+)/g)].map((m) => [m[1], m[2]]));
  const nodeOptions = /^\s*NODE_OPTIONS=("[^"]*"|\S+)/m.exec(dockerfile)?.[1].replace(/^"|"$/g, '');
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  return env;
}
