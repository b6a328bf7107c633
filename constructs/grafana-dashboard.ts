import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { isDnsSubdomain } from './gke';
import { grafanaDashboard } from './dashboards/grafana';

/** The label Grafana's dashboard sidecar (kiwigrid k8s-sidecar, as the Grafana Helm chart configures it) looks for by default. */
export const GRAFANA_SIDECAR_LABEL = { key: 'grafana_dashboard', value: '1' } as const;
/** The annotation the sidecar reads a dashboard's folder from when `folderAnnotation` is set to it. */
export const GRAFANA_FOLDER_ANNOTATION = 'grafana_folder';
/** The ConfigMap key holding the dashboard: the file name Grafana's sidecar writes it under. */
export const GRAFANA_DASHBOARD_KEY = 'inference-server.json';

export interface GrafanaDashboardProps {
  /** @default 'inference-server-dashboard' */
  readonly name?: string;
  /** Where the sidecar looks (its namespace, or all namespaces when it searches them all). @default - the chart's namespace */
  readonly namespace?: string;
  /** The sidecar's label, when the Grafana install changed it (`sidecar.dashboards.label` / `labelValue`). @default GRAFANA_SIDECAR_LABEL */
  readonly sidecarLabel?: { readonly key: string; readonly value: string };
  /** Grafana folder, through the `grafana_folder` annotation. @default - none (the sidecar's default folder) */
  readonly folder?: string;
}

/**
 * The inference dashboard (request success and failure, inferences vs executions, queue and compute latency with
 * p50/p99, pending requests, GPU utilization, memory and power; per model and per pod) as a ConfigMap that Grafana's
 * dashboard sidecar picks up. The same JSON is dashboards/inference-server.grafana.json for importing by hand.
 */
export class GrafanaDashboard extends Construct {
  public readonly configMap: k8s.KubeConfigMap;
  public readonly dashboard: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: GrafanaDashboardProps = {}) {
    super(scope, id);
    const name = props.name ?? 'inference-server-dashboard';
    const label = props.sidecarLabel ?? GRAFANA_SIDECAR_LABEL;
    this.dashboard = grafanaDashboard();
    this.node.addValidation({
      validate: () => [
        ...(isDnsSubdomain(name) ? [] : [`name "${name}" must be a valid ConfigMap name`]),
        ...(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(label.key) ? [] : [`sidecarLabel key "${label.key}" is not a label key`]),
      ],
    });
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: {
        name,
        namespace: props.namespace ?? Chart.of(this).namespace,
        labels: { [label.key]: label.value, 'app.kubernetes.io/name': 'inference-server', 'app.kubernetes.io/component': 'dashboard' },
        annotations: props.folder ? { [GRAFANA_FOLDER_ANNOTATION]: props.folder } : undefined,
      },
      data: { [GRAFANA_DASHBOARD_KEY]: JSON.stringify(this.dashboard) },
    });
  }
}
