import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { InferenceEngine, InferenceNetworkPolicy, InferenceServer, InferenceServiceType, TRITON_IMAGE } from '../constructs';
import { ParamSpecs } from './params';

/**
 * The parameters of the 2018 ksonnet prototype `io.ksonnet.pkg.nvidia-inference-server`, with its names and defaults.
 */
export const NVIDIA_INFERENCE_SERVER_PARAMS: ParamSpecs = {
  name: { type: 'string', description: 'name of the Service; the Deployment is <name>-v1' },
  image: {
    type: 'string',
    description: 'server image you built from the Dockerfile and pushed (no registry publishes one), e.g. '
      + `$REGION-docker.pkg.dev/$PROJECT/$REPO/inference-server:0.1.0 (docs/deploy.md, step 3); engine triton: defaults to ${TRITON_IMAGE}`,
    optionalWhen: { param: 'engine', equals: 'triton' },
  },
  modelRepositoryPath: { type: 'string', description: 'model repository: /path in the pod or gs://bucket/path' },
  namespace: { type: 'string', default: 'default', description: 'namespace of every object' },
  numGpus: { type: 'number', default: 1, description: 'GPUs per pod' },
  serviceType: { type: 'string', default: 'LoadBalancer', description: 'ClusterIP, NodePort or LoadBalancer' },
  engine: { type: 'string', default: 'builtin', description: 'builtin (this repository\'s server) or triton (NVIDIA\'s Triton from nvcr.io)' },
};

export interface NvidiaInferenceServerChartProps {
  readonly name: string;
  /** @default - required with the builtin engine; the pinned Triton image with `engine: 'triton'` */
  readonly image?: string;
  readonly modelRepositoryPath: string;
  /** @default 'builtin' */
  readonly engine?: InferenceEngine;
  /** @default 'default' */
  readonly namespace?: string;
  /** @default 1 */
  readonly numGpus?: number;
  /** @default 'LoadBalancer' */
  readonly serviceType?: InferenceServiceType;
}

/**
 * The 2018 prototype's objects, modernised: a Service with ports http/grpc/metrics-inference-server selecting app=<name>,
 * and an apps/v1 Deployment <name>-v1 (labels app, version=v1) pulling with the `ngc` secret, probing the v2 health
 * URLs with a startup probe for slow model loads, limiting nvidia.com/gpu to numGpus and running as uid 1000, now under
 * the Pod Security "restricted" profile. Adds what a current cluster expects: a ServiceAccount, a metrics Service, a
 * NetworkPolicy (clients on 8000/8001, GKE's managed Prometheus collectors on 8002), and the admin endpoints (shared
 * memory, model config and repository, statistics, trace, logging) behind a key from the Secret `<name>-admin-key`;
 * client shared memory off. `engine: 'triton'` runs NVIDIA's Triton from its NGC image instead, as the 2018 prototype
 * did (docs/engines.md).
 */
export class NvidiaInferenceServerChart extends Chart {
  public readonly server: InferenceServer;

  constructor(scope: Construct, id: string, props: NvidiaInferenceServerChartProps) {
    const namespace = props.namespace ?? 'default';
    super(scope, id, { namespace, disableResourceNameHashes: true });
    this.server = new InferenceServer(this, 'Server', {
      name: props.name,
      namespace,
      engine: props.engine,
      image: props.image || undefined,
      modelRepositories: [props.modelRepositoryPath],
      numGpus: props.numGpus ?? 1,
      serviceType: props.serviceType ?? 'LoadBalancer',
      imagePullSecrets: ['ngc'],
    });
    new InferenceNetworkPolicy(this, 'NetworkPolicy', { server: this.server });
  }
}
