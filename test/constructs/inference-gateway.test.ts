import { Duration, Testing } from 'cdk8s';
import { InferenceAutoscaler, InferenceGateway, InferenceGatewayProps, InferenceServer, InferenceServerProps } from '../../constructs';
import { GkeStack, GkeStackProps } from '../../prototypes/gke-stack';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const serverProps: InferenceServerProps = {
  name: 'isrv', image: 'registry.example/inference-server:0.1.0', modelRepositories: ['gs://models/repo'], serviceType: 'ClusterIP',
};

function build(gateway: Partial<InferenceGatewayProps> = {}, server: Partial<InferenceServerProps> = {}) {
  const c = chart('serving');
  const s = new InferenceServer(c, 'Server', { ...serverProps, ...server });
  const g = new InferenceGateway(c, 'Gateway', { server: s, ...gateway });
  return { chart: c, server: s, gateway: g };
}

const tls = { secretNames: ['isrv-tls'] };

describe('InferenceGateway', () => {
  test('plain HTTP: a Gateway on port 80, an HTTPRoute for /v2 on 8000, the health check on /v2/health/ready, all schema-valid', () => {
    const m = synth(build().chart);
    expect(schemaErrors(m)).toEqual([]);
    expect(m.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/isrv', 'Deployment/isrv-v1', 'Service/isrv', 'Service/isrv-metrics',
      'Gateway/isrv', 'HTTPRoute/isrv-http', 'HealthCheckPolicy/isrv', 'GCPBackendPolicy/isrv',
    ]);
    const gw = find(m, 'Gateway');
    expect(gw.spec.gatewayClassName).toBe('gke-l7-global-external-managed');
    expect(gw.spec.listeners).toEqual([{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'Same' } } }]);
    const route = find(m, 'HTTPRoute');
    expect(route.spec.parentRefs).toEqual([{ name: 'isrv', sectionName: 'http' }]);
    expect(route.spec.rules).toEqual([{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'isrv', port: 8000 }] }]);
    const hc = find(m, 'HealthCheckPolicy');
    expect(hc.spec.targetRef).toEqual({ group: '', kind: 'Service', name: 'isrv' });
    expect(hc.spec.default.config).toEqual({
      type: 'HTTP', httpHealthCheck: { portSpecification: 'USE_FIXED_PORT', port: 8000, requestPath: '/v2/health/ready' },
    });
    expect(find(m, 'GCPBackendPolicy').spec.default).toEqual({ timeoutSec: 300 });
    for (const o of m) expect(o.metadata.namespace).toBe('serving');
    // The schemas bite: a misspelt field, a missing backend port range, a union with two protocol blocks.
    const broken = (o: Manifest, patch: (spec: any) => void) => { const copy = structuredClone(o); patch(copy.spec); return schemaErrors([copy]); };
    expect(broken(gw, (spec) => { spec.listener = spec.listeners; })).toEqual([expect.stringMatching(/^Gateway isrv: .*additional properties/)]);
    expect(broken(route, (spec) => { spec.rules[0].backendRefs[0].port = 70000; })).toHaveLength(1);
    expect(broken(hc, (spec) => { spec.default.config.grpcHealthCheck = {}; })).toHaveLength(1);
    // No gRPC route: the gRPC port keeps no appProtocol.
    expect(find(m, 'Service', 'isrv').spec.ports[1].appProtocol).toBeUndefined();
  });

  test('TLS from a Secret, gRPC on its own host name over HTTP/2 cleartext to the pods', () => {
    const m = synth(build({ tls, httpHostname: 'infer.example.com', grpcHostname: 'grpc.infer.example.com', requestTimeout: Duration.minutes(10) }).chart);
    expect(schemaErrors(m)).toEqual([]);
    const listener = find(m, 'Gateway').spec.listeners[0];
    expect(listener).toMatchObject({ name: 'https', protocol: 'HTTPS', port: 443, tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', group: '', name: 'isrv-tls' }] } });
    expect(find(m, 'HTTPRoute').spec.hostnames).toEqual(['infer.example.com']);
    const grpc = find(m, 'GRPCRoute');
    expect(grpc.spec).toEqual({
      parentRefs: [{ name: 'isrv', sectionName: 'https' }], hostnames: ['grpc.infer.example.com'], rules: [{ backendRefs: [{ name: 'isrv', port: 8001 }] }],
    });
    const ports = find(m, 'Service', 'isrv').spec.ports;
    expect(ports[1]).toMatchObject({ port: 8001, appProtocol: 'kubernetes.io/h2c' });
    expect(ports[0].appProtocol).toBeUndefined();
    expect(find(m, 'GCPBackendPolicy').spec.default.timeoutSec).toBe(600);
  });

  test('Certificate Manager map through the annotation (no listener certificates); pre-shared certificates through the listener option', () => {
    const map = synth(build({ tls: { certificateMap: 'inference-certs' }, staticAddressName: 'inference-ip' }).chart);
    expect(schemaErrors(map)).toEqual([]);
    const gw = find(map, 'Gateway');
    expect(gw.metadata.annotations).toEqual({ 'networking.gke.io/certmap': 'inference-certs' });
    expect(gw.spec.listeners[0].tls).toBeUndefined();
    expect(gw.spec.addresses).toEqual([{ type: 'NamedAddress', value: 'inference-ip' }]);
    const pre = find(synth(build({ tls: { preSharedCertificates: ['a', 'b'] } }).chart), 'Gateway');
    expect(pre.spec.listeners[0].tls).toEqual({ mode: 'Terminate', options: { 'networking.gke.io/pre-shared-certs': 'a,b' } });
  });

  test('refuses what GKE or the Gateway API would refuse, with the fix in the message', () => {
    const errors = (g: Partial<InferenceGatewayProps>, s: Partial<InferenceServerProps> = {}) => validationErrors(build(g, s).chart).join('\n');
    expect(errors({ grpcHostname: 'grpc.example.com', httpHostname: 'x.example.com' })).toMatch(/grpcHostname needs tls/);
    expect(errors({ grpcHostname: 'grpc.example.com', tls })).toMatch(/needs an httpHostname other than it/);
    expect(errors({ grpcHostname: 'grpc.example.com', httpHostname: '*.example.com', tls })).toMatch(/needs an httpHostname other than it/);
    expect(errors({ grpcHostname: '*.example.com', httpHostname: 'infer.example.com', tls })).toMatch(/needs an httpHostname other than it/);
    expect(errors({ grpcHostname: 'a.example.com', httpHostname: 'a.example.com', tls })).toMatch(/needs an httpHostname other than it/);
    expect(errors({ gatewayClassName: 'gke-l7-rilb' })).toMatch(/proxy-only subnet: give proxyOnlySubnet/);
    expect(errors({ gatewayClassName: 'gke-l7-rilb', proxyOnlySubnet: '10.129.0.0/23' })).toBe('');
    expect(errors({ gatewayClassName: 'gke-l7-rilb', proxyOnlySubnet: '10.300.0.0/23' })).toMatch(/must be an IPv4 CIDR/);
    expect(errors({ gatewayClassName: 'gke-l7-regional-external-managed', proxyOnlySubnet: '10.129.0.0/23', tls: { certificateMap: 'm' } })).toMatch(/needs a global GatewayClass/);
    expect(errors({ gatewayClassName: 'istio' as never })).toMatch(/not a single-cluster GKE GatewayClass/);
    expect(errors({ httpHostname: '10.0.0.1:80' })).toMatch(/httpHostname "10.0.0.1:80" must be a DNS name/);
    expect(errors({ tls: { secretNames: [] } })).toMatch(/at least one kubernetes.io\/tls Secret/);
    expect(errors({ requestTimeout: Duration.seconds(0) })).toMatch(/requestTimeout must be a whole number of seconds/);
    expect(errors({}, { serviceType: 'LoadBalancer' })).toMatch(/would bypass the Gateway/);
  });

  test('its source ranges open the NetworkPolicy to the load balancer, and only to it', () => {
    const c = chart('serving');
    const s = new InferenceServer(c, 'Server', serverProps);
    const g = new InferenceGateway(c, 'Gateway', { server: s, gatewayClassName: 'gke-l7-regional-external-managed', proxyOnlySubnet: '10.129.0.0/23' });
    new InferenceAutoscaler(c, 'Autoscaler', { server: s, clientIpBlocks: g.sourceRanges });
    const m = synth(c);
    expect(schemaErrors(m)).toEqual([]);
    const rule = find(m, 'NetworkPolicy').spec.ingress[0];
    expect(rule.ports.map((p: { port: number }) => p.port)).toEqual([8000, 8001]);
    expect(rule.from).toEqual([{ ipBlock: { cidr: '35.191.0.0/16' } }, { ipBlock: { cidr: '130.211.0.0/22' } }, { ipBlock: { cidr: '10.129.0.0/23' } }]);
  });
});

describe('gke-stack edge and dashboard parameters', () => {
  const base: GkeStackProps = {
    name: 'isrv', image: 'registry.example/inference-server:0.1.0', projectId: 'p', location: 'us-central1-a', clusterName: 'c', bucketName: 'my-models',
  };
  const workload = (props: Partial<GkeStackProps>) => {
    const s = new GkeStack({ infra: Testing.app(), workload: Testing.app() }, 'stack', { ...base, ...props });
    const errors = validationErrors(s.workload);
    return { errors, m: errors.length ? [] as Manifest[] : synth(s.workload) };
  };

  test('edge "gateway": ClusterIP Service, Gateway and routes, NetworkPolicy admitting the load balancer and the namespace', () => {
    const { errors, m } = workload({
      edge: 'gateway', serviceType: 'LoadBalancer', gatewayTlsSecret: 'isrv-tls', gatewayHttpHostname: 'infer.example.com', gatewayGrpcHostname: 'grpc.example.com',
    });
    expect(errors).toEqual([]);
    expect(schemaErrors(m)).toEqual([]);
    expect(find(m, 'Service', 'isrv').spec.type).toBe('ClusterIP');
    expect(m.filter((o) => /Gateway|Route|Policy$/.test(o.kind)).map((o) => o.kind)).toEqual([
      'Gateway', 'HTTPRoute', 'GRPCRoute', 'HealthCheckPolicy', 'GCPBackendPolicy', 'NetworkPolicy',
    ]);
    expect(find(m, 'NetworkPolicy').spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } },
      { ipBlock: { cidr: '35.191.0.0/16' } }, { ipBlock: { cidr: '130.211.0.0/22' } },
    ]);
  });

  test('edge "service" (default) keeps the LoadBalancer and refuses Gateway-only parameters', () => {
    const { errors, m } = workload({});
    expect(errors).toEqual([]);
    expect(find(m, 'Service', 'isrv').spec.type).toBe('LoadBalancer');
    expect(m.some((o) => o.kind === 'Gateway')).toBe(false);
    expect(workload({ gatewayTlsSecret: 'x' }).errors.join('\n')).toMatch(/gatewayTlsSecret only applies with edge "gateway"/);
    expect(workload({ edge: 'ingress' as never }).errors.join('\n')).toMatch(/edge "ingress" must be "service" or "gateway"/);
    expect(workload({ edge: 'gateway', gatewayTlsSecret: 'x', gatewayCertificateMap: 'm' }).errors.join('\n')).toMatch(/not both/);
  });

  test('grafanaDashboardNamespace adds the dashboard ConfigMap there', () => {
    const { errors, m } = workload({ grafanaDashboardNamespace: 'monitoring' });
    expect(errors).toEqual([]);
    expect(find(m, 'ConfigMap', 'inference-server-dashboard').metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    expect(workload({}).m.some((o) => o.kind === 'ConfigMap')).toBe(false);
  });
});
