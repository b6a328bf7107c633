/**
 * The deploy entry point's flags and the Kubeflow component inputs/outputs they map to. component.yaml and
 * component-v2.yaml are written by hand from this table; test/kubeflow checks that they still agree with it.
 */
export interface DeployFlag {
  readonly flag: string;
  /** KFP input name (snake_case) or output name. */
  readonly kfpName: string;
  readonly type: 'string' | 'integer';
  /** Absent: required. */
  readonly default?: string;
  readonly help: string;
  /** Output path flags: the component passes {outputPath: ...}. */
  readonly output?: boolean;
  /** Not a component input: only for running the entry point by hand or in tests. */
  readonly internal?: boolean;
}

export const DEPLOY_FLAGS: readonly DeployFlag[] = [
  { flag: '--model-repository', kfpName: 'model_repository_uri', type: 'string', help: 'Model repository: gs://bucket/path or an absolute path in the pod.' },
  { flag: '--name', kfpName: 'name', type: 'string', help: 'Name of the Service; the Deployment is <name>-v1.' },
  { flag: '--namespace', kfpName: 'namespace', type: 'string', default: 'default', help: 'Namespace to deploy into.' },
  {
    flag: '--image', kfpName: 'image', type: 'string',
    help: 'Inference server image, built from the Dockerfile and pushed by you (nobody publishes one); the component also runs this step in it.',
  },
  { flag: '--num-gpus', kfpName: 'num_gpus', type: 'integer', default: '1', help: 'GPUs per pod (0 runs on CPU nodes).' },
  { flag: '--accelerator', kfpName: 'accelerator', type: 'string', default: '', help: "GKE accelerator type, e.g. nvidia-l4; '' for any GPU node." },
  { flag: '--min-replicas', kfpName: 'min_replicas', type: 'integer', default: '1', help: 'Replicas (the HPA minimum when max > min).' },
  { flag: '--max-replicas', kfpName: 'max_replicas', type: 'integer', default: '1', help: 'Above min-replicas, an HPA on the pending-requests gauge (Managed Service for Prometheus) scales between them.' },
  { flag: '--service-type', kfpName: 'service_type', type: 'string', default: 'LoadBalancer', help: 'ClusterIP, NodePort or LoadBalancer.' },
  { flag: '--service-account', kfpName: 'service_account', type: 'string', default: '', help: "Existing Kubernetes ServiceAccount for the pods (e.g. one bound to a Google service account with Workload Identity); '' creates <name>." },
  {
    flag: '--admin-key-secret', kfpName: 'admin_key_secret', type: 'string', default: '',
    help: "Secret (data key admin-key) whose value unlocks the server's admin endpoints; '' means <name>-admin-key; none leaves them open.",
  },
  {
    flag: '--engine', kfpName: 'engine', type: 'string', default: 'builtin',
    help: "builtin (this repository's server, the image input) or triton (NVIDIA's Triton Inference Server from nvcr.io/nvidia/tritonserver:26.07-py3, pulled with the ngc secret when present; this step still runs in the image input).",
  },
  { flag: '--timeout-seconds', kfpName: 'timeout_seconds', type: 'integer', default: '900', help: 'How long to wait for the Deployment to become available (and the load balancer address).' },
  { flag: '--output-endpoint-path', kfpName: 'endpoint', type: 'string', output: true, default: '', help: 'File to write the HTTP endpoint to (http://host:8000).' },
  { flag: '--output-status-path', kfpName: 'status', type: 'string', output: true, default: '', help: 'File to write the deployment status (JSON) to.' },
  { flag: '--poll-interval-seconds', kfpName: 'poll_interval_seconds', type: 'string', default: '5', internal: true, help: 'Seconds between status checks.' },
  { flag: '--field-manager', kfpName: 'field_manager', type: 'string', default: 'kubeflow-inference-server-deploy', internal: true, help: 'Server-side apply field manager.' },
  { flag: '--kubeconfig', kfpName: 'kubeconfig', type: 'string', default: '', internal: true, help: 'Kubeconfig file; default: in-cluster config (or KUBECONFIG / ~/.kube/config outside a cluster).' },
  { flag: '--dry-run', kfpName: 'dry_run', type: 'string', default: 'false', internal: true, help: 'true: print the manifests as JSON and apply nothing.' },
];
