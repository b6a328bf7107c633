/**
 * Summarise a V8 .cpuprofile (node --cpu-prof) by self time: per layer (node_modules package, dist/server folder,
 * node internals, natives, GC, idle) and per function, so a benchmark can say which layer costs what.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileShare {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Busy = everything but (idle): the main thread's CPU time while sampled. */
  readonly busyMs: number;
  readonly layers: ProfileShare[];
  readonly functions: ProfileShare[];
}

/** The layer a frame belongs to, by its script URL. */
export function layerOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(idle)' || functionName === '(garbage collector)' || functionName === '(program)') return functionName;
    return `native ${functionName || '(anonymous)'}`;
  }
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (modules) return `npm ${modules[1]}`;
  const ours = /\/dist\/((?:server|bench)\/(?:[^/]+\/)?)/.exec(url);
  if (ours) return ours[1].replace(/\/$/, '').replace(/\.js$/, '');
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    return `node:${parts[0] === 'internal' ? `internal/${parts[1]?.replace(/\.js$/, '') ?? ''}` : parts[0]}`;
  }
  return path.basename(url);
}

export function summariseProfile(file: string, topFunctions = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const hits = new Map<number, number>();
  if (profile.samples) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
  }
  const totalSamples = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = totalMs / totalSamples;
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  let idleMs = 0;
  for (const node of profile.nodes) {
    const ms = (hits.get(node.id) ?? 0) * msPerSample;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const layer = layerOf(url, functionName);
    if (layer === '(idle)') idleMs += ms;
    layers.set(layer, (layers.get(layer) ?? 0) + ms);
    const key = url === '' ? layer : `${functionName || '(anonymous)'} ${layer}:${lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  const shares = (map: Map<string, number>, limit: number): ProfileShare[] =>
    [...map.entries()]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, ms]) => ({ name, ms, percent: (100 * ms) / (busyMs || 1) }));
  return { file, totalMs, busyMs, layers: shares(layers, 30), functions: shares(functions, topFunctions) };
}

/** The main thread's profile among those `--cpu-prof-dir` collected (worker threads write their own files). */
export function mainThreadProfile(dir: string, pid: number): string | undefined {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; the main thread is tid 0.
  const main = files.find((f) => f.split('.')[3] === String(pid) && f.split('.')[4] === '0');
  return main ? path.join(dir, main) : undefined;
}

/** The layer and function tables of a profile summary, as markdown lines. */
export function profileTables(summary: ProfileSummary, layers: number, functions: number): string[] {
  return [
    '| layer (self time) | ms | % of busy |',
    '|---|---:|---:|',
    ...summary.layers.slice(0, layers).map((s) => `| ${s.name} | ${s.ms.toFixed(0)} | ${s.percent.toFixed(1)} |`),
    '',
    '| function (self time) | ms | % of busy |',
    '|---|---:|---:|',
    ...summary.functions.slice(0, functions).map((s) => `| ${s.name.replace(/\|/g, '\\|')} | ${s.ms.toFixed(0)} | ${s.percent.toFixed(1)} |`),
  ];
}
