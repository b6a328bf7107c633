import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { DEFAULT_PORTS, PORT_NAMES, PROBE_PATHS } from '../server/contract';
import { isDnsLabel, isDnsSubdomain } from './gke';
import { InferenceServer } from './inference-server';

/**
 * Single-cluster GatewayClasses of the GKE Gateway controller (GKE docs, "GatewayClass capabilities"):
 * global and regional external Application Load Balancers, the regional internal one, and the classic global one.
 */
export const GKE_GATEWAY_CLASSES = [
  'gke-l7-global-external-managed',
  'gke-l7-regional-external-managed',
  'gke-l7-rilb',
  'gke-l7-gxlb',
] as const;
export type GkeGatewayClass = (typeof GKE_GATEWAY_CLASSES)[number];

/** Classes whose proxies are Google Front Ends; the others proxy from the VPC's proxy-only subnet. */
const GLOBAL_CLASSES: readonly GkeGatewayClass[] = ['gke-l7-global-external-managed', 'gke-l7-gxlb'];

/**
 * Where Google's load balancers send health checks from, and where Google Front Ends (global classes) proxy from
 * (Cloud Load Balancing docs, "Firewall rules": 35.191.0.0/16 and 130.211.0.0/22).
 */
export const GOOGLE_HEALTH_CHECK_RANGES = ['35.191.0.0/16', '130.211.0.0/22'] as const;

/** The Service port protocol that asks the Gateway for HTTP/2 cleartext to the pods (Gateway API "Backend Protocol"). */
export const H2C_APP_PROTOCOL = 'kubernetes.io/h2c';

/** GKE's Gateway annotation naming a Certificate Manager certificate map. */
export const CERTMAP_ANNOTATION = 'networking.gke.io/certmap';
/** GKE's listener TLS option naming Compute Engine SSL certificates (comma-separated). */
export const PRE_SHARED_CERTS_OPTION = 'networking.gke.io/pre-shared-certs';

/** How the Gateway terminates TLS: one of the certificate sources GKE's Gateway controller accepts. */
export type GatewayTls =
  /** Kubernetes TLS Secrets (`kubernetes.io/tls`) in the server's namespace, referenced by the HTTPS listener. */
  | { readonly secretNames: string[] }
  /** A Certificate Manager certificate map (global classes), through the `networking.gke.io/certmap` annotation. */
  | { readonly certificateMap: string }
  /** Compute Engine SSL certificates already in the project, through the listener's `networking.gke.io/pre-shared-certs` option. */
  | { readonly preSharedCertificates: string[] };

export interface InferenceGatewayProps {
  /** The server to expose. Its Service should be ClusterIP: the Gateway reaches the pods through container-native NEGs. */
  readonly server: InferenceServer;
  /** @default 'gke-l7-global-external-managed' */
  readonly gatewayClassName?: GkeGatewayClass;
  /** @default - the server's name */
  readonly gatewayName?: string;
  /** Host name of the HTTP/REST API (port 8000). @default - any host name (then no gRPC route can share the listener) */
  readonly httpHostname?: string;
  /**
   * Host name of the gRPC API (port 8001). Needs `tls` (Google's load balancers speak HTTP/2 to clients only over TLS)
   * and an `httpHostname` other than this one: the Gateway API accepts only one of an HTTPRoute and a GRPCRoute whose
   * host names meet on a listener. GKE's own controller does not program GRPCRoute yet (gke-gateway-api issue #31):
   * there the route stays unaccepted. @default - no gRPC route
   */
  readonly grpcHostname?: string;
  /** @default - no TLS: plain HTTP on port 80 */
  readonly tls?: GatewayTls;
  /** A reserved static IP address (global for global classes, regional otherwise), by name. @default - an ephemeral address */
  readonly staticAddressName?: string;
  /**
   * The VPC's proxy-only subnet (CIDR), where regional and internal load balancers proxy from; needed to admit them
   * through a NetworkPolicy (see `sourceRanges`). @default - none (global classes need none)
   */
  readonly proxyOnlySubnet?: string;
  /**
   * Longest time the load balancer waits for a response (GCPBackendPolicy `timeoutSec`; GKE's default is 30 s, short for
   * a large model or a full queue). @default Duration.minutes(5)
   */
  readonly requestTimeout?: Duration;
}

/**
 * The production edge on GKE: a Gateway (GKE Gateway controller, Gateway API v1) in front of the server's ClusterIP
 * Service, an HTTPRoute for the REST API under `/v2` on port 8000, a GRPCRoute for port 8001 (HTTP/2 cleartext to the
 * pods, the Service port's `appProtocol` being set to `kubernetes.io/h2c`), a HealthCheckPolicy probing
 * `/v2/health/ready` on port 8000 (the load balancer's default would probe `/` and mark every pod unhealthy), and a
 * GCPBackendPolicy with the request timeout. TLS from a Secret, a Certificate Manager map or pre-shared certificates.
 */
export class InferenceGateway extends Construct {
  public readonly gatewayName: string;
  public readonly gatewayClassName: GkeGatewayClass;
  /**
   * Source ranges the load balancer reaches the pods from (health checks, and proxies): give them to a NetworkPolicy
   * that restricts the HTTP and gRPC ports (InferenceAutoscaler's `clientIpBlocks`).
   */
  public readonly sourceRanges: string[];
  public readonly gateway: ApiObject;
  public readonly httpRoute: ApiObject;
  public readonly grpcRoute?: ApiObject;
  public readonly healthCheckPolicy: ApiObject;
  public readonly backendPolicy: ApiObject;

  constructor(scope: Construct, id: string, props: InferenceGatewayProps) {
    super(scope, id);
    const server = props.server;
    const className = props.gatewayClassName ?? 'gke-l7-global-external-managed';
    const isGlobal = GLOBAL_CLASSES.includes(className);
    this.gatewayName = props.gatewayName ?? server.name;
    this.gatewayClassName = className;
    this.sourceRanges = [...GOOGLE_HEALTH_CHECK_RANGES, ...(props.proxyOnlySubnet ? [props.proxyOnlySubnet] : [])];
    const timeoutSecs = (props.requestTimeout ?? Duration.minutes(5)).toSeconds();
    const tls = props.tls;
    const labels = { app: server.name, 'app.kubernetes.io/name': 'inference-server', 'app.kubernetes.io/instance': server.name };
    const metadata = (name: string, annotations?: Record<string, string>) => ({ name, namespace: server.namespace, labels, annotations });

    this.node.addValidation({ validate: () => validateGateway(props, className, isGlobal, timeoutSecs, server) });

    const listener = tls === undefined
      ? { name: 'http', protocol: 'HTTP', port: 80 }
      : { name: 'https', protocol: 'HTTPS', port: 443, ...listenerTls(tls) };
    this.gateway = new ApiObject(this, 'Gateway', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: metadata(this.gatewayName, tls && 'certificateMap' in tls ? { [CERTMAP_ANNOTATION]: tls.certificateMap } : undefined),
      spec: {
        gatewayClassName: className,
        // Routes of this namespace only: the Gateway is the server's, not a shared one.
        listeners: [{ ...listener, allowedRoutes: { namespaces: { from: 'Same' } } }],
        addresses: props.staticAddressName ? [{ type: 'NamedAddress', value: props.staticAddressName }] : undefined,
      },
    });

    const parentRefs = [{ name: this.gatewayName, sectionName: listener.name }];
    const backend = (port: number) => [{ name: server.serviceName, port }];
    this.httpRoute = new ApiObject(this, 'HttpRoute', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: metadata(`${server.name}-http`),
      spec: {
        parentRefs,
        hostnames: props.httpHostname ? [props.httpHostname] : undefined,
        // The KServe v2 / Triton REST API lives under /v2; nothing else on port 8000 is for clients.
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: backend(DEFAULT_PORTS.http) }],
      },
    });

    if (props.grpcHostname) {
      this.grpcRoute = new ApiObject(this, 'GrpcRoute', {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GRPCRoute',
        metadata: metadata(`${server.name}-grpc`),
        spec: { parentRefs, hostnames: [props.grpcHostname], rules: [{ backendRefs: backend(DEFAULT_PORTS.grpc) }] },
      });
      // The gRPC frontend speaks HTTP/2 without TLS: tell the load balancer so, on the Service's gRPC port.
      const ports: Array<{ name?: string }> = server.service.toJson().spec?.ports ?? [];
      const grpcPort = ports.findIndex((port) => port.name === PORT_NAMES.grpc);
      if (grpcPort < 0) throw new Error(`the Service ${server.serviceName} has no port named ${PORT_NAMES.grpc}`);
      server.service.addJsonPatch(JsonPatch.add(`/spec/ports/${grpcPort}/appProtocol`, H2C_APP_PROTOCOL));
    }

    const targetRef = { group: '', kind: 'Service', name: server.serviceName };
    // One policy for the Service's backend services (HTTP and gRPC): both are ready when /v2/health/ready says so.
    this.healthCheckPolicy = new ApiObject(this, 'HealthCheckPolicy', {
      apiVersion: 'networking.gke.io/v1',
      kind: 'HealthCheckPolicy',
      metadata: metadata(server.serviceName),
      spec: {
        targetRef,
        default: {
          checkIntervalSec: 5,
          timeoutSec: 5,
          healthyThreshold: 1,
          unhealthyThreshold: 2,
          config: {
            type: 'HTTP',
            httpHealthCheck: { portSpecification: 'USE_FIXED_PORT', port: DEFAULT_PORTS.http, requestPath: PROBE_PATHS.ready },
          },
        },
      },
    });
    this.backendPolicy = new ApiObject(this, 'BackendPolicy', {
      apiVersion: 'networking.gke.io/v1',
      kind: 'GCPBackendPolicy',
      metadata: metadata(server.serviceName),
      spec: { targetRef, default: { timeoutSec: timeoutSecs } },
    });
  }
}

function listenerTls(tls: GatewayTls): { tls?: Record<string, unknown> } {
  if ('secretNames' in tls) return { tls: { mode: 'Terminate', certificateRefs: tls.secretNames.map((name) => ({ kind: 'Secret', group: '', name })) } };
  if ('preSharedCertificates' in tls) return { tls: { mode: 'Terminate', options: { [PRE_SHARED_CERTS_OPTION]: tls.preSharedCertificates.join(',') } } };
  // A certificate map comes from the Gateway's annotation; GKE refuses it together with listener certificates.
  return {};
}

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function validateGateway(props: InferenceGatewayProps, className: string, isGlobal: boolean, timeoutSecs: number, server: InferenceServer): string[] {
  const errors: string[] = [];
  if (!(GKE_GATEWAY_CLASSES as readonly string[]).includes(className)) {
    errors.push(`gatewayClassName "${className}" is not a single-cluster GKE GatewayClass: use one of ${GKE_GATEWAY_CLASSES.join(', ')}`);
  }
  if (props.gatewayName !== undefined && !isDnsLabel(props.gatewayName, 63)) errors.push(`gatewayName "${props.gatewayName}" must be a DNS label`);
  for (const [key, host] of [['httpHostname', props.httpHostname], ['grpcHostname', props.grpcHostname]] as const) {
    if (host !== undefined && (host.length > 253 || !HOSTNAME.test(host))) errors.push(`${key} "${host}" must be a DNS name (no IP address, no port)`);
  }
  if (props.grpcHostname !== undefined) {
    if (!props.tls) errors.push('grpcHostname needs tls: Google\'s load balancers speak HTTP/2 (gRPC) to clients only over HTTPS');
    if (!props.httpHostname || hostnamesMeet(props.httpHostname, props.grpcHostname)) {
      errors.push('grpcHostname needs an httpHostname other than it: the Gateway API accepts only one of an HTTPRoute and a GRPCRoute whose host names meet on a listener');
    }
  }
  const tls = props.tls;
  if (tls && 'secretNames' in tls && (tls.secretNames.length === 0 || tls.secretNames.some((s) => !isDnsSubdomain(s)))) {
    errors.push('tls.secretNames must name at least one kubernetes.io/tls Secret');
  }
  if (tls && 'preSharedCertificates' in tls && tls.preSharedCertificates.length === 0) errors.push('tls.preSharedCertificates must name at least one certificate');
  if (tls && 'certificateMap' in tls && !isGlobal) {
    errors.push(`a Certificate Manager map (tls.certificateMap) needs a global GatewayClass, not ${className}: use tls.secretNames`);
  }
  if (!isGlobal && props.proxyOnlySubnet === undefined) {
    // Without it the NetworkPolicy could not admit the proxies; GKE itself needs the subnet for these classes anyway.
    errors.push(`${className} proxies from the VPC's proxy-only subnet: give proxyOnlySubnet (its CIDR, e.g. 10.129.0.0/23)`);
  }
  if (props.proxyOnlySubnet !== undefined && !validCidr(props.proxyOnlySubnet)) errors.push(`proxyOnlySubnet "${props.proxyOnlySubnet}" must be an IPv4 CIDR such as 10.129.0.0/23`);
  if (!Number.isInteger(timeoutSecs) || timeoutSecs < 1) errors.push(`requestTimeout must be a whole number of seconds ≥ 1, got ${timeoutSecs}`);
  if (server.service.toJson().spec?.type === 'LoadBalancer') {
    errors.push(`the server's Service is a LoadBalancer, which would bypass the Gateway: give the server serviceType 'ClusterIP'`);
  }
  return errors;
}

function validCidr(value: string): boolean {
  const m = CIDR.exec(value);
  return m !== null && m.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(m[5]) <= 32;
}

/** Whether two route host names match a common request host: equal, or one a wildcard (`*.a.b`) covering the other. */
function hostnamesMeet(a: string, b: string): boolean {
  const covers = (wildcard: string, host: string) => wildcard.startsWith('*.') && host.endsWith(wildcard.slice(1));
  return a === b || covers(a, b) || covers(b, a);
}
