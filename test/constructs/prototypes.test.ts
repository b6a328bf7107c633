import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { GKE_STACK_PARAMS, GkeStack, GkeStackProps } from '../../prototypes/gke-stack';
import { buildApps, synthesize } from '../../prototypes/main';
import { NVIDIA_INFERENCE_SERVER_PARAMS, NvidiaInferenceServerChart } from '../../prototypes/nvidia-inference-server';
import { envName, resolveParams } from '../../prototypes/params';
import { find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const stackProps: GkeStackProps = {
  name: 'isrv', image: 'us-docker.pkg.dev/my-project/repo/inference-server:0.1.0', projectId: 'my-project', location: 'us-central1-a',
  clusterName: 'inference', bucketName: 'my-models',
};

/** The stack's charts, each in an app of its own as main.ts makes them. */
function stack(props: Partial<GkeStackProps> = {}) {
  const s = new GkeStack({ infra: Testing.app(), workload: Testing.app() }, 'stack', { ...stackProps, ...props });
  const charts = [s.infra, s.workload, s.metricsAdapter].filter((c): c is Chart => c !== undefined);
  const errors = charts.flatMap(validationErrors);
  const none: Manifest[] = [];
  // With validation errors nothing is synthesized, as `npm run synth` would.
  return {
    stack: s,
    errors,
    infra: errors.length ? none : synth(s.infra),
    workload: errors.length ? none : synth(s.workload),
    adapter: errors.length || !s.metricsAdapter ? none : synth(s.metricsAdapter),
  };
}

describe('nvidia-inference-server prototype', () => {
  test('keeps the ksonnet parameter names and defaults', () => {
    expect(Object.keys(NVIDIA_INFERENCE_SERVER_PARAMS)).toEqual(['name', 'image', 'modelRepositoryPath', 'namespace', 'numGpus', 'serviceType', 'engine']);
    const defaults = Object.fromEntries(Object.entries(NVIDIA_INFERENCE_SERVER_PARAMS).map(([k, v]) => [k, v.default]));
    expect(defaults).toEqual({ name: undefined, image: undefined, modelRepositoryPath: undefined, namespace: 'default', numGpus: 1, serviceType: 'LoadBalancer', engine: 'builtin' });
  });

  test('makes the prototype\'s Service and <name>-v1 Deployment, modernised and schema-valid', () => {
    const chart = new NvidiaInferenceServerChart(Testing.app(), 'proto', {
      name: 'tensorrt', image: 'nvcr.io/nvidia/tensorrtserver:18.08-py3', modelRepositoryPath: 'gs://bucket/repo', numGpus: 2,
    });
    const m = synth(chart);
    expect(schemaErrors(m)).toEqual([]);
    expect(m.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/tensorrt', 'Deployment/tensorrt-v1', 'Service/tensorrt', 'Service/tensorrt-metrics', 'NetworkPolicy/tensorrt',
    ]);
    // Locked down: admin endpoints behind the key in Secret tensorrt-admin-key, client shared memory off.
    const args: string[] = find(m, 'Deployment').spec.template.spec.containers[0].args;
    expect(args).toContain('--http-restricted-api=shared-memory,model-config,model-repository,statistics,trace,logging:admin-key=$(ADMIN_API_KEY)');
    expect(args).toContain('--allow-client-shm=false');
    expect(find(m, 'Deployment').spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef).toEqual({ name: 'tensorrt-admin-key', key: 'admin-key' });
    for (const o of m) expect(o.metadata.namespace).toBe('default');
    const svc = find(m, 'Service', 'tensorrt');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.selector).toEqual({ app: 'tensorrt' });
    expect(svc.spec.ports.map((p: any) => `${p.name}:${p.port}`)).toEqual(['http-inference-server:8000', 'grpc-inference-server:8001', 'metrics-inference-server:8002']);
    const d = find(m, 'Deployment');
    expect(d.metadata.labels).toMatchObject({ app: 'tensorrt', version: 'v1' });
    const pod = d.spec.template.spec;
    expect(pod.imagePullSecrets).toEqual([{ name: 'ngc' }]);
    expect(pod.securityContext.runAsUser).toBe(1000);
    expect(pod.containers[0].image).toBe('nvcr.io/nvidia/tensorrtserver:18.08-py3');
    expect(pod.containers[0].args[0]).toBe('--model-repository=gs://bucket/repo');
    expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBe(2);
  });
});

describe('gke-stack prototype', () => {
  const kinds = (m: Manifest[]) => m.map((o) => o.kind);

  test('infra/ holds only Config Connector objects; workload/ only what runs in the GPU cluster; every object schema-valid', () => {
    const { infra, workload, adapter } = stack();
    expect(schemaErrors([...infra, ...workload, ...adapter])).toEqual([]);
    expect(kinds(infra)).toEqual(['ContainerNodePool', 'StorageBucket', 'IAMServiceAccount', 'IAMPolicyMember', 'IAMPolicyMember', 'IAMPolicyMember']);
    for (const o of infra) expect(o.apiVersion).toMatch(/\.cnrm\.cloud\.google\.com\//);
    expect(kinds(workload)).toEqual([
      'ServiceAccount', 'Deployment', 'Service', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PodMonitoring', 'NetworkPolicy',
    ]);
    expect(find(workload, 'Deployment').spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef).toEqual({ name: 'isrv-admin-key', key: 'admin-key' });
    expect(stack({ adminKeySecret: 'none' }).workload.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0].env).toBeUndefined();
    expect(find(stack({ adminKeySecret: 'ops' }).workload, 'Deployment').spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name).toBe('ops');
    for (const o of [...workload, ...adapter]) expect(o.apiVersion).not.toMatch(/cnrm/);
    expect(kinds(adapter)).toContain('APIService');
    const pod = find(workload, 'Deployment').spec.template.spec;
    expect(pod.serviceAccountName).toBe('isrv');
    expect(pod.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
    expect(pod.imagePullSecrets).toBeUndefined();
    expect(pod.containers[0].image).toBe(stackProps.image);
    expect(pod.containers[0].args[0]).toBe('--model-repository=gs://my-models/model_repository');
    expect(find(workload, 'ServiceAccount', 'isrv').metadata.annotations?.['iam.gke.io/gcp-service-account']).toBe('isrv-gcs@my-project.iam.gserviceaccount.com');
  });

  test('the pool joins a gcloud-made cluster through clusterRef.external, with GKE-managed latest drivers', () => {
    const pool = find(stack().infra, 'ContainerNodePool');
    expect(pool.spec.clusterRef).toEqual({ external: 'projects/my-project/locations/us-central1-a/clusters/inference' });
    expect(pool.spec.nodeConfig.guestAccelerator[0].gpuDriverInstallationConfig).toEqual({ gpuDriverVersion: 'LATEST' });
    expect(find(stack({ clusterRef: 'name' }).infra, 'ContainerNodePool').spec.clusterRef).toEqual({ name: 'inference' });
  });

  test('createCluster puts the ContainerCluster in infra/ next to its GPU pool, kept on delete', () => {
    const { infra, workload } = stack({ createCluster: true });
    const cluster = find(infra, 'ContainerCluster', 'inference');
    expect(cluster.metadata.annotations?.['cnrm.cloud.google.com/deletion-policy']).toBe('abandon');
    expect(find(infra, 'ContainerNodePool').spec.clusterRef).toEqual({ name: 'inference' });
    expect(kinds(workload)).not.toContain('ContainerCluster');
  });

  test('the HPA\'s metric path is complete: PodMonitoring, the adapter, and its monitoring.viewer grant', () => {
    const { infra, workload, adapter } = stack();
    const hpa = find(workload, 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics[0].pods.metric.name).toBe('prometheus.googleapis.com|nv_inference_pending_request_count|gauge');
    find(workload, 'PodMonitoring');
    find(adapter, 'Deployment', 'custom-metrics-stackdriver-adapter');
    expect(find(infra, 'IAMPolicyMember', 'custom-metrics-adapter-monitoring-viewer').spec).toEqual({
      resourceRef: { kind: 'Project', external: 'projects/my-project' },
      role: 'roles/monitoring.viewer',
      member: 'serviceAccount:my-project.svc.id.goog[custom-metrics/custom-metrics-stackdriver-adapter]',
    });
    const without = stack({ customMetricsAdapter: false });
    expect(without.adapter).toEqual([]);
    expect(without.infra.map((o) => o.metadata.name)).not.toContain('custom-metrics-adapter-monitoring-viewer');
  });

  test('pool options: nodeLocations, spot, reservation', () => {
    const pool = find(stack({ nodeLocations: 'us-central1-a, us-central1-c', spot: true, reservation: 'my-gpus' }).infra, 'ContainerNodePool');
    expect(pool.spec.nodeLocations).toEqual(['us-central1-a', 'us-central1-c']);
    expect(pool.spec.nodeConfig.spot).toBe(true);
    expect(pool.spec.nodeConfig.reservationAffinity.values).toEqual(['my-gpus']);
  });

  test('numGpus 0 runs on CPU nodes without tripping over the default acceleratorType', () => {
    const { errors, workload } = stack({ numGpus: 0, scaleOn: 'pending-requests' });
    expect(errors).toEqual([]);
    expect(find(workload, 'Deployment').spec.template.spec.nodeSelector).toBeUndefined();
  });

  test('adds the driver installer to workload/ when GKE does not install drivers, for the pool\'s OS', () => {
    const cos = stack({ driverVersion: 'disabled' }).workload;
    expect(find(cos, 'DaemonSet').spec.template.spec.initContainers[0].image).toBe('cos-nvidia-installer:fixed');
    const ubuntu = stack({ driverVersion: 'disabled', nodeImage: 'UBUNTU_CONTAINERD' }).workload;
    expect(find(ubuntu, 'DaemonSet').spec.template.spec.initContainers[0].image).toBe('gke-nvidia-installer:fixed');
    expect(schemaErrors(ubuntu)).toEqual([]);
    expect(kinds(stack().workload)).not.toContain('DaemonSet');
    // GKE installs drivers on Ubuntu too, but only its `default` version.
    expect(find(stack({ nodeImage: 'UBUNTU_CONTAINERD' }).infra, 'ContainerNodePool').spec.nodeConfig.guestAccelerator[0].gpuDriverInstallationConfig)
      .toEqual({ gpuDriverVersion: 'DEFAULT' });
  });

  test('creates the NGC secret from NGC_API_KEY when asked', () => {
    process.env.NGC_API_KEY = 'nvapi-stack-test';
    try {
      const { workload } = stack({ ngcSecret: 'create' });
      expect(find(workload, 'Secret', 'ngc').type).toBe('kubernetes.io/dockerconfigjson');
      expect(find(workload, 'Deployment').spec.template.spec.imagePullSecrets).toEqual([{ name: 'ngc' }]);
    } finally {
      delete process.env.NGC_API_KEY;
    }
  });

  test('checks that a node can hold a pod', () => {
    expect(stack({ numGpus: 2 }).errors).toEqual(['numGpus (2) is more than a g2-standard-8 node carries (1): no pod would fit']);
    // N1 machines take as many T4s as the pod asks for.
    expect(stack({ acceleratorType: 'nvidia-tesla-t4', numGpus: 2 }).errors).toEqual([]);
  });

  test('refuses a gs:// modelRepositoryPath outside bucketName, the bucket the server is granted', () => {
    expect(stack({ modelRepositoryPath: 'gs://my-model-bucket/model_repository' }).errors)
      .toEqual([expect.stringMatching(/modelRepositoryPath "gs:\/\/my-model-bucket\/model_repository" is in bucket "my-model-bucket" but bucketName is "my-models"/)]);
    const same = stack({ modelRepositoryPath: 'gs://my-models/other/repo' });
    expect(same.errors).toEqual([]);
    expect(find(same.workload, 'Deployment').spec.template.spec.containers[0].args[0]).toBe('--model-repository=gs://my-models/other/repo');
  });

  test('full stack snapshot', () => {
    const { infra, workload } = stack({ driverVersion: 'disabled', scaleOn: 'gpu-duty-cycle', createCluster: true });
    expect({ infra, workload }).toMatchSnapshot();
  });
});

describe('parameters without editing code', () => {
  test('environment variable names', () => {
    expect(envName('modelRepositoryPath')).toBe('INFERENCE_MODEL_REPOSITORY_PATH');
    expect(envName('numGpus')).toBe('INFERENCE_NUM_GPUS');
  });

  test('defaults < params file < environment, with types checked', () => {
    const file = { name: 'from-file', image: 'img', modelRepositoryPath: '/models', numGpus: 2 };
    expect(resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, file, { INFERENCE_NUM_GPUS: '4' })).toEqual({
      name: 'from-file', image: 'img', modelRepositoryPath: '/models', namespace: 'default', numGpus: 4, serviceType: 'LoadBalancer', engine: 'builtin',
    });
    expect(resolveParams(GKE_STACK_PARAMS, { ...file, projectId: 'p', location: 'l', clusterName: 'c', bucketName: 'b', createBucket: 'false' }, {}).createBucket).toBe(false);
  });

  test('one error lists every problem', () => {
    expect(() => resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, { name: 'x', gpus: 1 }, { INFERENCE_NUM_GPUS: 'two' })).toThrow(
      /unknown parameter "gpus"[\s\S]*missing required parameter "image"[\s\S]*INFERENCE_IMAGE[\s\S]*missing required parameter "modelRepositoryPath"[\s\S]*"numGpus" must be a number/,
    );
  });

  const listOf = (dir: string) => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort();

  test('the app reads a params file and synthesizes gke-stack into infra/ and workload/', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const file = path.join(dir, 'params.yaml');
    fs.writeFileSync(file, 'prototype: gke-stack\nname: isrv\nimage: img:1\nprojectId: my-project\nlocation: us-central1-a\nclusterName: c\nbucketName: my-models\n');
    const outdir = path.join(dir, 'manifests');
    synthesize({ INFERENCE_PARAMS_FILE: file, INFERENCE_MAX_REPLICAS: '9' }, outdir);
    expect(listOf(outdir)).toEqual(['infra/gke-stack-infra.k8s.yaml', 'workload/custom-metrics-adapter.k8s.yaml', 'workload/gke-stack-workload.k8s.yaml']);
    expect(fs.readFileSync(path.join(outdir, 'workload', 'gke-stack-workload.k8s.yaml'), 'utf8')).toMatch(/maxReplicas: 9/);
    expect(fs.readFileSync(path.join(outdir, 'infra', 'gke-stack-infra.k8s.yaml'), 'utf8')).not.toMatch(/kind: Deployment/);
    expect(() => buildApps({ INFERENCE_PARAMS_FILE: file, INFERENCE_PROTOTYPE: 'ksonnet' }, outdir)).toThrow(/unknown prototype "ksonnet"/);
  });

  test('a failed synth leaves the previous manifests in place', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const file = path.join(dir, 'params.yaml');
    fs.writeFileSync(file, 'name: isrv\nimage: img:1\nmodelRepositoryPath: /models\n');
    const outdir = path.join(dir, 'manifests');
    synthesize({ INFERENCE_PARAMS_FILE: file }, outdir);
    const before = fs.readFileSync(path.join(outdir, 'workload', 'nvidia-inference-server.k8s.yaml'), 'utf8');
    // A validation error (construct) and a parameter error (resolveParams): both leave dist/manifests as it was.
    expect(() => synthesize({ INFERENCE_PARAMS_FILE: file, INFERENCE_NUM_GPUS: '-1' }, outdir)).toThrow(/numGpus must be a whole number/);
    expect(() => synthesize({ INFERENCE_PARAMS_FILE: file, INFERENCE_NUM_GPUS: 'two' }, outdir)).toThrow(/"numGpus" must be a number/);
    expect(fs.readFileSync(path.join(outdir, 'workload', 'nvidia-inference-server.k8s.yaml'), 'utf8')).toBe(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['manifests', 'params.yaml']);
  });

  test('an unknown INFERENCE_* variable is reported, with the parameter it was probably meant for', () => {
    const warnings: string[] = [];
    resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, { name: 'x', image: 'img', modelRepositoryPath: '/m' },
      { INFERENCE_NUMGPUS: '2', INFERENCE_COLOUR: 'red', INFERENCE_PROTOTYPE: 'nvidia-inference-server', INFERENCE_PROJECT_ID: 'p' },
      { 'gke-stack': GKE_STACK_PARAMS }, (w) => warnings.push(w));
    expect(warnings).toEqual(['ignoring unknown environment variables: INFERENCE_COLOUR, INFERENCE_NUMGPUS (did you mean INFERENCE_NUM_GPUS?)']);
  });

  test('a missing image says how to build one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const file = path.join(dir, 'params.yaml');
    fs.writeFileSync(file, 'name: isrv\nmodelRepositoryPath: /models\n');
    expect(() => buildApps({ INFERENCE_PARAMS_FILE: file }, path.join(dir, 'out'))).toThrow(/missing required parameter "image" \(server image you built from the Dockerfile and pushed/);
  });

  const committedParams = path.join(__dirname, '..', '..', 'prototypes', 'params.yaml');

  test('the committed params.yaml synthesizes once image and model repository are given, and asks for them otherwise', () => {
    const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'manifests-')), 'm');
    expect(() => buildApps({ INFERENCE_PARAMS_FILE: committedParams }, outdir))
      .toThrow(/missing required parameter "image"[\s\S]*INFERENCE_IMAGE[\s\S]*missing required parameter "modelRepositoryPath"[\s\S]*INFERENCE_MODEL_REPOSITORY_PATH/);
    synthesize({ INFERENCE_PARAMS_FILE: committedParams, INFERENCE_IMAGE: 'img:1', INFERENCE_MODEL_REPOSITORY_PATH: 'gs://acme-models/model_repository' }, outdir);
    expect(listOf(outdir)).toEqual(['workload/nvidia-inference-server.k8s.yaml']);
    expect(fs.readFileSync(path.join(outdir, 'workload', 'nvidia-inference-server.k8s.yaml'), 'utf8')).toContain('--model-repository=gs://acme-models/model_repository');
  });

  test('gke-stack with the committed params.yaml reads the model repository from INFERENCE_BUCKET_NAME, not an example bucket', () => {
    const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'manifests-')), 'm');
    synthesize({
      INFERENCE_PARAMS_FILE: committedParams, INFERENCE_PROTOTYPE: 'gke-stack', INFERENCE_IMAGE: 'img:1', INFERENCE_PROJECT_ID: 'acme-project',
      INFERENCE_LOCATION: 'us-central1-a', INFERENCE_CLUSTER_NAME: 'inference', INFERENCE_BUCKET_NAME: 'acme-models',
    }, outdir);
    const yaml = fs.readFileSync(path.join(outdir, 'workload', 'gke-stack-workload.k8s.yaml'), 'utf8');
    expect(yaml).toContain('--model-repository=gs://acme-models/model_repository');
    expect(yaml).not.toContain('my-model-bucket');
  });

  test('a params file whose modelRepositoryPath names another bucket than INFERENCE_BUCKET_NAME is refused, naming both', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const file = path.join(dir, 'params.yaml');
    fs.writeFileSync(file, 'prototype: gke-stack\nname: isrv\nimage: img:1\nmodelRepositoryPath: gs://my-model-bucket/model_repository\n'
      + 'projectId: acme-project\nlocation: us-central1-a\nclusterName: c\nbucketName: my-model-bucket\n');
    expect(() => synthesize({ INFERENCE_PARAMS_FILE: file, INFERENCE_BUCKET_NAME: 'acme-models' }, path.join(dir, 'out')))
      .toThrow(/bucket "my-model-bucket" but bucketName is "acme-models"/);
  });

  test('keys of the other prototype are ignored with a warning; keys of no prototype are errors', () => {
    const warnings: string[] = [];
    const file = { name: 'x', image: 'img', modelRepositoryPath: '/models', projectId: 'p', bucketName: 'b' };
    const others = { 'gke-stack': GKE_STACK_PARAMS };
    expect(resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, file, {}, others, (w) => warnings.push(w))).toEqual({
      name: 'x', image: 'img', modelRepositoryPath: '/models', namespace: 'default', numGpus: 1, serviceType: 'LoadBalancer', engine: 'builtin',
    });
    expect(warnings).toEqual(['ignoring params file keys of another prototype: "projectId" (gke-stack), "bucketName" (gke-stack)']);
    expect(() => resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, { ...file, bucket: 'b' }, {}, others, () => undefined)).toThrow(/unknown parameter "bucket"/);
    // Through the app: a file written for gke-stack synthesizes the ksonnet prototype too.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const yaml = path.join(dir, 'params.yaml');
    fs.writeFileSync(yaml, 'name: isrv\nimage: img:1\nmodelRepositoryPath: /models\nprojectId: acme-project\nclusterName: c\nmaxReplicas: 3\n');
    const warned: string[] = [];
    synthesize({ INFERENCE_PARAMS_FILE: yaml }, path.join(dir, 'out'), (w) => warned.push(w));
    expect(warned).toEqual([expect.stringContaining('"projectId" (gke-stack), "clusterName" (gke-stack), "maxReplicas" (gke-stack)')]);
    expect(listOf(path.join(dir, 'out'))).toEqual(['workload/nvidia-inference-server.k8s.yaml']);
  });
});

describe('the offline schema check is not vacuous', () => {
  test('rejects a null GPU limit, a node pool without location, a ServiceMonitor with a numeric port and a PodMonitoring without endpoints', () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { 'nvidia.com/gpu': null } } }] } } },
    };
    const pool = { apiVersion: 'container.cnrm.cloud.google.com/v1beta1', kind: 'ContainerNodePool', metadata: { name: 'p' }, spec: { clusterRef: { name: 'c' } } };
    const sm = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 's' }, spec: { selector: {}, endpoints: [{ port: 8002 }] } };
    const unknown = { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't' } };
    const pm = { apiVersion: 'monitoring.googleapis.com/v1', kind: 'PodMonitoring', metadata: { name: 'pm' }, spec: { selector: {} } };
    const errors = schemaErrors([deployment, pool, unknown, pm, sm] as Manifest[]);
    expect(errors).toHaveLength(5);
    expect(errors[0]).toMatch(/Deployment d: .*nvidia\.com~1gpu/);
    expect(errors[1]).toMatch(/ContainerNodePool p: .*location/);
    expect(errors[2]).toMatch(/Thing t: no schema/);
    expect(errors[3]).toMatch(/PodMonitoring pm: .*endpoints/);
    expect(errors[4]).toMatch(/ServiceMonitor s: .*port must be string/);
  });
});
