import { Duration } from 'cdk8s';
import { AutoscalingMetric, InferenceAutoscaler, InferenceAutoscalerProps, InferenceServer, InferenceServerProps } from '../../constructs';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

function setup(props: Partial<InferenceAutoscalerProps> = {}, serverProps: Partial<InferenceServerProps> = {}) {
  const c = chart('serving');
  const server = new InferenceServer(c, 'Server', { name: 'isrv', image: 'img:1', modelRepositories: ['/models'], ...serverProps });
  new InferenceAutoscaler(c, 'Scaling', { server, ...props });
  return c;
}

const build = (props: Partial<InferenceAutoscalerProps> = {}, serverProps: Partial<InferenceServerProps> = {}): Manifest[] =>
  synth(setup(props, serverProps));

describe('InferenceAutoscaler', () => {
  test('HPA, PDB, NetworkPolicy and ServiceMonitor pass their schemas', () => {
    expect(schemaErrors(build())).toEqual([]);
    expect(schemaErrors(build({ metric: AutoscalingMetric.gpuDutyCycle(), clientNamespaces: ['web'], serviceMonitorLabels: { release: 'prom' } }))).toEqual([]);
  });

  test('autoscaling/v2 HPA on average queue time per request', () => {
    const hpa = find(build({ minReplicas: 2, maxReplicas: 8, metric: AutoscalingMetric.queueTimePerRequest({ target: Duration.millis(20) }) }), 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'isrv-v1' });
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 8 });
    expect(hpa.spec.metrics).toEqual([{
      type: 'Pods',
      pods: { metric: { name: 'nv_inference_queue_duration_us_per_request' }, target: { type: 'AverageValue', averageValue: 20000 } },
    }]);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
  });

  test('leaves spec.replicas out of the Deployment so that an apply never resets the HPA\'s scale', () => {
    const deployment = find(build({ minReplicas: 2, maxReplicas: 6 }, { replicas: 2 }), 'Deployment');
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(deployment.spec.selector).toEqual({ matchLabels: { app: 'isrv', version: 'v1' } });
    // Without an autoscaler the Deployment keeps its count.
    const c = chart('serving');
    new InferenceServer(c, 'Server', { name: 'isrv', image: 'img:1', modelRepositories: ['/models'], replicas: 2 });
    expect(find(synth(c), 'Deployment').spec.replicas).toBe(2);
  });

  test('or on GPU duty cycle', () => {
    const hpa = find(build({ metric: AutoscalingMetric.gpuDutyCycle({ targetPercent: 70 }) }), 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics[0].pods).toEqual({ metric: { name: 'nv_gpu_utilization' }, target: { type: 'AverageValue', averageValue: '700m' } });
  });

  test('PodDisruptionBudget selects the server pods and never blocks a drain', () => {
    const pdb = find(build(), 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { app: 'isrv', version: 'v1' } } });
  });

  test('ServiceMonitor scrapes the metrics Service only', () => {
    const m = build({ serviceMonitorLabels: { release: 'prom' } });
    const sm = find(m, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels).toMatchObject({ release: 'prom' });
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics-inference-server', path: '/metrics', interval: '15s' }]);
    const selected = m.filter((o) => o.kind === 'Service'
      && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(['isrv-metrics']);
  });

  test('NetworkPolicy admits the three ports: clients on 8000/8001, Prometheus on 8002', () => {
    const np = find(build({ clientNamespaces: ['web'], prometheusNamespace: 'gmp-system' }), 'NetworkPolicy');
    expect(np.spec.podSelector).toEqual({ matchLabels: { app: 'isrv' } });
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toEqual([
      {
        ports: [{ protocol: 'TCP', port: 8000 }, { protocol: 'TCP', port: 8001 }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'web' } } }],
      },
      {
        ports: [{ protocol: 'TCP', port: 8002 }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gmp-system' } } }],
      },
    ]);
    // Without clientNamespaces anyone may call: a LoadBalancer Service needs that.
    expect(find(build(), 'NetworkPolicy').spec.ingress[0].from).toBeUndefined();
  });

  test('parts can be turned off', () => {
    const m = build({ serviceMonitor: false, networkPolicy: false });
    expect(m.map((o) => o.kind).filter((k) => k === 'ServiceMonitor' || k === 'NetworkPolicy')).toEqual([]);
  });

  test('validation messages say what to fix', () => {
    expect(validationErrors(setup({ minReplicas: 3, maxReplicas: 2 }))).toEqual(['maxReplicas (2) must be a whole number ≥ minReplicas (3)']);
    expect(validationErrors(setup({ minReplicas: 0 }))[0]).toMatch(/minReplicas must be a whole number ≥ 1/);
    expect(validationErrors(setup({ metric: AutoscalingMetric.gpuDutyCycle() }, { numGpus: 0 }))).toEqual(['scaling on GPU duty cycle needs a server with numGpus ≥ 1']);
    expect(validationErrors(setup({ metric: AutoscalingMetric.gpuDutyCycle({ targetPercent: 150 }) }))[0]).toMatch(/must be in \(0, 100\]/);
    expect(validationErrors(setup({}, { metricsService: false }))[0]).toMatch(/enable metricsService/);
  });
});
