/**
 * The dependency rules of docs/architecture.md, checked on the source: protocol/* → core only; constructs/ → server/contract.ts only;
 * nothing imports prototypes/; errors only from the catalogue; no import cycles. Imports are read with TypeScript's own pre-processor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const FOLDERS = ['server', 'client', 'constructs', 'prototypes', 'kubeflow'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

const files = FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder)));
const graph = new Map<string, string[]>(
  files.map((file) => [
    file,
    ts
      .preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
      .importedFiles.map((ref) => resolveImport(file, ref.fileName))
      .filter((target): target is string => target !== undefined),
  ]),
);
const rel = (file: string) => path.relative(ROOT, file);

describe('dependency rules (docs/architecture.md)', () => {
  it('protocol frontends import only core (and their own folder)', () => {
    const offending: string[] = [];
    for (const [file, targets] of graph) {
      if (!rel(file).startsWith('server/protocol/')) continue;
      for (const target of targets) {
        const to = rel(target);
        if (!to.startsWith('server/core/') && !to.startsWith('server/protocol/')) offending.push(`${rel(file)} → ${to}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('constructs import nothing from server/ but server/contract.ts, and nothing imports prototypes/', () => {
    const offending: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const from = rel(file);
        const to = rel(target);
        if (from.startsWith('constructs/') && to.startsWith('server/') && to !== 'server/contract.ts') offending.push(`${from} → ${to}`);
        if (to.startsWith('prototypes/') && !from.startsWith('prototypes/')) offending.push(`${from} → ${to}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('errors come from the one catalogue: InferenceErrors are built only in its areas, which only errors.ts imports', () => {
    const offending: string[] = [];
    for (const [file, targets] of graph) {
      const from = rel(file);
      const inCatalogue = from.startsWith('server/core/error-catalogue/') || from === 'server/core/inference-error.ts';
      if (!inCatalogue && /\bnew InferenceError\(/.test(fs.readFileSync(file, 'utf8'))) offending.push(`${from} builds an InferenceError`);
      for (const target of targets) {
        const to = rel(target);
        if (to.startsWith('server/core/error-catalogue/') && !from.startsWith('server/core/error-catalogue/') && from !== 'server/core/errors.ts') {
          offending.push(`${from} → ${to}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('has no import cycles', () => {
    // Tarjan's strongly connected components: any component of more than one file is a cycle.
    let index = 0;
    const indices = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (node: string): void => {
      indices.set(node, index);
      low.set(node, index);
      index += 1;
      stack.push(node);
      onStack.add(node);
      for (const next of graph.get(node) ?? []) {
        if (!indices.has(next)) {
          visit(next);
          low.set(node, Math.min(low.get(node)!, low.get(next)!));
        } else if (onStack.has(next)) {
          low.set(node, Math.min(low.get(node)!, indices.get(next)!));
        }
      }
      if (low.get(node) === indices.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(rel(member));
        } while (member !== node);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const file of graph.keys()) if (!indices.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
