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
  test('HPA, PDB, NetworkPolicy, PodMonitoring (against our schema of its API) and ServiceMonitor pass their schemas', () => {
    const m = build();
    expect(m.map((o) => o.kind)).toContain('PodMonitoring');
    expect(schemaErrors(m)).toEqual([]);
    expect(schemaErrors(build({
      metric: AutoscalingMetric.custom({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }),
      clientNamespaces: ['web'], scraping: 'service-monitor', serviceMonitorLabels: { release: 'prom' },
    }))).toEqual([]);
  });

  test('autoscaling/v2 HPA on the pending-requests gauge, named as the Custom Metrics Stackdriver Adapter serves GMP metrics', () => {
    const hpa = find(build({ minReplicas: 2, maxReplicas: 8, scaleDownStabilization: Duration.minutes(10) }), 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'isrv-v1' });
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 8 });
    expect(hpa.spec.metrics).toEqual([{
      type: 'Pods',
      pods: { metric: { name: 'prometheus.googleapis.com|nv_inference_pending_request_count|gauge' }, target: { type: 'AverageValue', averageValue: 5 } },
    }]);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(600);
    const oneModel = find(build({ metric: AutoscalingMetric.pendingRequests({ targetPerPod: 2, model: 'simple' }) }), 'HorizontalPodAutoscaler');
    expect(oneModel.spec.metrics[0].pods.metric.selector).toEqual({ matchLabels: { 'metric.labels.model': 'simple' } });
  });

  test('PodMonitoring scrapes the server pods\' metrics port by name; no ServiceMonitor unless asked for', () => {
    const m = build();
    expect(m.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
    const pm = find(m, 'PodMonitoring');
    expect(pm.apiVersion).toBe('monitoring.googleapis.com/v1');
    expect(pm.metadata.namespace).toBe('serving');
    expect(pm.spec).toEqual({ selector: { matchLabels: { app: 'isrv' } }, endpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }] });
    const d = find(m, 'Deployment');
    expect(d.spec.template.metadata.labels).toMatchObject(pm.spec.selector.matchLabels);
    expect(d.spec.template.spec.containers[0].ports).toContainEqual({ name: 'metrics', containerPort: 8002, protocol: 'TCP' });
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
    expect(hpa.spec.metrics[0].pods).toEqual({
      metric: { name: 'prometheus.googleapis.com|nv_gpu_utilization|gauge' }, target: { type: 'AverageValue', averageValue: '700m' },
    });
    // The adapter adds up a pod's GPUs: 70% of each of 4 GPUs is 2.8.
    const four = find(build({ metric: AutoscalingMetric.gpuDutyCycle({ targetPercent: 70 }) }, { numGpus: 4 }), 'HorizontalPodAutoscaler');
    expect(four.spec.metrics[0].pods.target.averageValue).toBe('2800m');
  });

  test('PodDisruptionBudget selects the server pods and never blocks a drain', () => {
    const pdb = find(build(), 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { app: 'isrv', version: 'v1' } } });
  });

  test('ServiceMonitor, on request, scrapes the metrics Service only', () => {
    const custom = AutoscalingMetric.custom({ type: 'Pods', pods: { metric: { name: 'q' }, target: { type: 'AverageValue', averageValue: 1 as never } } });
    const m = build({ scraping: 'service-monitor', serviceMonitorLabels: { release: 'prom' }, metric: custom });
    expect(m.filter((o) => o.kind === 'PodMonitoring')).toEqual([]);
    const sm = find(m, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels).toMatchObject({ release: 'prom' });
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics-inference-server', path: '/metrics', interval: '15s' }]);
    const selected = m.filter((o) => o.kind === 'Service'
      && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(['isrv-metrics']);
  });

  test('NetworkPolicy admits GKE\'s managed Prometheus collectors to 8002 by default', () => {
    const np = find(build(), 'NetworkPolicy');
    expect(np.spec.ingress[1]).toEqual({
      ports: [{ protocol: 'TCP', port: 8002 }],
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gke-gmp-system' } } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gmp-system' } } },
      ],
    });
    const custom = AutoscalingMetric.custom({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } });
    expect(find(build({ scraping: 'service-monitor', metric: custom }), 'NetworkPolicy').spec.ingress[1].from)
      .toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  });

  test('NetworkPolicy admits the three ports: clients on 8000/8001, the scrapers on 8002', () => {
    const np = find(build({ clientNamespaces: ['web'], scraperNamespaces: ['gmp-system'] }), 'NetworkPolicy');
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
    const custom = AutoscalingMetric.custom({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } });
    const m = build({ scraping: 'none', networkPolicy: false, metric: custom });
    expect(m.map((o) => o.kind).filter((k) => ['ServiceMonitor', 'PodMonitoring', 'NetworkPolicy'].includes(k))).toEqual([]);
  });

  test('validation messages say what to fix', () => {
    expect(validationErrors(setup({ minReplicas: 3, maxReplicas: 2 }))).toEqual(['maxReplicas (2) must be a whole number ≥ minReplicas (3)']);
    expect(validationErrors(setup({ minReplicas: 0 }))[0]).toMatch(/minReplicas must be a whole number ≥ 1/);
    expect(validationErrors(setup({ metric: AutoscalingMetric.gpuDutyCycle() }, { numGpus: 0 }))).toEqual(['scaling on GPU duty cycle needs a server with numGpus ≥ 1']);
    expect(validationErrors(setup({ metric: AutoscalingMetric.gpuDutyCycle({ targetPercent: 150 }) }))[0]).toMatch(/must be in \(0, 100\]/);
    const custom = AutoscalingMetric.custom({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } });
    expect(validationErrors(setup({ scraping: 'service-monitor', metric: custom }, { metricsService: false }))[0]).toMatch(/enable metricsService/);
    expect(validationErrors(setup({ scraping: 'service-monitor' }))[0])
      .toMatch(/reads prometheus.googleapis.com\|nv_inference_pending_request_count\|gauge from Managed Service for Prometheus, which only a PodMonitoring feeds/);
    expect(validationErrors(setup({ metric: AutoscalingMetric.pendingRequests({ targetPerPod: 0 }) }))[0]).toMatch(/pending requests target must be above zero/);
    expect(validationErrors(setup({ scrapeInterval: 'often' }))[0]).toMatch(/scrapeInterval "often"/);
  });
});
