/**
 * The cdk8s app that `npx cdk8s synth` runs (see cdk8s.yaml). It synthesizes one prototype into dist/manifests/,
 * a folder of its own so that `kubectl apply -f dist/manifests` never picks up tsc's output in dist/.
 *
 * Parameters come from prototypes/params.yaml (or the file INFERENCE_PARAMS_FILE names), then INFERENCE_* environment
 * variables (numGpus ← INFERENCE_NUM_GPUS); `prototype:` in the file or INFERENCE_PROTOTYPE picks the prototype.
 */
import { App } from 'cdk8s';
import { InferenceServiceType } from '../constructs';
import { GKE_STACK_PARAMS, GkeStackChart, GkeStackChartProps } from './gke-stack';
import { NVIDIA_INFERENCE_SERVER_PARAMS, NvidiaInferenceServerChart } from './nvidia-inference-server';
import { ENV_PREFIX, ParamSpecs, readParamsFile, resolveParams } from './params';

export const PROTOTYPES = ['nvidia-inference-server', 'gke-stack'] as const;
export type PrototypeName = (typeof PROTOTYPES)[number];

/** Each prototype's parameters: one params file may carry several prototypes' keys. */
export const PROTOTYPE_PARAMS: Record<PrototypeName, ParamSpecs> = {
  'nvidia-inference-server': NVIDIA_INFERENCE_SERVER_PARAMS,
  'gke-stack': GKE_STACK_PARAMS,
};

/** Builds the app for the chosen prototype; throws with every parameter problem listed. */
export function buildApp(env: NodeJS.ProcessEnv = process.env, outdir = env.CDK8S_OUTDIR ?? 'dist/manifests'): App {
  const file = readParamsFile(env);
  const prototype = (env[`${ENV_PREFIX}PROTOTYPE`] || file.prototype || 'nvidia-inference-server') as PrototypeName;
  if (!PROTOTYPES.includes(prototype)) throw new Error(`unknown prototype "${prototype}"; use one of ${PROTOTYPES.join(', ')}`);
  const app = new App({ outdir });
  const others = Object.fromEntries(Object.entries(PROTOTYPE_PARAMS).filter(([name]) => name !== prototype));
  if (prototype === 'nvidia-inference-server') {
    const p = resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, file, env, others);
    new NvidiaInferenceServerChart(app, 'nvidia-inference-server', {
      name: p.name as string,
      image: p.image as string,
      modelRepositoryPath: p.modelRepositoryPath as string,
      namespace: p.namespace as string,
      numGpus: p.numGpus as number,
      serviceType: p.serviceType as InferenceServiceType,
    });
  } else {
    const p = resolveParams(GKE_STACK_PARAMS, file, env, others);
    // Types were checked by resolveParams; enum values (acceleratorType, driverVersion, ...) by the constructs' validation.
    new GkeStackChart(app, 'gke-stack', p as unknown as GkeStackChartProps);
  }
  return app;
}

if (require.main === module) {
  try {
    buildApp().synth();
  } catch (e) {
    // Validation and parameter errors are for people: no stack trace.
    console.error((e as Error).message);
    process.exit(1);
  }
}
