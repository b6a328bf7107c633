/**
 * Synth benchmark: how long `cdk8s synth` of the full GKE stack takes, as a user waits for it.
 *
 * Measures, side by side in one run:
 *  - cold: a fresh `node -r ts-node/register/transpile-only prototypes/main.ts` process, what cdk8s.yaml's app runs
 *    (module loading, TypeScript transpiling, construct tree, validation, YAML written), wall clock per process;
 *  - cli: `cdk8s synth` itself (node_modules/.bin/cdk8s, which starts the app above as cdk8s.yaml says), what a user types;
 *  - warm: buildApps() and synth() repeated in this process (construct tree + validation + YAML only).
 * Target: cold ≤ 3 s. Run: npx ts-node --transpile-only bench/synth.ts [runs]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { buildApps } from '../prototypes/main';

const ROOT = path.resolve(__dirname, '..');
const runs = Number(process.argv[2] ?? 5);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  INFERENCE_PARAMS_FILE: path.join(os.tmpdir(), 'bench-synth-params.yaml'),
};
// The full stack: driver installer included (driverVersion disabled), cluster created, every autoscaling object.
fs.writeFileSync(env.INFERENCE_PARAMS_FILE!, [
  'prototype: gke-stack', 'name: inference-server', 'image: nvcr.io/example/inference-server:1.0', 'projectId: my-project',
  'location: us-central1-a', 'clusterName: inference', 'createCluster: true', 'bucketName: my-model-bucket',
  'driverVersion: disabled', 'scaleOn: gpu-duty-cycle',
].join('\n'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));

const cold: number[] = [];
for (let i = 0; i < runs; i++) {
  const outdir = path.join(outRoot, `cold-${i}`);
  const start = performance.now();
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'prototypes/main.ts'], {
    cwd: ROOT, env: { ...env, CDK8S_OUTDIR: outdir }, encoding: 'utf8',
  });
  cold.push(performance.now() - start);
  if (r.status !== 0) throw new Error(`synth failed: ${r.stderr}`);
}
const cli: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['--no-check-upgrade', 'synth', '--output', path.join(outRoot, `cli-${i}`)], {
    cwd: ROOT, env, encoding: 'utf8',
  });
  cli.push(performance.now() - start);
  if (r.status !== 0) throw new Error(`cdk8s synth failed: ${r.stderr}`);
}
const objects = fs.readdirSync(path.join(outRoot, 'cold-0'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'))
  .reduce((n, f) => n + fs.readFileSync(path.join(outRoot, 'cold-0', f), 'utf8').split(/^---$/m).length, 0);

const warm: number[] = [];
for (let i = 0; i < runs * 4; i++) {
  const start = performance.now();
  for (const app of buildApps(env, path.join(outRoot, `warm-${i}`))) app.synth();
  warm.push(performance.now() - start);
}
fs.rmSync(outRoot, { recursive: true, force: true });

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`full GKE stack: ${objects} objects`);
console.log(`cold synth (new process, ts-node transpile-only), median of ${runs}: ${secs(median(cold))} (min ${secs(Math.min(...cold))}, max ${secs(Math.max(...cold))}) — target ≤ 3 s: ${median(cold) <= 3000 ? 'met' : 'MISSED'}`);
console.log(`cdk8s synth CLI end to end, median of ${runs}: ${secs(median(cli))} (min ${secs(Math.min(...cli))}, max ${secs(Math.max(...cli))}) — target ≤ 3 s: ${median(cli) <= 3000 ? 'met' : 'MISSED'}`);
console.log(`warm synth (in process), median of ${warm.length}: ${median(warm).toFixed(1)} ms`);
console.log(`cold / warm: ${(median(cold) / median(warm)).toFixed(0)}×`);
