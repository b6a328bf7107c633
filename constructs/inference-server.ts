import { Chart, Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import {
  DEFAULT_PORTS, gcsBucketNameProblem, ModelControlMode, PORT_NAMES, PROBE_PATHS, SERVER_DEFAULTS, SERVER_UID, WRITABLE_PATHS,
} from '../server/contract';
import { ADMIN_GROUPS, ADMIN_KEY_ENV, AdminKey, adminKeyErrors } from './admin-key';
import { engineContainer, engineErrors, InferenceEngine, TRITON_IMAGE } from './engines/engine';
import { GpuSharing, gpuSharingPodErrors, gpuSharingPodSpec } from './gpu-sharing';
import { AcceleratorType, isAcceleratorType, isDnsLabel, NVIDIA_GPU_RESOURCE } from './gke';

/** How the Service is exposed (the 2018 prototype's `serviceType`). */
export type InferenceServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** CPU, memory and disk the server container asks for. Values are Kubernetes quantities. */
export interface InferenceServerResources {
  /** @default '2' */
  readonly cpuRequest?: string;
  /** No CPU limit by default: a throttled event loop shows up as tail latency. @default - none */
  readonly cpuLimit?: string;
  /** @default '8Gi' */
  readonly memoryRequest?: string;
  /** @default - the memory request (Guaranteed memory, so the OOM killer picks other pods first) */
  readonly memoryLimit?: string;
}

export interface InferenceServerProps {
  /** Name of the Service; the Deployment is `<name>-<version>` as in the 2018 prototype. */
  readonly name: string;
  /** @default - the chart's namespace */
  readonly namespace?: string;
  /**
   * Which server runs: this repository's (`builtin`) or NVIDIA's Triton (`triton`, from its NGC image). Both take the
   * same props; one that an engine cannot honour fails validation naming the prop and the engine (docs/engines.md).
   * @default 'builtin'
   */
  readonly engine?: InferenceEngine;
  /**
   * The server image. Required for the builtin engine: no registry publishes one; build it from the repository's
   * Dockerfile and push it to a registry the cluster can pull from (see IMAGE_REQUIRED_HINT).
   * @default - builtin: none (required); triton: TRITON_IMAGE (nvcr.io/nvidia/tritonserver, the release in TRITON_RELEASE)
   */
  readonly image?: string;
  /** @default 'IfNotPresent' */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Secrets used to pull the image, e.g. the NGC secret `ngc`. @default [] */
  readonly imagePullSecrets?: string[];
  /** Model repositories: absolute paths inside the pod or `gs://bucket/path`. One `--model-repository` each. */
  readonly modelRepositories: string[];
  /** @default 'none' (the server's default: load everything at start) */
  readonly modelControlMode?: ModelControlMode;
  /** Only with `modelControlMode: 'poll'`. @default 15 (the server's default) */
  readonly repositoryPollSecs?: number;
  /** GPUs per pod (`nvidia.com/gpu` limit). 0 runs on CPU nodes. @default 1 */
  readonly numGpus?: number;
  /** Pins pods to nodes of this GPU type with a nodeSelector. @default - any GPU node (node affinity on the label's presence) */
  readonly acceleratorType?: AcceleratorType;
  /**
   * Run on shared or partitioned GPUs: the node pool's settings (GpuNodePool `gpuSharing`), selected with GKE's node
   * labels. numGpus must be 1. @default - whole GPUs
   */
  readonly gpuSharing?: GpuSharing;
  /** @default 1 */
  readonly replicas?: number;
  /** Label `version` and the Deployment's name suffix, as in the prototype. @default 'v1' */
  readonly version?: string;
  /** @default - see InferenceServerResources */
  readonly resources?: InferenceServerResources;
  /**
   * Size of the memory-backed /dev/shm (tensors shared with backend processes, Python backend stubs). Not with MPS
   * sharing, where pods use the node's IPC namespace and /dev/shm. @default '1Gi'
   */
  readonly shmSize?: string;
  /** Size of the model cache for gs:// repositories. @default '20Gi' */
  readonly modelCacheSize?: string;
  /** Longest time a pod may take to load its models before the kubelet restarts it. @default Duration.minutes(15) */
  readonly maxStartupTime?: Duration;
  /** Seconds the server drains in-flight requests after SIGTERM (`--exit-timeout-secs`). @default 30 */
  readonly exitTimeoutSecs?: number;
  /** Seconds to keep serving after termination starts, while load balancers drop the endpoint. @default 5 */
  readonly preStopSleepSecs?: number;
  /** @default 'LoadBalancer' (the prototype's default) */
  readonly serviceType?: InferenceServiceType;
  /** A ClusterIP Service `<name>-metrics` with only the metrics port, for Prometheus. @default true */
  readonly metricsService?: boolean;
  /** `prometheus.io/*` scrape annotations on the pods. @default true */
  readonly prometheusAnnotations?: boolean;
  /** Use an existing ServiceAccount (e.g. GcsModelRepository's). @default - a ServiceAccount `<name>` is created */
  readonly serviceAccountName?: string;
  /** `--log-verbose` level. @default 0 */
  readonly logVerbose?: number;
  /**
   * Bytes of Triton's response cache (`--cache-config=local,size=N`), for models whose config says
   * `response_cache { enable: true }`. It lives in the server's memory: count it in `resources.memoryRequest`.
   * @default - no response cache
   */
  readonly responseCacheByteSize?: number;
  /**
   * Admin endpoints (shared memory, model config, model repository, statistics, trace, logging) need a key from a
   * Secret, on HTTP and gRPC. `false` leaves every endpoint open. @default {} (locked down, Secret `<name>-admin-key`)
   */
  readonly adminKey?: AdminKey | false;
  /** Let clients register shared memory regions (`--allow-client-shm`). @default false */
  readonly allowClientSharedMemory?: boolean;
  /** Flags appended after the generated ones. @default [] */
  readonly extraArgs?: string[];
  /** @default {} */
  readonly env?: Record<string, string>;
  /** Extra volumes, e.g. a PersistentVolumeClaim holding a local model repository. @default [] */
  readonly volumes?: k8s.Volume[];
  /** Mounts for `volumes`. @default [] */
  readonly volumeMounts?: k8s.VolumeMount[];
}

const SERVER_CONTAINER = 'inference-server';

/** What to do when no image is given: nobody publishes the server image, so it is built from the Dockerfile. */
export const IMAGE_REQUIRED_HINT = 'no registry publishes the server image: build it from the Dockerfile and push it, e.g. '
  + 'docker build -t $REGION-docker.pkg.dev/$PROJECT/$REPO/inference-server:0.1.0 . && '
  + 'docker push $REGION-docker.pkg.dev/$PROJECT/$REPO/inference-server:0.1.0 (docs/deploy.md, step 3), then pass that reference';
/**
 * Container port names are IANA service names (at most 15 characters), so the prototype's longer names
 * ("http-inference-server") go on the Service ports, which target these.
 */
export const CONTAINER_PORT_NAMES = { http: 'http', grpc: 'grpc', metrics: 'metrics' } as const;
/** Grace period beyond the preStop sleep and the drain: closing the frontends and unloading models. */
const SHUTDOWN_MARGIN_SECS = 15;
const PROBE_PERIOD_SECS = 5;
const STARTUP_PERIOD_SECS = 10;

/**
 * The inference server: a Deployment, its Service with the prototype's port names, a metrics Service and a ServiceAccount.
 *
 * Built on the k8s API classes bundled with cdk8s-plus-34 rather than its Deployment L2: the L2 cannot express
 * `nvidia.com/gpu` limits (a JSON patch of a quantity is re-serialized by the L1 and comes out `null`), seccomp profiles
 * or dropping ALL capabilities, all of which the Pod Security "restricted" profile and GPUs need.
 */
export class InferenceServer extends Construct {
  public readonly name: string;
  public readonly namespace?: string;
  public readonly deploymentName: string;
  public readonly serviceName: string;
  /** Undefined when `metricsService` is false. */
  public readonly metricsServiceName?: string;
  public readonly serviceAccountName: string;
  /** Labels the Deployment selects its pods by. */
  public readonly selectorLabels: Record<string, string>;
  /** Labels of the metrics Service, for a ServiceMonitor's selector. */
  public readonly metricsServiceLabels: Record<string, string>;
  public readonly numGpus: number;
  public readonly engine: InferenceEngine;
  /** The container's command; undefined runs the image's entrypoint. */
  public readonly command?: string[];
  /** The server's command-line arguments. */
  public readonly args: string[];
  /** The Secret and key the admin key comes from; undefined when adminKey is false. */
  public readonly adminKeySecret?: { readonly name: string; readonly key: string; readonly header: string };
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: InferenceServerProps) {
    super(scope, id);
    const version = props.version ?? 'v1';
    const numGpus = props.numGpus ?? 1;
    const replicas = props.replicas ?? 1;
    const exitTimeoutSecs = props.exitTimeoutSecs ?? SERVER_DEFAULTS.exitTimeoutSecs;
    const preStopSleepSecs = props.preStopSleepSecs ?? 5;
    const maxStartupSecs = (props.maxStartupTime ?? Duration.minutes(15)).toSeconds();
    const controlMode = props.modelControlMode ?? SERVER_DEFAULTS.modelControlMode;
    const resources = props.resources ?? {};
    const engine = props.engine ?? 'builtin';
    const mps = props.gpuSharing?.strategy === 'MPS';

    this.name = props.name;
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this.numGpus = numGpus;
    this.engine = engine;
    this.deploymentName = `${props.name}-${version}`;
    this.serviceName = props.name;
    this.metricsServiceName = (props.metricsService ?? true) ? `${props.name}-metrics` : undefined;
    this.serviceAccountName = props.serviceAccountName ?? props.name;
    // The prototype's labels; `app` alone selects for the Service so a v2 Deployment can join it.
    this.selectorLabels = { app: props.name, version };
    const commonLabels = { 'app.kubernetes.io/name': 'inference-server', 'app.kubernetes.io/instance': props.name };
    this.metricsServiceLabels = { ...commonLabels, 'app.kubernetes.io/component': 'metrics' };
    const metadata = (name: string, labels: Record<string, string> = {}) => ({
      name, namespace: props.namespace, labels: { ...commonLabels, app: props.name, ...labels },
    });

    this.node.addValidation({
      validate: () => [
        ...validateProps(props, numGpus, replicas, maxStartupSecs),
        ...engineErrors(props, engine),
        ...gpuSharingPodErrors(props.gpuSharing, props.acceleratorType, numGpus, props.shmSize),
      ],
    });

    const adminKey = props.adminKey === false ? undefined : props.adminKey ?? {};
    const adminGroups = adminKey?.groups ?? ADMIN_GROUPS;
    if (adminKey) {
      this.adminKeySecret = { name: adminKey.secretName ?? `${props.name}-admin-key`, key: adminKey.secretKey ?? 'admin-key', header: adminKey.header ?? 'admin-key' };
    }
    const secret = this.adminKeySecret;
    // `$(VAR)` is expanded by the kubelet from the container's env: the key itself never appears in the manifest.
    const restriction = secret ? `${adminGroups.join(',')}:${secret.header}=$(${ADMIN_KEY_ENV})` : undefined;

    const container = engineContainer(engine, {
      ...props, modelControlMode: controlMode, exitTimeoutSecs, numGpus, restriction,
      allowClientShm: props.allowClientSharedMemory ?? false, extraArgs: props.extraArgs ?? [],
    });
    this.command = container.command;
    this.args = container.args;

    if (props.serviceAccountName === undefined) {
      new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: metadata(this.serviceAccountName),
        automountServiceAccountToken: false,
      });
    }

    const gpuQuantity = { [NVIDIA_GPU_RESOURCE]: k8s.Quantity.fromNumber(numGpus) };
    const memoryRequest = resources.memoryRequest ?? '8Gi';
    const limits: Record<string, k8s.Quantity> = {
      memory: k8s.Quantity.fromString(resources.memoryLimit ?? memoryRequest),
      ...(resources.cpuLimit ? { cpu: k8s.Quantity.fromString(resources.cpuLimit) } : {}),
      ...(numGpus > 0 ? gpuQuantity : {}),
    };
    const requests: Record<string, k8s.Quantity> = {
      cpu: k8s.Quantity.fromString(resources.cpuRequest ?? '2'),
      memory: k8s.Quantity.fromString(memoryRequest),
      ...(numGpus > 0 ? gpuQuantity : {}),
    };

    const env: k8s.EnvVar[] = [
      ...(secret ? [{ name: ADMIN_KEY_ENV, valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } } }] : []),
      ...Object.entries({ ...container.env, ...props.env }).map(([name, value]) => ({ name, value })),
    ];
    const httpGet = (path: string): k8s.HttpGetAction => ({ path, port: k8s.IntOrString.fromString(CONTAINER_PORT_NAMES.http) });
    const volumes: k8s.Volume[] = [
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
      ...(mps ? [] : [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(props.shmSize ?? '1Gi') } }]),
      { name: 'model-cache', emptyDir: { sizeLimit: k8s.Quantity.fromString(props.modelCacheSize ?? '20Gi') } },
      ...(props.volumes ?? []),
    ];
    const volumeMounts: k8s.VolumeMount[] = [
      { name: 'tmp', mountPath: WRITABLE_PATHS.tmp },
      ...(mps ? [] : [{ name: 'dshm', mountPath: WRITABLE_PATHS.shm }]),
      { name: 'model-cache', mountPath: WRITABLE_PATHS.modelCache },
      ...(props.volumeMounts ?? []),
    ];

    const gpuScheduling = numGpus === 0 ? {} : gpuSharingPodSpec(props.acceleratorType, props.gpuSharing);

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: metadata(this.deploymentName, { version }),
      spec: {
        replicas,
        selector: { matchLabels: this.selectorLabels },
        // Never drop below the wanted capacity while a slow-loading replacement starts.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: {
            labels: { ...commonLabels, ...this.selectorLabels },
            annotations: (props.prometheusAnnotations ?? true) ? {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(DEFAULT_PORTS.metrics),
              'prometheus.io/path': PROBE_PATHS.metrics,
            } : undefined,
          },
          spec: {
            serviceAccountName: this.serviceAccountName,
            // The server needs no Kubernetes API access; Workload Identity goes through the metadata server.
            automountServiceAccountToken: false,
            imagePullSecrets: props.imagePullSecrets?.length ? props.imagePullSecrets.map((name) => ({ name })) : undefined,
            // preStop sleep, then stop() waits up to exitTimeoutSecs for in-flight requests; the margin covers closing
            // the frontends and unloading models, which the server bounds by the same deadline plus a few seconds.
            terminationGracePeriodSeconds: preStopSleepSecs + exitTimeoutSecs + SHUTDOWN_MARGIN_SECS,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: SERVER_UID,
              runAsGroup: SERVER_UID,
              fsGroup: SERVER_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            ...gpuScheduling,
            containers: [{
              name: SERVER_CONTAINER,
              image: props.image?.trim() || (engine === 'triton' ? TRITON_IMAGE : ''),
              command: this.command,
              imagePullPolicy: props.imagePullPolicy ?? 'IfNotPresent',
              args: this.args,
              env: env.length > 0 ? env : undefined,
              ports: (['http', 'grpc', 'metrics'] as const).map((key) => ({
                name: CONTAINER_PORT_NAMES[key], containerPort: DEFAULT_PORTS[key], protocol: 'TCP',
              })),
              resources: { limits, requests },
              // Models load before the HTTP frontend answers: the startup probe allows for that, then liveness takes over.
              startupProbe: {
                httpGet: httpGet(PROBE_PATHS.live),
                periodSeconds: STARTUP_PERIOD_SECS,
                failureThreshold: Math.max(1, Math.ceil(maxStartupSecs / STARTUP_PERIOD_SECS)),
              },
              livenessProbe: { httpGet: httpGet(PROBE_PATHS.live), initialDelaySeconds: 5, periodSeconds: PROBE_PERIOD_SECS, failureThreshold: 3 },
              readinessProbe: { httpGet: httpGet(PROBE_PATHS.ready), initialDelaySeconds: 5, periodSeconds: PROBE_PERIOD_SECS, failureThreshold: 3 },
              // Let endpoint removal reach the load balancers before the server starts draining.
              lifecycle: preStopSleepSecs > 0 ? { preStop: { exec: { command: ['sleep', String(preStopSleepSecs)] } } } : undefined,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: SERVER_UID,
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts,
            }],
            volumes,
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: metadata(this.serviceName),
      spec: {
        type: props.serviceType ?? 'LoadBalancer',
        selector: { app: props.name },
        ports: (['http', 'grpc', 'metrics'] as const).map((key) => ({
          name: PORT_NAMES[key], port: DEFAULT_PORTS[key], targetPort: k8s.IntOrString.fromString(CONTAINER_PORT_NAMES[key]), protocol: 'TCP',
        })),
      },
    });

    if (this.metricsServiceName) {
      new k8s.KubeService(this, 'MetricsService', {
        metadata: { ...metadata(this.metricsServiceName), labels: { ...this.metricsServiceLabels, app: props.name } },
        spec: {
          type: 'ClusterIP',
          selector: { app: props.name },
          ports: [{
            name: PORT_NAMES.metrics, port: DEFAULT_PORTS.metrics, targetPort: k8s.IntOrString.fromString(CONTAINER_PORT_NAMES.metrics), protocol: 'TCP',
          }],
        },
      });
    }
  }
}

function validateProps(props: InferenceServerProps, numGpus: number, replicas: number, maxStartupSecs: number): string[] {
  const errors: string[] = [];
  if ((props.engine ?? 'builtin') === 'builtin' && (props.image ?? '').trim() === '') errors.push(`image is required: ${IMAGE_REQUIRED_HINT}`);
  else if (props.image !== undefined && /\s/.test(props.image)) errors.push(`image "${props.image}" must be an image reference without spaces`);
  // `<name>-metrics` must stay a valid Service name too.
  if (!isDnsLabel(props.name, 63 - '-metrics'.length)) {
    errors.push(`name "${props.name}" must be lowercase letters, digits and '-', start with a letter and be at most 55 characters`);
  }
  if (props.modelRepositories.length === 0) {
    errors.push('modelRepositories is empty: give at least one path or gs:// URL holding the models');
  }
  for (const repo of props.modelRepositories) {
    const bucket = /^gs:\/\/([^/]*)/.exec(repo)?.[1];
    const bucketProblem = bucket !== undefined ? gcsBucketNameProblem(bucket) : undefined;
    if (bucketProblem) {
      errors.push(`model repository "${repo}": "${bucket}" is not a valid Cloud Storage bucket name: ${bucketProblem}`);
    } else if (!repo.startsWith('/') && bucket === undefined) {
      errors.push(`model repository "${repo}" must be an absolute path inside the pod or a gs://bucket/path URL`);
    }
  }
  if (props.serviceType !== undefined && !['ClusterIP', 'NodePort', 'LoadBalancer'].includes(props.serviceType)) {
    errors.push(`serviceType "${props.serviceType}" must be ClusterIP, NodePort or LoadBalancer`);
  }
  if (!Number.isInteger(numGpus) || numGpus < 0) errors.push(`numGpus must be a whole number ≥ 0, got ${numGpus}`);
  if (!Number.isInteger(replicas) || replicas < 0) errors.push(`replicas must be a whole number ≥ 0, got ${replicas}`);
  if (props.acceleratorType !== undefined && !isAcceleratorType(props.acceleratorType)) {
    errors.push(`acceleratorType "${props.acceleratorType}" is not a GKE GPU type`);
  }
  if (props.acceleratorType !== undefined && numGpus === 0) {
    errors.push('acceleratorType is set but numGpus is 0: request at least one GPU or drop acceleratorType');
  }
  if (props.responseCacheByteSize !== undefined && (!Number.isSafeInteger(props.responseCacheByteSize) || props.responseCacheByteSize < 1)) {
    errors.push(`responseCacheByteSize must be a whole number of bytes ≥ 1, got ${props.responseCacheByteSize}`);
  }
  if (props.repositoryPollSecs !== undefined && props.modelControlMode !== 'poll') {
    errors.push('repositoryPollSecs only applies with modelControlMode "poll"');
  }
  if (maxStartupSecs <= 0) errors.push('maxStartupTime must be longer than zero');
  const exit = props.exitTimeoutSecs;
  if (exit !== undefined && (!Number.isInteger(exit) || exit < 0)) errors.push(`exitTimeoutSecs must be a whole number ≥ 0, got ${exit}`);
  const sleep = props.preStopSleepSecs;
  if (sleep !== undefined && (!Number.isInteger(sleep) || sleep < 0)) errors.push(`preStopSleepSecs must be a whole number ≥ 0, got ${sleep}`);
  if (props.adminKey) errors.push(...adminKeyErrors(props.adminKey));
  if (props.adminKey !== false && props.env && ADMIN_KEY_ENV in props.env) errors.push(`env must not set ${ADMIN_KEY_ENV}: it carries the admin key from its Secret`);
  const mounts = (props.volumeMounts ?? []).map((m) => m.name);
  const volumes = new Set((props.volumes ?? []).map((v) => v.name));
  for (const m of mounts) if (!volumes.has(m)) errors.push(`volumeMount "${m}" has no matching entry in volumes`);
  return errors;
}

