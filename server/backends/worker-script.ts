import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Worker threads need JavaScript. From compiled code the worker sits beside its caller; under ts-jest (sources run
 * from .ts) the compiled copy in dist/ is used, which the test global setup builds.
 */
export function resolveWorkerScript(callerDir: string, baseName: string): string {
  const beside = path.join(callerDir, `${baseName}.js`);
  if (fs.existsSync(beside)) return beside;
  const projectRoot = findProjectRoot(callerDir);
  const relative = path.relative(projectRoot, callerDir);
  const compiled = path.join(projectRoot, 'dist', relative, `${baseName}.js`);
  if (fs.existsSync(compiled)) return compiled;
  throw new Error(`worker script ${baseName}.js not found beside ${callerDir} or in ${compiled}: run "npm run build"`);
}

function findProjectRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}
