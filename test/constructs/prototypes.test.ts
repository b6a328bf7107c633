import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { GKE_STACK_PARAMS, GkeStackChart, GkeStackChartProps } from '../../prototypes/gke-stack';
import { buildApp } from '../../prototypes/main';
import { NVIDIA_INFERENCE_SERVER_PARAMS, NvidiaInferenceServerChart } from '../../prototypes/nvidia-inference-server';
import { envName, resolveParams } from '../../prototypes/params';
import { find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const stackProps: GkeStackChartProps = {
  name: 'isrv', image: 'nvcr.io/example/inference-server:1.0', projectId: 'my-project', location: 'us-central1-a',
  clusterName: 'inference', bucketName: 'my-models',
};

describe('nvidia-inference-server prototype', () => {
  test('keeps the ksonnet parameter names and defaults', () => {
    expect(Object.keys(NVIDIA_INFERENCE_SERVER_PARAMS)).toEqual(['name', 'image', 'modelRepositoryPath', 'namespace', 'numGpus', 'serviceType']);
    const defaults = Object.fromEntries(Object.entries(NVIDIA_INFERENCE_SERVER_PARAMS).map(([k, v]) => [k, v.default]));
    expect(defaults).toEqual({ name: undefined, image: undefined, modelRepositoryPath: undefined, namespace: 'default', numGpus: 1, serviceType: 'LoadBalancer' });
  });

  test('makes the prototype\'s Service and <name>-v1 Deployment, modernised and schema-valid', () => {
    const chart = new NvidiaInferenceServerChart(Testing.app(), 'proto', {
      name: 'tensorrt', image: 'nvcr.io/nvidia/tensorrtserver:18.08-py3', modelRepositoryPath: 'gs://bucket/repo', numGpus: 2,
    });
    const m = synth(chart);
    expect(schemaErrors(m)).toEqual([]);
    expect(m.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/tensorrt', 'Deployment/tensorrt-v1', 'Service/tensorrt', 'Service/tensorrt-metrics',
    ]);
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

  test('node pool, bucket and identity, server and autoscaling in one chart; every object schema-valid', () => {
    const m = synth(new GkeStackChart(Testing.app(), 'stack', stackProps));
    expect(schemaErrors(m)).toEqual([]);
    expect(kinds(m)).toEqual([
      'ContainerNodePool', 'StorageBucket', 'IAMServiceAccount', 'IAMPolicyMember', 'IAMPolicyMember', 'ServiceAccount',
      'Deployment', 'Service', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ServiceMonitor', 'NetworkPolicy',
    ]);
    const pod = find(m, 'Deployment').spec.template.spec;
    expect(pod.serviceAccountName).toBe('isrv');
    expect(pod.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-tesla-t4' });
    expect(pod.imagePullSecrets).toEqual([{ name: 'ngc' }]);
    expect(pod.containers[0].args[0]).toBe('--model-repository=gs://my-models/model_repository');
    expect(find(m, 'ServiceAccount', 'isrv').metadata.annotations?.['iam.gke.io/gcp-service-account']).toBe('isrv-gcs@my-project.iam.gserviceaccount.com');
  });

  test('adds the driver installer when GKE does not install drivers, for the pool\'s OS', () => {
    const cos = synth(new GkeStackChart(Testing.app(), 'stack', { ...stackProps, driverVersion: 'disabled' }));
    expect(find(cos, 'DaemonSet').spec.template.spec.initContainers[0].image).toBe('cos-nvidia-installer:fixed');
    const ubuntu = synth(new GkeStackChart(Testing.app(), 'stack', { ...stackProps, driverVersion: 'disabled', nodeImage: 'UBUNTU_CONTAINERD' }));
    expect(find(ubuntu, 'DaemonSet').spec.template.spec.initContainers[0].image).toBe('gke-nvidia-installer:fixed');
    expect(schemaErrors(ubuntu)).toEqual([]);
  });

  test('creates the NGC secret from NGC_API_KEY when asked, or none', () => {
    process.env.NGC_API_KEY = 'nvapi-stack-test';
    try {
      const m = synth(new GkeStackChart(Testing.app(), 'stack', { ...stackProps, ngcSecret: 'create', createCluster: true }));
      expect(find(m, 'Secret', 'ngc').type).toBe('kubernetes.io/dockerconfigjson');
      find(m, 'ContainerCluster', 'inference');
      expect(schemaErrors(m)).toEqual([]);
    } finally {
      delete process.env.NGC_API_KEY;
    }
    const none = synth(new GkeStackChart(Testing.app(), 'stack', { ...stackProps, ngcSecret: 'none' }));
    expect(find(none, 'Deployment').spec.template.spec.imagePullSecrets).toBeUndefined();
  });

  test('checks that a node can hold a pod', () => {
    const chart = new GkeStackChart(Testing.app(), 'stack', { ...stackProps, acceleratorType: 'nvidia-l4', numGpus: 2 });
    expect(validationErrors(chart)).toEqual(['numGpus (2) is more than a g2-standard-8 node carries (1): no pod would fit']);
    // N1 machines take as many T4s as the pod asks for.
    const t4 = new GkeStackChart(Testing.app(), 'stack', { ...stackProps, numGpus: 2 });
    expect(validationErrors(t4)).toEqual([]);
  });

  test('refuses a gs:// modelRepositoryPath outside bucketName, the bucket the server is granted', () => {
    const chart = new GkeStackChart(Testing.app(), 'stack', { ...stackProps, modelRepositoryPath: 'gs://my-model-bucket/model_repository' });
    expect(validationErrors(chart)).toEqual([expect.stringMatching(/modelRepositoryPath "gs:\/\/my-model-bucket\/model_repository" is in bucket "my-model-bucket" but bucketName is "my-models"/)]);
    const same = new GkeStackChart(Testing.app(), 'stack', { ...stackProps, modelRepositoryPath: 'gs://my-models/other/repo' });
    expect(validationErrors(same)).toEqual([]);
    expect(find(synth(same), 'Deployment').spec.template.spec.containers[0].args[0]).toBe('--model-repository=gs://my-models/other/repo');
  });

  test('full stack snapshot', () => {
    const m = synth(new GkeStackChart(Testing.app(), 'stack', { ...stackProps, driverVersion: 'disabled', scaleOn: 'gpu-duty-cycle' }));
    expect(m).toMatchSnapshot();
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
      name: 'from-file', image: 'img', modelRepositoryPath: '/models', namespace: 'default', numGpus: 4, serviceType: 'LoadBalancer',
    });
    expect(resolveParams(GKE_STACK_PARAMS, { ...file, projectId: 'p', location: 'l', clusterName: 'c', bucketName: 'b', createBucket: 'false' }, {}).createBucket).toBe(false);
  });

  test('one error lists every problem', () => {
    expect(() => resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, { name: 'x', gpus: 1 }, { INFERENCE_NUM_GPUS: 'two' })).toThrow(
      /unknown parameter "gpus"[\s\S]*missing required parameter "image"[\s\S]*INFERENCE_IMAGE[\s\S]*missing required parameter "modelRepositoryPath"[\s\S]*"numGpus" must be a number/,
    );
  });

  test('the cdk8s app reads a params file and synthesizes into its own folder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const file = path.join(dir, 'params.yaml');
    fs.writeFileSync(file, 'prototype: gke-stack\nname: isrv\nimage: img:1\nprojectId: my-project\nlocation: us-central1-a\nclusterName: c\nbucketName: my-models\n');
    const outdir = path.join(dir, 'manifests');
    buildApp({ INFERENCE_PARAMS_FILE: file, INFERENCE_MAX_REPLICAS: '9' }, outdir).synth();
    expect(fs.readdirSync(outdir)).toEqual(['gke-stack.k8s.yaml']);
    expect(fs.readFileSync(path.join(outdir, 'gke-stack.k8s.yaml'), 'utf8')).toMatch(/maxReplicas: 9/);
    expect(() => buildApp({ INFERENCE_PARAMS_FILE: file, INFERENCE_PROTOTYPE: 'ksonnet' }, outdir)).toThrow(/unknown prototype "ksonnet"/);
  });

  const committedParams = path.join(__dirname, '..', '..', 'prototypes', 'params.yaml');

  test('the committed params.yaml synthesizes once the model repository is given, and asks for it otherwise', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifests-'));
    expect(() => buildApp({ INFERENCE_PARAMS_FILE: committedParams }, outdir)).toThrow(/missing required parameter "modelRepositoryPath"[\s\S]*INFERENCE_MODEL_REPOSITORY_PATH/);
    buildApp({ INFERENCE_PARAMS_FILE: committedParams, INFERENCE_MODEL_REPOSITORY_PATH: 'gs://acme-models/model_repository' }, outdir).synth();
    expect(fs.readdirSync(outdir)).toEqual(['nvidia-inference-server.k8s.yaml']);
    expect(fs.readFileSync(path.join(outdir, 'nvidia-inference-server.k8s.yaml'), 'utf8')).toContain('--model-repository=gs://acme-models/model_repository');
  });

  test('gke-stack with the committed params.yaml reads the model repository from INFERENCE_BUCKET_NAME, not an example bucket', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifests-'));
    buildApp({
      INFERENCE_PARAMS_FILE: committedParams, INFERENCE_PROTOTYPE: 'gke-stack', INFERENCE_PROJECT_ID: 'acme-project', INFERENCE_LOCATION: 'us-central1-a',
      INFERENCE_CLUSTER_NAME: 'inference', INFERENCE_BUCKET_NAME: 'acme-models',
    }, outdir).synth();
    const yaml = fs.readFileSync(path.join(outdir, 'gke-stack.k8s.yaml'), 'utf8');
    expect(yaml).toContain('--model-repository=gs://acme-models/model_repository');
    expect(yaml).not.toContain('my-model-bucket');
  });

  test('a params file whose modelRepositoryPath names another bucket than INFERENCE_BUCKET_NAME is refused, naming both', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const file = path.join(dir, 'params.yaml');
    fs.writeFileSync(file, 'prototype: gke-stack\nname: isrv\nimage: img:1\nmodelRepositoryPath: gs://my-model-bucket/model_repository\n'
      + 'projectId: acme-project\nlocation: us-central1-a\nclusterName: c\nbucketName: my-model-bucket\n');
    expect(() => buildApp({ INFERENCE_PARAMS_FILE: file, INFERENCE_BUCKET_NAME: 'acme-models' }, path.join(dir, 'out')).synth())
      .toThrow(/bucket "my-model-bucket" but bucketName is "acme-models"/);
  });

  test('keys of the other prototype are ignored with a warning; keys of no prototype are errors', () => {
    const warnings: string[] = [];
    const file = { name: 'x', image: 'img', modelRepositoryPath: '/models', projectId: 'p', bucketName: 'b' };
    const others = { 'gke-stack': GKE_STACK_PARAMS };
    expect(resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, file, {}, others, (w) => warnings.push(w))).toEqual({
      name: 'x', image: 'img', modelRepositoryPath: '/models', namespace: 'default', numGpus: 1, serviceType: 'LoadBalancer',
    });
    expect(warnings).toEqual(['ignoring params file keys of another prototype: "projectId" (gke-stack), "bucketName" (gke-stack)']);
    expect(() => resolveParams(NVIDIA_INFERENCE_SERVER_PARAMS, { ...file, bucket: 'b' }, {}, others, () => undefined)).toThrow(/unknown parameter "bucket"/);
    // Through the app: a file written for gke-stack synthesizes the ksonnet prototype too.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'params-'));
    const yaml = path.join(dir, 'params.yaml');
    fs.writeFileSync(yaml, 'name: isrv\nimage: img:1\nmodelRepositoryPath: /models\nprojectId: acme-project\nclusterName: c\nmaxReplicas: 3\n');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      buildApp({ INFERENCE_PARAMS_FILE: yaml }, path.join(dir, 'out')).synth();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('"projectId" (gke-stack), "clusterName" (gke-stack), "maxReplicas" (gke-stack)'));
    } finally {
      warn.mockRestore();
    }
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual(['nvidia-inference-server.k8s.yaml']);
  });
});

describe('the offline schema check is not vacuous', () => {
  test('rejects a null GPU limit, a node pool without location and a ServiceMonitor with a numeric port', () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { 'nvidia.com/gpu': null } } }] } } },
    };
    const pool = { apiVersion: 'container.cnrm.cloud.google.com/v1beta1', kind: 'ContainerNodePool', metadata: { name: 'p' }, spec: { clusterRef: { name: 'c' } } };
    const sm = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 's' }, spec: { selector: {}, endpoints: [{ port: 8002 }] } };
    const unknown = { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't' } };
    const errors = schemaErrors([deployment, pool, sm, unknown] as Manifest[]);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/Deployment d: .*nvidia\.com~1gpu/);
    expect(errors[1]).toMatch(/ContainerNodePool p: .*location/);
    expect(errors[2]).toMatch(/Thing t: no schema/);
    expect(errors[3]).toMatch(/ServiceMonitor s: .*port must be string/);
  });
});
