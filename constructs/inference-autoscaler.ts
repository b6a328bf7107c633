import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { DEFAULT_PORTS, PORT_NAMES, PROBE_PATHS } from '../server/contract';
import { InferenceServer } from './inference-server';

/** Options of {@link AutoscalingMetric.queueTimePerRequest}. */
export interface QueueTimeMetricOptions {
  /** Average time a request waits in the scheduler queue above which pods are added. @default Duration.millis(50) */
  readonly target?: Duration;
  /**
   * Pods metric the metrics adapter serves, in microseconds per request: for prometheus-adapter,
   * rate(nv_inference_queue_duration_us[1m]) / rate(nv_inference_request_success[1m]).
   * @default 'nv_inference_queue_duration_us_per_request'
   */
  readonly metricName?: string;
}

/** Options of {@link AutoscalingMetric.gpuDutyCycle}. */
export interface GpuDutyCycleMetricOptions {
  /** Average GPU busy percentage above which pods are added. @default 80 */
  readonly targetPercent?: number;
  /** Pods metric the metrics adapter serves as a 0–1 ratio, the server's per-pod GPU utilization. @default 'nv_gpu_utilization' */
  readonly metricName?: string;
}

/** What the HorizontalPodAutoscaler scales on. */
export class AutoscalingMetric {
  /** Average queue time per request, the signal Triton deployments scale on: it rises before latency does. */
  public static queueTimePerRequest(options: QueueTimeMetricOptions = {}): AutoscalingMetric {
    const micros = Math.round((options.target ?? Duration.millis(50)).toMilliseconds() * 1000);
    return new AutoscalingMetric(podsMetric(options.metricName ?? 'nv_inference_queue_duration_us_per_request', k8s.Quantity.fromNumber(micros)),
      micros > 0 ? undefined : 'queue time target must be longer than zero', false);
  }

  /** GPU duty cycle averaged over the pods. */
  public static gpuDutyCycle(options: GpuDutyCycleMetricOptions = {}): AutoscalingMetric {
    const percent = options.targetPercent ?? 80;
    // Milli-units keep the ratio an exact Kubernetes quantity (80% → 800m).
    const target = k8s.Quantity.fromString(`${Math.round(percent * 10)}m`);
    return new AutoscalingMetric(podsMetric(options.metricName ?? 'nv_gpu_utilization', target),
      percent > 0 && percent <= 100 ? undefined : `GPU duty cycle target must be in (0, 100], got ${percent}`, true);
  }

  /** Any autoscaling/v2 metric. */
  public static custom(spec: k8s.MetricSpecV2): AutoscalingMetric {
    return new AutoscalingMetric(spec, undefined, false);
  }

  private constructor(public readonly spec: k8s.MetricSpecV2, public readonly error: string | undefined, public readonly needsGpu: boolean) {}
}

function podsMetric(name: string, averageValue: k8s.Quantity): k8s.MetricSpecV2 {
  return { type: 'Pods', pods: { metric: { name }, target: { type: 'AverageValue', averageValue } } };
}

export interface InferenceAutoscalerProps {
  /** The server to scale, protect and monitor. */
  readonly server: InferenceServer;
  /** @default 1 */
  readonly minReplicas?: number;
  /** @default 4 */
  readonly maxReplicas?: number;
  /** @default AutoscalingMetric.queueTimePerRequest() */
  readonly metric?: AutoscalingMetric;
  /** How long load must stay low before pods go; GPU nodes take minutes to come back. @default Duration.minutes(5) */
  readonly scaleDownStabilization?: Duration;
  /** PodDisruptionBudget: pods a voluntary disruption (node drain, upgrade) may take at once. @default 1 */
  readonly maxUnavailable?: number;
  /** A monitoring.coreos.com/v1 ServiceMonitor on the metrics Service. @default true */
  readonly serviceMonitor?: boolean;
  /** Labels the Prometheus instance selects ServiceMonitors by, e.g. `{ release: 'prometheus' }`. @default {} */
  readonly serviceMonitorLabels?: Record<string, string>;
  /** @default '15s' */
  readonly scrapeInterval?: string;
  /** A NetworkPolicy admitting only the three server ports. @default true */
  readonly networkPolicy?: boolean;
  /** Namespace whose pods may scrape port 8002. @default 'monitoring' */
  readonly prometheusNamespace?: string;
  /** Namespaces whose pods may call ports 8000/8001. @default - any source, as a LoadBalancer Service needs */
  readonly clientNamespaces?: string[];
}

/**
 * Scaling and protection for an InferenceServer: an autoscaling/v2 HorizontalPodAutoscaler on queue time per request
 * or GPU duty cycle (Pods metrics served by a metrics adapter), a PodDisruptionBudget, a ServiceMonitor for the
 * Prometheus Operator and a NetworkPolicy for the HTTP, gRPC and metrics ports.
 */
export class InferenceAutoscaler extends Construct {
  public readonly hpa: k8s.KubeHorizontalPodAutoscalerV2;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  public readonly serviceMonitor?: ApiObject;
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: InferenceAutoscalerProps) {
    super(scope, id);
    const server = props.server;
    const minReplicas = props.minReplicas ?? 1;
    const maxReplicas = props.maxReplicas ?? 4;
    const metric = props.metric ?? AutoscalingMetric.queueTimePerRequest();
    const maxUnavailable = props.maxUnavailable ?? 1;
    const labels = { app: server.name, 'app.kubernetes.io/name': 'inference-server', 'app.kubernetes.io/instance': server.name };
    const metadata = (name: string, extra: Record<string, string> = {}) => ({
      name, namespace: server.namespace, labels: { ...labels, ...extra },
    });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!Number.isInteger(minReplicas) || minReplicas < 1) errors.push(`minReplicas must be a whole number ≥ 1, got ${minReplicas}`);
        if (!Number.isInteger(maxReplicas) || maxReplicas < minReplicas) errors.push(`maxReplicas (${maxReplicas}) must be a whole number ≥ minReplicas (${minReplicas})`);
        if (!Number.isInteger(maxUnavailable) || maxUnavailable < 0) errors.push(`maxUnavailable must be a whole number ≥ 0, got ${maxUnavailable}`);
        if (metric.error) errors.push(metric.error);
        if (metric.needsGpu && server.numGpus === 0) errors.push('scaling on GPU duty cycle needs a server with numGpus ≥ 1');
        if ((props.serviceMonitor ?? true) && !server.metricsServiceName) {
          errors.push('the ServiceMonitor scrapes the metrics Service: enable metricsService on the server or set serviceMonitor: false');
        }
        return errors;
      },
    });

    // The HPA owns the replica count: a Deployment manifest that still sets spec.replicas would reset the scale on every
    // `kubectl apply` (and take over the field under server-side apply), so it is left out of the synthesized Deployment.
    server.deployment.addJsonPatch(JsonPatch.remove('/spec/replicas'));

    this.hpa = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Hpa', {
      metadata: metadata(server.deploymentName),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: server.deploymentName },
        minReplicas,
        maxReplicas,
        metrics: [metric.spec],
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: (props.scaleDownStabilization ?? Duration.minutes(5)).toSeconds(),
            policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
          },
        },
      },
    });

    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'Pdb', {
      metadata: metadata(server.deploymentName),
      spec: {
        // maxUnavailable rather than minAvailable: with one replica minAvailable: 1 would block every node drain.
        maxUnavailable: k8s.IntOrString.fromNumber(maxUnavailable),
        selector: { matchLabels: server.selectorLabels },
      },
    });

    if ((props.serviceMonitor ?? true) && server.metricsServiceName) {
      this.serviceMonitor = new ApiObject(this, 'ServiceMonitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: metadata(server.name, props.serviceMonitorLabels),
        spec: {
          selector: { matchLabels: server.metricsServiceLabels },
          namespaceSelector: server.namespace ? { matchNames: [server.namespace] } : undefined,
          endpoints: [{ port: PORT_NAMES.metrics, path: PROBE_PATHS.metrics, interval: props.scrapeInterval ?? '15s' }],
        },
      });
    }

    if (props.networkPolicy ?? true) {
      const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
      const namespacePeer = (name: string): k8s.NetworkPolicyPeer => ({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
      });
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: metadata(server.name),
        spec: {
          podSelector: { matchLabels: { app: server.name } },
          policyTypes: ['Ingress'],
          ingress: [
            { ports: [tcp(DEFAULT_PORTS.http), tcp(DEFAULT_PORTS.grpc)], from: props.clientNamespaces?.map(namespacePeer) },
            { ports: [tcp(DEFAULT_PORTS.metrics)], from: [namespacePeer(props.prometheusNamespace ?? 'monitoring')] },
          ],
        },
      });
    }
  }
}
