/**
 * Nothing in the documentation rots silently: every shell block of README.md, docs/*.md and examples/*\/README.md is
 * run by a test, is what .ci/run runs, or says what it needs that CI lacks (docs/contributing.md, "Documented commands").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allBlocks, DocBlock, docFiles, Marker, ROOT, SHELL_LANGUAGES, SKIP_NEEDS } from './doc-blocks';

const blocks = allBlocks();
const where = (b: DocBlock) => `${b.file}:${b.line}`;
const markerOf = (b: DocBlock): Marker | undefined => (typeof b.marker === 'object' ? b.marker : undefined);

function filesUnder(dir: string, test: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist' && !entry.name.startsWith('.')) out.push(...filesUnder(rel, test));
    } else if (test(entry.name)) out.push(rel);
  }
  return out;
}

describe('documented commands', () => {
  test('every code block names its language (a bare fence could hide a command from these checks)', () => {
    expect(blocks.filter((b) => b.lang === '').map(where)).toEqual([]);
  });

  test('every shell block is run by a test, run by .ci/run, or says what it needs that CI does not have', () => {
    const problems = blocks
      .filter((b) => SHELL_LANGUAGES.has(b.lang))
      .flatMap((b) => {
        const marker = markerOf(b);
        if (!marker) return [`${where(b)}: no '<!-- cmd: ... -->' marker on the line before the fence (got: ${String(b.marker)})`];
        if (marker.kind === 'skip' && !(marker.need in SKIP_NEEDS)) return [`${where(b)}: unknown need '${marker.need}' (one of ${Object.keys(SKIP_NEEDS).join(', ')})`];
        if (marker.kind === 'output' || marker.kind === 'file') return [`${where(b)}: a shell block cannot be marked '${marker.kind}'`];
        return [];
      });
    expect(problems).toEqual([]);
  });

  test('every run id is unique and a test under test/ runs it', () => {
    const testSources = filesUnder('test', (name) => name.endsWith('.ts'))
      .filter((file) => !file.startsWith(path.join('test', 'docs', 'commands.test.ts')))
      .map((file) => fs.readFileSync(path.join(ROOT, file), 'utf8'))
      .join('\n');
    const ids = blocks.flatMap((b) => {
      const marker = markerOf(b);
      return marker?.kind === 'run' ? [marker.id] : [];
    });
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids.filter((id) => !testSources.includes(`'${id}'`))).toEqual([]);
  });

  test('every documented output belongs to a run block', () => {
    const runs = new Set(blocks.map(markerOf).flatMap((m) => (m?.kind === 'run' ? [m.id] : [])));
    const orphans = blocks.filter((b) => markerOf(b)?.kind === 'output' && !runs.has((markerOf(b) as { id: string }).id));
    expect(orphans.map(where)).toEqual([]);
  });

  test("blocks marked 'ci' are what .ci/run runs", () => {
    const ci = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    const missing = blocks
      .filter((b) => markerOf(b)?.kind === 'ci')
      .flatMap((b) => b.body.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '' && !ci.includes(line)).map((line) => `${where(b)}: ${line}`));
    expect(missing).toEqual([]);
  });

  test("blocks marked 'file' are word for word in that file", () => {
    const wrong = blocks.flatMap((b) => {
      const marker = markerOf(b);
      if (marker?.kind !== 'file') return [];
      const file = path.join(ROOT, marker.path);
      if (!fs.existsSync(file)) return [`${where(b)}: ${marker.path} does not exist`];
      return fs.readFileSync(file, 'utf8').includes(b.body) ? [] : [`${where(b)}: differs from ${marker.path}`];
    });
    expect(wrong).toEqual([]);
  });

  test('commands work on a fresh clone: npm scripts that build first, never npx of our own bins or dist/ paths', () => {
    const banned = [
      { pattern: /\bnpx (inference-server|inference-perf)\b/, fix: 'npm run serve -- ... / npm run perf -- ...' },
      { pattern: /(^|[;&|]\s*)(inference-server|inference-perf)\s/m, fix: 'npm run serve -- ... / npm run perf -- ... (the bare names exist only in the image)' },
      { pattern: /\bnode dist\//, fix: 'an npm script (dist/ is not built on a fresh clone)' },
      { pattern: /\bnpx cdk8s synth\b/, fix: 'npm run synth' },
    ];
    const found = blocks
      .filter((b) => SHELL_LANGUAGES.has(b.lang) && markerOf(b)?.kind !== 'skip')
      .flatMap((b) => banned.filter(({ pattern }) => pattern.test(b.body)).map(({ fix }) => `${where(b)}: use ${fix}`));
    expect(found).toEqual([]);
  });

  test('links in the documentation point at files of the repository (or the web)', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1].split('#')[0];
        if (target === '' || /^[a-z]+:/.test(target)) continue;
        if (!fs.existsSync(path.resolve(ROOT, path.dirname(file), target))) broken.push(`${file}: ${match[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('nothing points users at files they do not have (DESIGN.md, coordination notes)', () => {
    const sources = [
      ...docFiles(),
      'bench/README.md',
      ...['server', 'client', 'constructs', 'prototypes', 'kubeflow', 'examples', 'bench', 'scripts', 'test'].flatMap((dir) =>
        filesUnder(dir, (name) => /\.(ts|js|py|sh|md)$/.test(name)),
      ),
    ].filter((file) => file !== path.join('test', 'docs', 'commands.test.ts'));
    const offending = sources.filter((file) => /DESIGN\.md|\/work\/(shared|coord)\b/.test(fs.readFileSync(path.join(ROOT, file), 'utf8')));
    expect(offending).toEqual([]);
  });
});
