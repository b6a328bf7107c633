/**
 * The Kubeflow deploy entry point. Pure parts (flags, manifests, rollout state) run in-process; the apply/wait sequence
 * runs the built entry point (`node dist/kubeflow/deploy.js`, as the pipeline step does) with the real
 * @kubernetes/client-node against the loopback Kubernetes API fake. (jest's CommonJS runtime cannot load that client, an ES
 * module; Node itself can.)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { endpointOf, main, parseDeployArgs, rolloutState } from '../../kubeflow/deploy';
import type { KubeApi } from '../../kubeflow/kube';
import { synthesizeDeployManifests } from '../../kubeflow/manifests';
import { TRITON_IMAGE } from '../../constructs';
import { FakeKubeApi } from './fake-kube-api';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY = path.join(ROOT, 'dist', 'kubeflow', 'deploy.js');
const IMAGE = 'us-docker.pkg.dev/p/r/inference-server:0.1.0';

describe('flags', () => {
  it('applies the defaults', () => {
    const options = parseDeployArgs(['--name=simple', '--model-repository=gs://bucket/models', `--image=${IMAGE}`]);
    expect(options).toMatchObject({
      name: 'simple', namespace: 'default', image: IMAGE, numGpus: 1, accelerator: '', minReplicas: 1, maxReplicas: 1,
      serviceType: 'LoadBalancer', timeoutSeconds: 900, dryRun: false, engine: 'builtin',
    });
    expect(() => parseDeployArgs(['--name=x', '--model-repository=/m', `--image=${IMAGE}`, '--engine=tensorrt'])).toThrow(/--engine must be builtin or triton/);
  });

  it('rejects missing and malformed inputs', () => {
    expect(() => parseDeployArgs(['--name=x'])).toThrow(/missing --model-repository, --image/);
    // No image is published: the flag has no default.
    expect(() => parseDeployArgs(['--name=x', '--model-repository=/m'])).toThrow(/missing --image/);
    expect(() => parseDeployArgs(['--name=x', '--model-repository=/m', `--image=${IMAGE}`, '--num-gpus=-1'])).toThrow(/--num-gpus expects a whole number/);
    expect(() => parseDeployArgs(['--name=x', '--model-repository=/m', `--image=${IMAGE}`, '--service-type=Ingress'])).toThrow(/--service-type/);
    expect(() => parseDeployArgs(['--name=x', '--model-repository=/m', `--image=${IMAGE}`, '--min-replicas=3', '--max-replicas=2'])).toThrow(/--max-replicas \(2\)/);
    expect(() => parseDeployArgs(['--name=x', '--model-repository=/m', `--image=${IMAGE}`, '--bogus=1'])).toThrow(/bogus/);
  });

  it('exits 2 with the constructs\' validation message for a bad accelerator', async () => {
    const lines: string[] = [];
    const code = await main(['--name=x', '--model-repository=/m', `--image=${IMAGE}`, '--accelerator=nvidia-gtx-1080'], { stderr: (l) => lines.push(l) });
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(/acceleratorType "nvidia-gtx-1080" is not a GKE GPU type/);
  });
});

describe('manifests', () => {
  const base = {
    name: 'simple', namespace: 'models', image: 'img:1', modelRepository: 'gs://bucket/models', numGpus: 1,
    minReplicas: 1, maxReplicas: 1, serviceType: 'LoadBalancer' as const,
  };

  it('are the InferenceServer construct\'s objects, identities first', () => {
    const { objects, deploymentName, serviceName } = synthesizeDeployManifests({ ...base, accelerator: 'nvidia-l4' });
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'Service', 'Deployment']);
    expect(deploymentName).toBe('simple-v1');
    expect(serviceName).toBe('simple');
    const deployment = objects.find((o) => o.kind === 'Deployment') as any;
    expect(deployment.metadata.namespace).toBe('models');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
    expect(deployment.spec.template.spec.containers[0].args).toContain('--model-repository=gs://bucket/models');
    // Locked down as the constructs are: the key comes from the Secret <name>-admin-key, or the one named.
    expect(deployment.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef).toEqual({ name: 'simple-admin-key', key: 'admin-key' });
    const named = synthesizeDeployManifests({ ...base, adminKeySecret: 'ops-key' }).objects.find((o) => o.kind === 'Deployment') as any;
    expect(named.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name).toBe('ops-key');
    const open = synthesizeDeployManifests({ ...base, adminKeySecret: 'none' }).objects.find((o) => o.kind === 'Deployment') as any;
    expect(open.spec.template.spec.containers[0].env).toBeUndefined();
  });

  it("with engine triton deploy NVIDIA's tritonserver, not the step's image, pulled with the ngc secret", () => {
    const deployment = synthesizeDeployManifests({ ...base, engine: 'triton' }).objects.find((o) => o.kind === 'Deployment') as any;
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0].image).toBe(TRITON_IMAGE);
    expect(pod.containers[0].command).toEqual(['tritonserver']);
    expect(pod.imagePullSecrets).toEqual([{ name: 'ngc' }]);
  });

  it('add an HPA, a PodDisruptionBudget and the PodMonitoring that feeds the HPA\'s metric when max > min, and leave replicas to the HPA', () => {
    const { objects } = synthesizeDeployManifests({ ...base, minReplicas: 2, maxReplicas: 5, serviceAccount: 'reader' });
    expect(objects.map((o) => o.kind)).toEqual(['Service', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PodMonitoring']);
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as any;
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
    const deployment = objects.find((o) => o.kind === 'Deployment') as any;
    expect(deployment.spec.replicas).toBeUndefined();
    expect(deployment.spec.template.spec.serviceAccountName).toBe('reader');
  });
});

describe('rollout state and endpoint', () => {
  const available = { type: 'Available', status: 'True' };
  it('is available only once the controller observed the generation and every replica is updated and available', () => {
    const spec = { metadata: { generation: 2 }, spec: { replicas: 2 } };
    expect(rolloutState({ ...spec, status: { observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2, replicas: 2, conditions: [available] } }).available).toBe(false);
    expect(rolloutState({ ...spec, status: { observedGeneration: 2, updatedReplicas: 1, availableReplicas: 2, replicas: 3, conditions: [available] } }).available).toBe(false);
    expect(rolloutState({ ...spec, status: { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 2, conditions: [available] } }).available).toBe(true);
  });
  it('reports ProgressDeadlineExceeded as a failure', () => {
    const state = rolloutState({ status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' }] } });
    expect(state.failed).toMatch(/timed out/);
  });
  it('uses the load balancer address, or the cluster DNS name', () => {
    expect(endpointOf({ spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } }, 's', 'ns')).toBeUndefined();
    expect(endpointOf({ spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } }, 's', 'ns')).toBe('http://10.0.0.1:8000');
    expect(endpointOf({ spec: { type: 'ClusterIP' } }, 's', 'ns')).toBe('http://s.ns.svc.cluster.local:8000');
  });
});

describe('timeout (injected client and clock)', () => {
  it('gives up after --timeout-seconds with the rollout summary', async () => {
    let clock = 0;
    const kube: KubeApi = {
      apply: async () => undefined,
      readDeployment: async () => ({ metadata: { generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, availableReplicas: 0 } }),
      readService: async () => ({}),
    };
    const errors: string[] = [];
    const code = await main(['--name=s', '--model-repository=/m', `--image=${IMAGE}`, '--timeout-seconds=30'], {
      kube, stdout: () => undefined, stderr: (l) => errors.push(l), now: () => clock, sleep: async (ms) => { clock += ms; },
    });
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(/timed out after 30s waiting for Deployment default\/s-v1 to become available \(0\/1 available/);
  });
});

describe('apply and wait against the Kubernetes API fake (node dist/kubeflow/deploy.js)', () => {
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;

  beforeEach(async () => {
    api = await new FakeKubeApi().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfp-deploy-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, api.kubeconfig());
  });

  afterEach(async () => {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env };
      delete env.KUBERNETES_SERVICE_HOST;
      delete env.KUBECONFIG;
      const child = spawn(process.execPath, [ENTRY, `--kubeconfig=${kubeconfig}`, '--poll-interval-seconds=0.05', ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const outputs = () => ['--output-endpoint-path', path.join(dir, 'out', 'endpoint'), '--output-status-path', path.join(dir, 'out', 'status')];

  it('server-side applies every object, waits for availability and the load balancer, writes the outputs', async () => {
    api.rollout = { type: 'available-after', polls: 3 };
    api.loadBalancerAfterPolls = 2;
    const result = await run(['--name', 'simple', '--model-repository', 'gs://bucket/models', '--image', IMAGE, '--namespace', 'default', ...outputs()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const patches = api.patches();
    expect(patches.map((p) => `${p.body?.kind} ${p.path}`)).toEqual([
      'ServiceAccount /api/v1/namespaces/default/serviceaccounts/simple',
      'Service /api/v1/namespaces/default/services/simple',
      'Service /api/v1/namespaces/default/services/simple-metrics',
      'Deployment /apis/apps/v1/namespaces/default/deployments/simple-v1',
    ]);
    for (const patch of patches) {
      expect(patch.contentType).toBe('application/apply-patch+yaml');
      expect(patch.query).toMatchObject({ fieldManager: 'kubeflow-inference-server-deploy', force: 'true' });
      expect(patch.authorization).toBe('Bearer fake-service-account-token');
    }
    const deployment = api.objects.get('deployments/default/simple-v1') as any;
    expect(deployment.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    const deploymentGets = api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/deployments/simple-v1'));
    expect(deploymentGets.length).toBe(4);

    expect(fs.readFileSync(path.join(dir, 'out', 'endpoint'), 'utf8')).toBe('http://203.0.113.10:8000');
    const status = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'status'), 'utf8'));
    expect(status).toMatchObject({ status: 'Available', deployment: 'simple-v1', grpcEndpoint: '203.0.113.10:8001', availableReplicas: 1 });
    expect(result.stdout).toContain('deployed: http://203.0.113.10:8000');
  });

  it('applies the autoscaler objects too and reports the in-cluster endpoint of a ClusterIP Service', async () => {
    const result = await run([
      '--name=simple', '--model-repository=gs://bucket/models', `--image=${IMAGE}`, '--namespace=serving', '--service-type=ClusterIP',
      '--min-replicas=1', '--max-replicas=3', '--num-gpus=0', ...outputs(),
    ]);
    expect(result.code).toBe(0);
    expect(api.patches().map((p) => p.body?.kind)).toEqual(['ServiceAccount', 'Service', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PodMonitoring']);
    expect(fs.readFileSync(path.join(dir, 'out', 'endpoint'), 'utf8')).toBe('http://simple.serving.svc.cluster.local:8000');
  });

  it('explains an RBAC denial and names the missing permission', async () => {
    api.forbidden.add('patch deployments');
    const result = await run(['--name=simple', '--model-repository=/models', `--image=${IMAGE}`, ...outputs()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RBAC denied apply Deployment default/simple-v1');
    expect(result.stderr).toContain('User "system:serviceaccount:kubeflow:pipeline-runner" cannot patch resource "deployments" in API group "apps"');
    expect(result.stderr).toContain('needs get, create and patch on serviceaccounts, services, deployments');
    expect(result.stderr).toContain('kubeflow/rbac.yaml');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'status'), 'utf8')).status).toBe('Failed');
    expect(fs.existsSync(path.join(dir, 'out', 'endpoint'))).toBe(false);
  });

  it('times out when the Deployment never becomes available', async () => {
    api.rollout = { type: 'never' };
    const result = await run(['--name=simple', '--model-repository=/models', `--image=${IMAGE}`, '--timeout-seconds=1', ...outputs()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/timed out after 1s waiting for Deployment default\/simple-v1 to become available \(0\/1 available.*MinimumReplicasUnavailable/);
  });

  it('stops at ProgressDeadlineExceeded without waiting for the timeout', async () => {
    api.rollout = { type: 'progress-deadline' };
    const result = await run(['--name=simple', '--model-repository=/models', `--image=${IMAGE}`, '--timeout-seconds=600', ...outputs()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Deployment default\/simple-v1 failed: rollout stopped: ReplicaSet .* has timed out progressing/);
  });
});
