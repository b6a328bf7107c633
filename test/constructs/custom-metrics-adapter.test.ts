import { CUSTOM_METRICS_ADAPTER_IMAGE, customMetricsAdapterMember, CustomMetricsStackdriverAdapter } from '../../constructs';
import { chart, find, schemaErrors, synth } from './helpers';

describe('CustomMetricsStackdriverAdapter', () => {
  const build = () => {
    const c = chart('default');
    new CustomMetricsStackdriverAdapter(c, 'Adapter');
    return synth(c);
  };

  test('is upstream\'s adapter_new_resource_model.yaml, schema-valid', () => {
    const m = build();
    expect(schemaErrors(m)).toEqual([]);
    expect(m.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/custom-metrics',
      'ServiceAccount/custom-metrics-stackdriver-adapter',
      'ClusterRoleBinding/custom-metrics:system:auth-delegator',
      'RoleBinding/custom-metrics-auth-reader',
      'ClusterRole/custom-metrics-resource-reader',
      'ClusterRoleBinding/custom-metrics-resource-reader',
      'Deployment/custom-metrics-stackdriver-adapter',
      'Service/custom-metrics-stackdriver-adapter',
      'APIService/v1beta1.custom.metrics.k8s.io',
      'APIService/v1beta2.custom.metrics.k8s.io',
      'APIService/v1beta1.external.metrics.k8s.io',
      'ClusterRole/external-metrics-reader',
      'ClusterRoleBinding/external-metrics-reader',
    ]);
  });

  test('runs the pinned adapter in the new resource model, reachable by the API services', () => {
    const m = build();
    const d = find(m, 'Deployment');
    expect(d.metadata.namespace).toBe('custom-metrics');
    const container = d.spec.template.spec.containers[0];
    expect(container.image).toBe(CUSTOM_METRICS_ADAPTER_IMAGE);
    expect(CUSTOM_METRICS_ADAPTER_IMAGE).toMatch(/^gcr\.io\/gke-release\/custom-metrics-stackdriver-adapter:v0\.16\.9-gke\.0$/);
    expect(container.command).toEqual(['/adapter', '--use-new-resource-model=true', '--fallback-for-container-metrics=true']);
    expect(d.spec.template.spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' });
    const svc = find(m, 'Service');
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    for (const api of m.filter((o) => o.kind === 'APIService')) {
      expect(api.spec.service).toEqual({ name: 'custom-metrics-stackdriver-adapter', namespace: 'custom-metrics' });
    }
    expect(find(m, 'APIService', 'v1beta2.custom.metrics.k8s.io').spec.versionPriority).toBe(200);
  });

  test('its Workload Identity member', () => {
    expect(customMetricsAdapterMember('my-project')).toBe('serviceAccount:my-project.svc.id.goog[custom-metrics/custom-metrics-stackdriver-adapter]');
  });
});
