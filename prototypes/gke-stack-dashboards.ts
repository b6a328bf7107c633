import { Construct } from 'constructs';
import { GrafanaDashboard } from '../constructs';
import { ParamSpecs } from './params';

/** gke-stack's dashboard parameter: the Grafana dashboard as a ConfigMap for Grafana's sidecar. */
export const GKE_STACK_DASHBOARD_PARAMS: ParamSpecs = {
  grafanaDashboardNamespace: {
    type: 'string', default: '',
    description: 'namespace where Grafana\'s dashboard sidecar looks for ConfigMaps labelled grafana_dashboard: "1"; empty: no dashboard ConfigMap',
  },
};

export interface GkeStackDashboardProps {
  /** @default - no dashboard ConfigMap */
  readonly grafanaDashboardNamespace?: string;
}

/** The inference dashboard's ConfigMap, when a namespace is given. */
export function addDashboards(scope: Construct, props: GkeStackDashboardProps): GrafanaDashboard | undefined {
  if (!props.grafanaDashboardNamespace) return undefined;
  return new GrafanaDashboard(scope, 'GrafanaDashboard', { namespace: props.grafanaDashboardNamespace });
}
