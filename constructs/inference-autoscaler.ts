import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import { PORT_NAMES, PROBE_PATHS } from '../server/contract';
import { CONTAINER_PORT_NAMES, InferenceServer } from './inference-server';
import { GMP_COLLECTOR_NAMESPACES, InferenceNetworkPolicy } from './inference-network-policy';

/**
 * How the Custom Metrics Stackdriver Adapter names a Managed Service for Prometheus metric for the HPA:
 * `prometheus.googleapis.com|<metric>|<kind>`. Only gauges can drive an HPA this way.
 * Source: GKE tutorial "Optimize Pod autoscaling based on metrics" (custom Prometheus metric, type Gauge) and
 * https://cloud.google.com/stackdriver/docs/managed-prometheus/hpa (adapter v0.13.1+).
 */
export function gmpGaugeMetric(name: string): string {
  return `prometheus.googleapis.com|${name}|gauge`;
}

/** Triton's gauge of requests waiting in the scheduler queues (labels model, version). */
export const PENDING_REQUESTS_METRIC = 'nv_inference_pending_request_count';
/** The server's per-GPU busy ratio, 0–1 (label gpu_uuid). */
export const GPU_UTILIZATION_METRIC = 'nv_gpu_utilization';

/** Options of {@link AutoscalingMetric.pendingRequests}. */
export interface PendingRequestsMetricOptions {
  /** Average requests waiting per pod above which pods are added. @default 5 */
  readonly targetPerPod?: number;
  /** Count only this model's queue (the metric has one series per model and version). @default - every series of the pod */
  readonly model?: string;
}

/** Options of {@link AutoscalingMetric.gpuDutyCycle}. */
export interface GpuDutyCycleMetricOptions {
  /** Average GPU busy percentage above which pods are added. @default 80 */
  readonly targetPercent?: number;
}

/**
 * What the HorizontalPodAutoscaler scales on. The Custom Metrics Stackdriver Adapter adds up the series of one pod
 * (k8s-stackdriver HEAD 673c7dd, translator/response_translator.go getMetricValuesFromResponse): one per model for the
 * pending-requests gauge, one per GPU for nv_gpu_utilization; the targets below account for that.
 */
export class AutoscalingMetric {
  /**
   * Requests waiting in the queues, averaged over the pods: a gauge, so GKE's stack serves it (PodMonitoring → Managed
   * Service for Prometheus → Custom Metrics Stackdriver Adapter → HPA). It rises before latency does. The adapter sums
   * a pod's models, so the target is per pod, all models together (or one model's, with `model`).
   */
  public static pendingRequests(options: PendingRequestsMetricOptions = {}): AutoscalingMetric {
    const target = options.targetPerPod ?? 5;
    const spec = podsMetric(gmpGaugeMetric(PENDING_REQUESTS_METRIC), k8s.Quantity.fromNumber(target),
      options.model ? { matchLabels: { 'metric.labels.model': options.model } } : undefined);
    return new AutoscalingMetric(() => spec, target > 0 ? undefined : `pending requests target must be above zero, got ${target}`, false, true);
  }

  /**
   * GPU duty cycle averaged over the pods, from the server's nv_gpu_utilization gauge through the same path. The adapter
   * sums a pod's GPUs, so the target is the percentage times the server's GPUs per pod.
   */
  public static gpuDutyCycle(options: GpuDutyCycleMetricOptions = {}): AutoscalingMetric {
    const percent = options.targetPercent ?? 80;
    // Milli-units keep the ratio an exact Kubernetes quantity (80% of one GPU → 800m).
    return new AutoscalingMetric(
      (server) => podsMetric(gmpGaugeMetric(GPU_UTILIZATION_METRIC), k8s.Quantity.fromString(`${Math.round(percent * 10 * Math.max(1, server.numGpus))}m`)),
      percent > 0 && percent <= 100 ? undefined : `GPU duty cycle target must be in (0, 100], got ${percent}`, true, true);
  }

  /** Any autoscaling/v2 metric, served by whatever metrics adapter the cluster runs. */
  public static custom(spec: k8s.MetricSpecV2): AutoscalingMetric {
    return new AutoscalingMetric(() => spec, undefined, false, false);
  }

  private constructor(
    private readonly build: (server: InferenceServer) => k8s.MetricSpecV2,
    public readonly error: string | undefined,
    public readonly needsGpu: boolean,
    /** Read through Managed Service for Prometheus: needs the PodMonitoring and the Custom Metrics Stackdriver Adapter. */
    public readonly viaManagedPrometheus: boolean,
  ) {}

  /** The HPA metric for this server. */
  public specFor(server: InferenceServer): k8s.MetricSpecV2 {
    return this.build(server);
  }
}

function podsMetric(name: string, averageValue: k8s.Quantity, selector?: k8s.LabelSelector): k8s.MetricSpecV2 {
  return { type: 'Pods', pods: { metric: { name, selector }, target: { type: 'AverageValue', averageValue } } };
}

/**
 * Who scrapes the metrics port: Managed Service for Prometheus (PodMonitoring, what GKE ships), the Prometheus
 * Operator (ServiceMonitor, only where it is installed) or nobody.
 */
export type MetricsScraping = 'pod-monitoring' | 'service-monitor' | 'none';

export interface InferenceAutoscalerProps {
  /** The server to scale, protect and monitor. */
  readonly server: InferenceServer;
  /** @default 1 */
  readonly minReplicas?: number;
  /** @default 4 */
  readonly maxReplicas?: number;
  /** @default AutoscalingMetric.pendingRequests() */
  readonly metric?: AutoscalingMetric;
  /** How long load must stay low before pods go; GPU nodes take minutes to come back. @default Duration.minutes(5) */
  readonly scaleDownStabilization?: Duration;
  /** PodDisruptionBudget: pods a voluntary disruption (node drain, upgrade) may take at once. @default 1 */
  readonly maxUnavailable?: number;
  /** @default 'pod-monitoring' */
  readonly scraping?: MetricsScraping;
  /** ServiceMonitor only: labels the Prometheus instance selects ServiceMonitors by, e.g. `{ release: 'prometheus' }`. @default {} */
  readonly serviceMonitorLabels?: Record<string, string>;
  /** @default '15s' */
  readonly scrapeInterval?: string;
  /** A NetworkPolicy admitting only the three server ports. @default true */
  readonly networkPolicy?: boolean;
  /**
   * Namespaces whose pods may scrape port 8002. @default GMP_COLLECTOR_NAMESPACES with PodMonitoring, ['monitoring']
   * with a ServiceMonitor
   */
  readonly scraperNamespaces?: string[];
  /** Namespaces whose pods may call ports 8000/8001. @default - any source, as a LoadBalancer Service needs */
  readonly clientNamespaces?: string[];
  /** Address ranges that may call ports 8000/8001, e.g. InferenceGateway.sourceRanges. @default - none beyond clientNamespaces */
  readonly clientIpBlocks?: string[];
}

/**
 * Scaling and protection for an InferenceServer: an autoscaling/v2 HorizontalPodAutoscaler on a gauge that GKE's own
 * monitoring serves (pending requests or GPU duty cycle, see AutoscalingMetric), a PodDisruptionBudget, the scrape
 * configuration (a Managed Service for Prometheus PodMonitoring by default, or a Prometheus Operator ServiceMonitor) and
 * a NetworkPolicy for the HTTP, gRPC and metrics ports. The HPA's metrics also need the Custom Metrics Stackdriver
 * Adapter in the cluster (CustomMetricsStackdriverAdapter).
 */
export class InferenceAutoscaler extends Construct {
  public readonly hpa: k8s.KubeHorizontalPodAutoscalerV2;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  public readonly podMonitoring?: ApiObject;
  public readonly serviceMonitor?: ApiObject;
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  public readonly metric: AutoscalingMetric;

  constructor(scope: Construct, id: string, props: InferenceAutoscalerProps) {
    super(scope, id);
    const server = props.server;
    const minReplicas = props.minReplicas ?? 1;
    const maxReplicas = props.maxReplicas ?? 4;
    const metric = props.metric ?? AutoscalingMetric.pendingRequests();
    this.metric = metric;
    const maxUnavailable = props.maxUnavailable ?? 1;
    const scraping = props.scraping ?? 'pod-monitoring';
    const interval = props.scrapeInterval ?? '15s';
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
        if (!['pod-monitoring', 'service-monitor', 'none'].includes(scraping)) {
          errors.push(`scraping "${scraping}" must be "pod-monitoring", "service-monitor" or "none"`);
        }
        if (metric.viaManagedPrometheus && scraping !== 'pod-monitoring') {
          errors.push(`the HPA reads ${metric.specFor(server).pods?.metric.name} from Managed Service for Prometheus, which only a PodMonitoring feeds: `
            + 'keep scraping "pod-monitoring", or scale on AutoscalingMetric.custom(...) served by your own adapter');
        }
        if (scraping === 'service-monitor' && !server.metricsServiceName) {
          errors.push('the ServiceMonitor scrapes the metrics Service: enable metricsService on the server or use scraping "pod-monitoring"');
        }
        if (!/^\d+(ms|s|m)$/.test(interval)) errors.push(`scrapeInterval "${interval}" must be a Prometheus duration such as 15s`);
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
        metrics: [metric.specFor(server)],
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

    if (scraping === 'pod-monitoring') {
      // monitoring.googleapis.com/v1 PodMonitoring (prometheus-engine CRD, kept in constructs/crds): the collectors scrape
      // the pods directly, by container port name; target labels default to pod and container (the CRD's
      // targetLabels.metadata), and the adapter finds a pod's series by metric.labels.pod (k8s-stackdriver
      // translator/utils/filter_builder.go PrometheusSchema).
      this.podMonitoring = new ApiObject(this, 'PodMonitoring', {
        apiVersion: 'monitoring.googleapis.com/v1',
        kind: 'PodMonitoring',
        metadata: metadata(server.name),
        spec: {
          selector: { matchLabels: { app: server.name } },
          endpoints: [{ port: CONTAINER_PORT_NAMES.metrics, path: PROBE_PATHS.metrics, interval }],
        },
      });
    } else if (scraping === 'service-monitor' && server.metricsServiceName) {
      this.serviceMonitor = new ApiObject(this, 'ServiceMonitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: metadata(server.name, props.serviceMonitorLabels),
        spec: {
          selector: { matchLabels: server.metricsServiceLabels },
          namespaceSelector: server.namespace ? { matchNames: [server.namespace] } : undefined,
          endpoints: [{ port: PORT_NAMES.metrics, path: PROBE_PATHS.metrics, interval }],
        },
      });
    }

    if (props.networkPolicy ?? true) {
      this.networkPolicy = new InferenceNetworkPolicy(this, 'NetworkPolicy', {
        server,
        scraperNamespaces: props.scraperNamespaces ?? (scraping === 'service-monitor' ? ['monitoring'] : [...GMP_COLLECTOR_NAMESPACES]),
        clientNamespaces: props.clientNamespaces,
        clientIpBlocks: props.clientIpBlocks,
      }).networkPolicy;
    }
  }
}
