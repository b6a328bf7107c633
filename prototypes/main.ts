/**
 * The cdk8s app that `npm run synth` runs. It synthesizes one prototype into dist/manifests/ (a folder of its own, so
 * that `kubectl apply` never picks up tsc's output in dist/), one sub-folder per `kubectl apply`:
 *   workload/  what runs in the GPU cluster (both prototypes)
 *   infra/     gke-stack's Config Connector objects, applied where Config Connector runs
 * Synthesis goes to a staging folder that replaces dist/manifests only when every chart validated and was written, so a
 * failed synth leaves the previous manifests in place.
 *
 * Parameters come from prototypes/params.yaml (or the file INFERENCE_PARAMS_FILE names), then INFERENCE_* environment
 * variables (numGpus ← INFERENCE_NUM_GPUS); `prototype:` in the file or INFERENCE_PROTOTYPE picks the prototype.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { InferenceEngine, InferenceServiceType } from '../constructs';
import { GKE_STACK_PARAMS, GkeStack, GkeStackProps } from './gke-stack';
import { NVIDIA_INFERENCE_SERVER_PARAMS, NvidiaInferenceServerChart } from './nvidia-inference-server';
import { ENV_PREFIX, ParamSpecs, readParamsFile, resolveParams } from './params';

export const PROTOTYPES = ['nvidia-inference-server', 'gke-stack'] as const;
export type PrototypeName = (typeof PROTOTYPES)[number];

/** Each prototype's parameters: one params file may carry several prototypes' keys. */
export const PROTOTYPE_PARAMS: Record<PrototypeName, ParamSpecs> = {
  'nvidia-inference-server': NVIDIA_INFERENCE_SERVER_PARAMS,
  'gke-stack': GKE_STACK_PARAMS,
};

/** The sub-folders of the output, one per `kubectl apply`. */
export const OUTPUT_FOLDERS = { infra: 'infra', workload: 'workload' } as const;

/** Builds the apps of the chosen prototype (one per output folder under `outdir`); throws with every parameter problem listed. */
export function buildApps(env: NodeJS.ProcessEnv = process.env, outdir = env.CDK8S_OUTDIR ?? 'dist/manifests', warn: (message: string) => void = console.warn): App[] {
  const file = readParamsFile(env);
  const prototype = (env[`${ENV_PREFIX}PROTOTYPE`] || file.prototype || 'nvidia-inference-server') as PrototypeName;
  if (!PROTOTYPES.includes(prototype)) throw new Error(`unknown prototype "${prototype}"; use one of ${PROTOTYPES.join(', ')}`);
  const others = Object.fromEntries(Object.entries(PROTOTYPE_PARAMS).filter(([name]) => name !== prototype));
  const workload = new App({ outdir: path.join(outdir, OUTPUT_FOLDERS.workload) });
  if (prototype === 'nvidia-inference-server') {
    const p = resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, file, env, others, warn);
    new NvidiaInferenceServerChart(workload, 'nvidia-inference-server', {
      name: p.name as string,
      image: p.image as string | undefined,
      modelRepositoryPath: p.modelRepositoryPath as string,
      engine: p.engine as InferenceEngine,
      namespace: p.namespace as string,
      numGpus: p.numGpus as number,
      serviceType: p.serviceType as InferenceServiceType,
    });
    return [workload];
  }
  const p = resolveParams(GKE_STACK_PARAMS, file, env, others, warn);
  const infra = new App({ outdir: path.join(outdir, OUTPUT_FOLDERS.infra) });
  // Types were checked by resolveParams; enum values (acceleratorType, driverVersion, ...) by the constructs' validation.
  new GkeStack({ infra, workload }, 'gke-stack', p as unknown as GkeStackProps);
  return [infra, workload];
}

/**
 * Synthesizes into `outdir`, replacing what was there only once every app validated and was written: a failed synth
 * (bad parameter, validation error) leaves the previous manifests untouched.
 */
export function synthesize(env: NodeJS.ProcessEnv = process.env, outdir = env.CDK8S_OUTDIR ?? 'dist/manifests', warn: (message: string) => void = console.warn): string[] {
  const parent = path.dirname(path.resolve(outdir));
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(outdir)}-staging-`));
  try {
    for (const app of buildApps(env, staging, warn)) app.synth();
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.renameSync(staging, outdir);
  return fs.readdirSync(outdir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(outdir, f));
}

if (require.main === module) {
  try {
    for (const file of synthesize()) console.log(file);
  } catch (e) {
    // Validation and parameter errors are for people: no stack trace.
    console.error((e as Error).message);
    process.exit(1);
  }
}
