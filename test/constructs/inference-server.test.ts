import { Duration, Yaml } from 'cdk8s';
import { InferenceServer, InferenceServerProps } from '../../constructs';
import { CLI_FLAGS, DEFAULT_PORTS, PORT_NAMES, PROBE_PATHS, SERVER_DEFAULTS, SERVER_UID, WRITABLE_PATHS } from '../../server/contract';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const base: InferenceServerProps = { name: 'isrv', image: 'us-docker.pkg.dev/p/r/inference-server:0.1.0', modelRepositories: ['gs://models-bucket/repo'] };

function build(props: Partial<InferenceServerProps> = {}): Manifest[] {
  const c = chart('serving');
  new InferenceServer(c, 'Server', { ...base, ...props });
  return synth(c);
}

function errorsOf(props: Partial<InferenceServerProps>): string[] {
  const c = chart();
  new InferenceServer(c, 'Server', { ...base, ...props });
  return validationErrors(c);
}

const podSpec = (m: Manifest[]) => find(m, 'Deployment').spec.template.spec;
const container = (m: Manifest[]) => podSpec(m).containers[0];

describe('InferenceServer', () => {
  test('every object passes the Kubernetes OpenAPI schema', () => {
    expect(schemaErrors(build())).toEqual([]);
    expect(schemaErrors(build({ numGpus: 0, serviceType: 'ClusterIP', metricsService: false }))).toEqual([]);
    expect(schemaErrors(build({ numGpus: 4, acceleratorType: 'nvidia-h100-80gb', env: { A: 'b' }, logVerbose: 1 }))).toEqual([]);
    expect(schemaErrors(build({ adminKey: false }))).toEqual([]);
  });

  test('Deployment <name>-v1 selects the prototype labels; Service selects app', () => {
    const m = build();
    const d = find(m, 'Deployment');
    expect(d.apiVersion).toBe('apps/v1');
    expect(d.metadata.name).toBe('isrv-v1');
    expect(d.metadata.namespace).toBe('serving');
    expect(d.spec.selector.matchLabels).toEqual({ app: 'isrv', version: 'v1' });
    expect(d.spec.template.metadata.labels).toMatchObject({ app: 'isrv', version: 'v1' });
    expect(d.spec.replicas).toBe(1);
    const svc = find(m, 'Service', 'isrv');
    expect(svc.spec.selector).toEqual({ app: 'isrv' });
    expect(svc.spec.type).toBe('LoadBalancer');
  });

  test('ports 8000/8001/8002 carry the prototype names on the Service', () => {
    const m = build();
    expect(find(m, 'Service', 'isrv').spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      [PORT_NAMES.http, DEFAULT_PORTS.http], [PORT_NAMES.grpc, DEFAULT_PORTS.grpc], [PORT_NAMES.metrics, DEFAULT_PORTS.metrics],
    ]);
    const ports = container(m).ports;
    expect(ports.map((p: any) => p.containerPort)).toEqual([8000, 8001, 8002]);
    // Container port names are IANA service names: 15 characters at most.
    for (const p of ports) expect(p.name.length).toBeLessThanOrEqual(15);
    const metrics = find(m, 'Service', 'isrv-metrics');
    expect(metrics.spec.type).toBe('ClusterIP');
    expect(metrics.spec.ports).toEqual([{ name: PORT_NAMES.metrics, port: 8002, protocol: 'TCP', targetPort: 'metrics' }]);
  });

  test('args come from the contract flags', () => {
    const args = container(build()).args;
    const locked = 'shared-memory,model-config,model-repository,statistics,trace,logging:admin-key=$(ADMIN_API_KEY)';
    expect(args).toEqual([
      `${CLI_FLAGS.modelRepository}=gs://models-bucket/repo`,
      `${CLI_FLAGS.modelControlMode}=none`,
      `${CLI_FLAGS.exitTimeoutSecs}=${SERVER_DEFAULTS.exitTimeoutSecs}`,
      `${CLI_FLAGS.modelCacheDir}=${WRITABLE_PATHS.modelCache}`,
      `${CLI_FLAGS.allowGpuMetrics}=true`,
      `${CLI_FLAGS.httpRestrictedApi}=${locked}`,
      `${CLI_FLAGS.grpcRestrictedProtocol}=${locked}`,
      `${CLI_FLAGS.allowClientShm}=false`,
    ]);
    const polled = container(build({
      modelRepositories: ['/models/a', '/models/b'], modelControlMode: 'poll', repositoryPollSecs: 30, extraArgs: ['--strict-readiness=false'],
      adminKey: false, allowClientSharedMemory: true,
    })).args;
    expect(polled).toEqual([
      '--model-repository=/models/a', '--model-repository=/models/b', '--model-control-mode=poll', '--repository-poll-secs=30',
      '--exit-timeout-secs=30', '--allow-gpu-metrics=true', '--allow-client-shm=true', '--strict-readiness=false',
    ]);
    expect(container(build({ responseCacheByteSize: 268435456 })).args).toContain(`${CLI_FLAGS.cacheConfig}=local,size=268435456`);
  });

  test('locked down by default: admin endpoints need a key from a Secret, which never appears in the manifest', () => {
    const m = build();
    const c = container(m);
    expect(c.env).toEqual([{ name: 'ADMIN_API_KEY', valueFrom: { secretKeyRef: { name: 'isrv-admin-key', key: 'admin-key' } } }]);
    const yaml = Yaml.stringify(find(m, 'Deployment'));
    // The kubelet expands $(ADMIN_API_KEY) from the env at start: the manifest holds only the reference.
    expect(yaml).toContain('admin-key=$(ADMIN_API_KEY)');
    expect(m.filter((o) => o.kind === 'Secret')).toEqual([]);
    // Health, metadata and inference stay open (probes and clients); metrics are on their own port.
    const restricted = c.args.find((a: string) => a.startsWith('--http-restricted-api=')).split('=')[1].split(':')[0].split(',');
    for (const open of ['health', 'metadata', 'inference']) expect(restricted).not.toContain(open);
    const custom = container(build({
      adminKey: { secretName: 'ops-key', secretKey: 'token', header: 'x-ops-key', groups: ['model-repository', 'logging'] },
      env: { LOG_LEVEL: 'debug' },
    }));
    expect(custom.args).toContain('--grpc-restricted-protocol=model-repository,logging:x-ops-key=$(ADMIN_API_KEY)');
    expect(custom.env).toEqual([
      { name: 'ADMIN_API_KEY', valueFrom: { secretKeyRef: { name: 'ops-key', key: 'token' } } }, { name: 'LOG_LEVEL', value: 'debug' },
    ]);
    const open = container(build({ adminKey: false }));
    expect(open.env).toBeUndefined();
    expect(open.args.filter((a: string) => a.includes('restricted'))).toEqual([]);
    expect(schemaErrors(build({ adminKey: { groups: ['trace'] } }))).toEqual([]);
  });

  test('probes: liveness and readiness on the v2 health URLs, startup sized for slow loads', () => {
    const c = container(build({ maxStartupTime: Duration.minutes(30) }));
    expect(c.livenessProbe.httpGet).toEqual({ path: PROBE_PATHS.live, port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: PROBE_PATHS.ready, port: 'http' });
    expect(c.livenessProbe).toMatchObject({ initialDelaySeconds: 5, periodSeconds: 5 });
    expect(c.startupProbe.httpGet.path).toBe(PROBE_PATHS.live);
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(30 * 60);
    expect(container(build()).startupProbe.failureThreshold * 10).toBe(15 * 60);
  });

  test('nvidia.com/gpu limit is the number numGpus in the synthesized YAML', () => {
    const m = build({ numGpus: 2 });
    expect(container(m).resources.limits['nvidia.com/gpu']).toBe(2);
    expect(container(m).resources.requests['nvidia.com/gpu']).toBe(2);
    // The text kubectl receives, not only the object.
    expect(Yaml.stringify(find(m, 'Deployment'))).toMatch(/limits:\n\s+memory: 8Gi\n\s+nvidia\.com\/gpu: 2\n/);
  });

  test('GPU pods tolerate the GPU taint and land on GPU nodes', () => {
    const any = podSpec(build());
    expect(any.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(any.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions)
      .toEqual([{ key: 'cloud.google.com/gke-accelerator', operator: 'Exists' }]);
    const l4 = podSpec(build({ acceleratorType: 'nvidia-l4' }));
    expect(l4.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
    expect(l4.affinity).toBeUndefined();
  });

  test('CPU-only pods ask for no GPU and no GPU node', () => {
    const m = build({ numGpus: 0 });
    const spec = podSpec(m);
    expect(spec.tolerations).toBeUndefined();
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.affinity).toBeUndefined();
    expect(container(m).resources.limits).toEqual({ memory: '8Gi' });
    expect(container(m).args).toContain('--allow-gpu-metrics=false');
  });

  test('Pod Security restricted, with a volume for every writable path', () => {
    const m = build();
    const spec = podSpec(m);
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: SERVER_UID, runAsGroup: SERVER_UID, fsGroup: SERVER_UID, seccompProfile: { type: 'RuntimeDefault' },
    });
    const sc = container(m).securityContext;
    expect(sc).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true });
    expect(sc.capabilities).toEqual({ drop: ['ALL'] });
    const mounts = container(m).volumeMounts.map((v: any) => v.mountPath);
    for (const p of Object.values(WRITABLE_PATHS)) expect(mounts).toContain(p);
    const shm = spec.volumes.find((v: any) => v.name === 'dshm');
    expect(shm.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Gi' });
  });

  test('explicit requests, grace period longer than the drain, scrape annotations', () => {
    const m = build({ resources: { cpuRequest: '4', memoryRequest: '16Gi', memoryLimit: '24Gi' }, exitTimeoutSecs: 60 });
    expect(container(m).resources.requests).toMatchObject({ cpu: '4', memory: '16Gi' });
    expect(container(m).resources.limits.memory).toBe('24Gi');
    const spec = podSpec(m);
    // preStop sleep (5 s) + drain (60 s) + 15 s to close the frontends and unload models.
    expect(spec.terminationGracePeriodSeconds).toBe(5 + 60 + 15);
    expect(podSpec(build({ exitTimeoutSecs: 10, preStopSleepSecs: 0 })).terminationGracePeriodSeconds).toBe(0 + 10 + 15);
    expect(container(m).args).toContain('--exit-timeout-secs=60');
    expect(find(m, 'Deployment').spec.template.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true', 'prometheus.io/port': '8002', 'prometheus.io/path': '/metrics',
    });
  });

  test('ServiceAccount and image pull secrets', () => {
    const m = build({ imagePullSecrets: ['ngc'] });
    expect(find(m, 'ServiceAccount', 'isrv').automountServiceAccountToken).toBe(false);
    expect(podSpec(m).serviceAccountName).toBe('isrv');
    expect(podSpec(m).imagePullSecrets).toEqual([{ name: 'ngc' }]);
    const shared = build({ serviceAccountName: 'reader' });
    expect(shared.filter((o) => o.kind === 'ServiceAccount')).toEqual([]);
    expect(podSpec(shared).serviceAccountName).toBe('reader');
  });

  test('validation messages say what to fix', () => {
    expect(errorsOf({ name: 'Bad_Name' })[0]).toMatch(/name "Bad_Name" must be lowercase/);
    expect(errorsOf({ modelRepositories: [] })[0]).toMatch(/modelRepositories is empty/);
    expect(errorsOf({ modelRepositories: ['models'] })[0]).toMatch(/absolute path .* or a gs:\/\/bucket\/path URL/);
    expect(errorsOf({ numGpus: -1 })[0]).toMatch(/numGpus must be a whole number/);
    expect(errorsOf({ numGpus: 0, acceleratorType: 'nvidia-l4' })[0]).toMatch(/acceleratorType is set but numGpus is 0/);
    expect(errorsOf({ repositoryPollSecs: 5 })[0]).toMatch(/only applies with modelControlMode "poll"/);
    expect(errorsOf({ serviceType: 'External' as never })[0]).toMatch(/serviceType "External"/);
    expect(errorsOf({ responseCacheByteSize: 0 })[0]).toMatch(/responseCacheByteSize must be a whole number of bytes ≥ 1, got 0/);
    expect(errorsOf({ responseCacheByteSize: 1.5 })[0]).toMatch(/responseCacheByteSize must be a whole number/);
    expect(errorsOf({ adminKey: { header: 'Admin Key' } })[0]).toMatch(/adminKey.header "Admin Key" must be lowercase/);
    expect(errorsOf({ adminKey: { groups: ['models' as never] } })[0]).toMatch(/"models" is not one of health, metadata/);
    expect(errorsOf({ adminKey: { groups: [] } })[0]).toMatch(/adminKey.groups is empty/);
    expect(errorsOf({ env: { ADMIN_API_KEY: 'x' } })[0]).toMatch(/env must not set ADMIN_API_KEY/);
    expect(errorsOf({ image: '' })[0]).toMatch(/image is required: no registry publishes the server image: build it from the Dockerfile and push it/);
    expect(errorsOf({ image: undefined as never })[0]).toMatch(/docker build -t .* docker push/);
    expect(errorsOf({ volumeMounts: [{ name: 'pvc', mountPath: '/models' }] })[0]).toMatch(/volumeMount "pvc" has no matching entry/);
    expect(errorsOf({})).toEqual([]);
  });
});
