/**
 * What the GPU bundle must carry, computed rather than listed by hand (bench/gpu-check.sh bundle runs it):
 *  1. the compiled files reachable by require() from the entry points (relative requires followed), and the bare
 *     package names they require;
 *  2. the closure of those packages in a production install (dependencies and optional dependencies, resolved the way
 *     Node resolves them: nearest node_modules folder first).
 *
 *   node dist/bench/gpu/bundle-deps.js <stage dir> <node_modules dir> <entry.js ...>
 *
 * Prints JSON { files: [...relative to stage], packages: [...node_modules/... paths], missing: [...] }.
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const BUILTINS = new Set(builtinModules);
const REQUIRE = /\brequire\(\s*["']([^"']+)["']\s*\)/g;

/** The package name of a bare specifier: 'a/b' -> 'a', '@s/a/b' -> '@s/a'. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.js`, `${base}.json`, path.join(base, 'index.js')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Compiled files reachable from the entries, and the bare packages they name. */
export function walkRequires(entries: readonly string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = entries.map((e) => path.resolve(e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    if (!file.endsWith('.js')) continue;
    const source = fs.readFileSync(file, 'utf8');
    for (const match of source.matchAll(REQUIRE)) {
      const specifier = match[1];
      if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const target = resolveRelative(file, specifier);
        if (target) queue.push(target);
      } else {
        packages.add(packageName(specifier));
      }
    }
  }
  return { files, packages };
}

/**
 * Package folders (relative to the folder holding node_modules) needed by `roots`, following dependencies,
 * optionalDependencies and peerDependencies of every package found, resolved from the requiring package outwards.
 */
export function packageClosure(projectDir: string, roots: Iterable<string>): { packages: string[]; missing: string[] } {
  const found = new Set<string>();
  const missing = new Set<string>();
  const locate = (name: string, fromDir: string): string | undefined => {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
      if (dir === projectDir || path.dirname(dir) === dir) return undefined;
    }
  };
  const queue: Array<[string, string, boolean]> = [...roots].map((name) => [name, projectDir, false]);
  while (queue.length > 0) {
    const [name, fromDir, optional] = queue.pop()!;
    const dir = locate(name, fromDir);
    if (!dir) {
      if (!optional) missing.add(name);
      continue;
    }
    const rel = path.relative(projectDir, dir);
    if (found.has(rel)) continue;
    found.add(rel);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push([dep, dir, false]);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) queue.push([dep, dir, true]);
    for (const dep of Object.keys(manifest.peerDependencies ?? {})) queue.push([dep, dir, true]);
  }
  return { packages: [...found].sort(), missing: [...missing].sort() };
}

if (require.main === module) {
  const [stage, modulesDir, ...entries] = process.argv.slice(2);
  if (!stage || !modulesDir || entries.length === 0) {
    throw new Error('usage: bundle-deps.js <stage dir> <node_modules dir> <entry.js ...>');
  }
  const { files, packages } = walkRequires(entries.map((e) => path.resolve(stage, e)));
  const projectDir = path.dirname(path.resolve(modulesDir));
  const closure = packageClosure(projectDir, packages);
  process.stdout.write(
    `${JSON.stringify({
      files: [...files].map((f) => path.relative(path.resolve(stage), f)).sort(),
      roots: [...packages].sort(),
      packages: closure.packages,
      missing: closure.missing,
    })}\n`,
  );
}
