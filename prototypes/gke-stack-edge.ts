import { Construct } from 'constructs';
import { GatewayTls, GkeGatewayClass, InferenceGateway, InferenceServer, InferenceServiceType } from '../constructs';
import { ParamSpecs } from './params';

/** gke-stack's parameters for how clients reach the server: a public LoadBalancer Service, or a GKE Gateway. */
export const GKE_STACK_EDGE_PARAMS: ParamSpecs = {
  edge: {
    type: 'string', default: 'service',
    description: 'service: the Service of type serviceType is the edge; gateway: a ClusterIP Service behind a GKE Gateway (HTTPRoute, GRPCRoute, health check policy)',
  },
  gatewayClass: { type: 'string', default: 'gke-l7-global-external-managed', description: 'GKE GatewayClass (edge: gateway)' },
  gatewayHttpHostname: { type: 'string', default: '', description: 'host name of the REST API behind the Gateway; empty: any' },
  gatewayGrpcHostname: { type: 'string', default: '', description: 'host name of the gRPC API behind the Gateway (needs TLS and gatewayHttpHostname; GKE\'s controller does not program GRPCRoute yet); empty: no gRPC route' },
  gatewayTlsSecret: { type: 'string', default: '', description: 'kubernetes.io/tls Secret(s), comma-separated, the HTTPS listener serves' },
  gatewayCertificateMap: { type: 'string', default: '', description: 'Certificate Manager certificate map (global classes) instead of a Secret' },
  gatewayStaticAddress: { type: 'string', default: '', description: 'name of a reserved static IP address for the Gateway' },
  proxyOnlySubnet: { type: 'string', default: '', description: 'CIDR of the VPC\'s proxy-only subnet (regional and internal GatewayClasses)' },
};

export interface GkeStackEdgeProps {
  /** @default 'service' */
  readonly edge?: 'service' | 'gateway';
  /** @default 'gke-l7-global-external-managed' */
  readonly gatewayClass?: GkeGatewayClass;
  /** @default - any host name */
  readonly gatewayHttpHostname?: string;
  /** @default - no gRPC route */
  readonly gatewayGrpcHostname?: string;
  /** Comma-separated Secret names. @default - no TLS unless gatewayCertificateMap */
  readonly gatewayTlsSecret?: string;
  /** @default - none */
  readonly gatewayCertificateMap?: string;
  /** @default - an ephemeral address */
  readonly gatewayStaticAddress?: string;
  /** @default - none */
  readonly proxyOnlySubnet?: string;
}

const list = (value: string | undefined): string[] => (value ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');

/** The Service type the server gets: ClusterIP behind a Gateway, else the one asked for. */
export function edgeServiceType(props: GkeStackEdgeProps & { serviceType?: InferenceServiceType }): InferenceServiceType | undefined {
  return props.edge === 'gateway' ? 'ClusterIP' : props.serviceType;
}

function tlsOf(props: GkeStackEdgeProps): GatewayTls | undefined {
  const secrets = list(props.gatewayTlsSecret);
  if (props.gatewayCertificateMap) return { certificateMap: props.gatewayCertificateMap };
  return secrets.length > 0 ? { secretNames: secrets } : undefined;
}

/** The Gateway in front of the server with `edge: gateway`; validation errors for inconsistent edge parameters. */
export function addEdge(scope: Construct, server: InferenceServer, props: GkeStackEdgeProps): InferenceGateway | undefined {
  const edge = props.edge ?? 'service';
  scope.node.addValidation({
    validate: () => {
      const errors: string[] = [];
      if (!['service', 'gateway'].includes(edge)) errors.push(`edge "${edge}" must be "service" or "gateway"`);
      if (props.gatewayCertificateMap && list(props.gatewayTlsSecret).length > 0) {
        errors.push('give gatewayTlsSecret or gatewayCertificateMap, not both: GKE refuses a certificate map together with listener certificates');
      }
      const gatewayOnly = ['gatewayHttpHostname', 'gatewayGrpcHostname', 'gatewayTlsSecret', 'gatewayCertificateMap', 'gatewayStaticAddress', 'proxyOnlySubnet'] as const;
      if (edge !== 'gateway') {
        for (const key of gatewayOnly) if (props[key]) errors.push(`${key} only applies with edge "gateway"`);
      }
      return errors;
    },
  });
  if (edge !== 'gateway') return undefined;
  return new InferenceGateway(scope, 'Gateway', {
    server,
    gatewayClassName: props.gatewayClass,
    httpHostname: props.gatewayHttpHostname || undefined,
    grpcHostname: props.gatewayGrpcHostname || undefined,
    tls: tlsOf(props),
    staticAddressName: props.gatewayStaticAddress || undefined,
    proxyOnlySubnet: props.proxyOnlySubnet || undefined,
  });
}
