import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import { GPU_TAINT } from './gke';

/**
 * Upstream: GoogleCloudPlatform/k8s-stackdriver at HEAD 673c7dd (2026-08-18),
 * custom-metrics-stackdriver-adapter/deploy/production/adapter_new_resource_model.yaml — the manifest Google's
 * Managed Service for Prometheus HPA guide applies (https://cloud.google.com/stackdriver/docs/managed-prometheus/hpa).
 * Names, RBAC, API services and the image below follow that file.
 */
export const CUSTOM_METRICS_ADAPTER_IMAGE = 'gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.9-gke.0';
/** The namespace and the Kubernetes ServiceAccount the adapter runs as (upstream's names). */
export const CUSTOM_METRICS_ADAPTER_NAMESPACE = 'custom-metrics';
export const CUSTOM_METRICS_ADAPTER_SERVICE_ACCOUNT = 'custom-metrics-stackdriver-adapter';
/**
 * The IAM role the adapter's identity needs on the project to read Cloud Monitoring
 * (https://cloud.google.com/kubernetes-engine/docs/tutorials/custom-metrics-autoscaling: roles/monitoring.viewer).
 */
export const CUSTOM_METRICS_ADAPTER_ROLE = 'roles/monitoring.viewer';

/** The Workload Identity member of the adapter's Kubernetes ServiceAccount in `projectId`. */
export function customMetricsAdapterMember(projectId: string): string {
  return `serviceAccount:${projectId}.svc.id.goog[${CUSTOM_METRICS_ADAPTER_NAMESPACE}/${CUSTOM_METRICS_ADAPTER_SERVICE_ACCOUNT}]`;
}

export interface CustomMetricsStackdriverAdapterProps {
  /** @default CUSTOM_METRICS_ADAPTER_IMAGE */
  readonly image?: string;
}

/**
 * The Custom Metrics Stackdriver Adapter: serves Cloud Monitoring metrics — including Managed Service for Prometheus
 * ones, as `prometheus.googleapis.com|<metric>|gauge` — to HorizontalPodAutoscalers through the custom.metrics.k8s.io
 * and external.metrics.k8s.io APIs. Cluster-wide: one per cluster, and not together with prometheus-adapter (their
 * APIService objects overlap). Its identity needs roles/monitoring.viewer (see customMetricsAdapterMember).
 */
export class CustomMetricsStackdriverAdapter extends Construct {
  public readonly deployment: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: CustomMetricsStackdriverAdapterProps = {}) {
    super(scope, id);
    const namespace = CUSTOM_METRICS_ADAPTER_NAMESPACE;
    const name = CUSTOM_METRICS_ADAPTER_SERVICE_ACCOUNT;
    const labels = { run: name, 'k8s-app': name };
    const subject = { kind: 'ServiceAccount', name, namespace };

    new k8s.KubeNamespace(this, 'Namespace', { metadata: { name: namespace } });
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace } });
    new k8s.KubeClusterRoleBinding(this, 'AuthDelegator', {
      metadata: { name: 'custom-metrics:system:auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [subject],
    });
    new k8s.KubeRoleBinding(this, 'AuthReader', {
      metadata: { name: 'custom-metrics-auth-reader', namespace: 'kube-system' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [subject],
    });
    new k8s.KubeClusterRole(this, 'ResourceReader', {
      metadata: { name: 'custom-metrics-resource-reader' },
      rules: [{ apiGroups: [''], resources: ['pods', 'nodes', 'nodes/stats'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'ResourceReaderBinding', {
      metadata: { name: 'custom-metrics-resource-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'custom-metrics-resource-reader' },
      subjects: [subject],
    });
    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, 'kubernetes.io/cluster-service': 'true' } },
          spec: {
            serviceAccountName: name,
            tolerations: [
              { key: GPU_TAINT.key, operator: 'Equal', value: GPU_TAINT.value, effect: GPU_TAINT.effect },
              { key: 'cloud.google.com/gke-tpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' },
            ],
            containers: [{
              name: 'pod-custom-metrics-stackdriver-adapter',
              image: props.image ?? CUSTOM_METRICS_ADAPTER_IMAGE,
              imagePullPolicy: 'Always',
              command: ['/adapter', '--use-new-resource-model=true', '--fallback-for-container-metrics=true'],
              resources: {
                limits: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('200Mi') },
                requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('200Mi') },
              },
              readinessProbe: {
                httpGet: { path: '/healthz', port: k8s.IntOrString.fromNumber(443), scheme: 'HTTPS' },
                initialDelaySeconds: 40, periodSeconds: 10, timeoutSeconds: 5,
              },
            }],
          },
        },
      },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels: { ...labels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'Adapter' } },
      spec: {
        type: 'ClusterIP',
        selector: labels,
        ports: [{ port: 443, protocol: 'TCP', targetPort: k8s.IntOrString.fromNumber(443) }],
      },
    });
    const apiService = (group: string, version: string, versionPriority: number) => new k8s.KubeApiService(this, `${version}.${group}`, {
      metadata: { name: `${version}.${group}` },
      spec: {
        insecureSkipTlsVerify: true,
        group,
        groupPriorityMinimum: 100,
        versionPriority,
        service: { name, namespace },
        version,
      },
    });
    apiService('custom.metrics.k8s.io', 'v1beta1', 100);
    apiService('custom.metrics.k8s.io', 'v1beta2', 200);
    apiService('external.metrics.k8s.io', 'v1beta1', 100);
    new k8s.KubeClusterRole(this, 'ExternalMetricsReader', {
      metadata: { name: 'external-metrics-reader' },
      rules: [{ apiGroups: ['external.metrics.k8s.io'], resources: ['*'], verbs: ['list', 'get', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'ExternalMetricsReaderBinding', {
      metadata: { name: 'external-metrics-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'external-metrics-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }],
    });
  }
}
