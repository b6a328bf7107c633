import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import { DEFAULT_PORTS } from '../server/contract';
import { InferenceServer } from './inference-server';

/**
 * Namespaces of Managed Service for Prometheus collectors: `gke-gmp-system` when GKE manages collection,
 * `gmp-system` when it is self-deployed (GoogleCloudPlatform/prometheus-engine manifests/operator.yaml, HEAD 2ffde4e).
 */
export const GMP_COLLECTOR_NAMESPACES = ['gke-gmp-system', 'gmp-system'] as const;

export interface InferenceNetworkPolicyProps {
  /** The server whose pods the policy selects. */
  readonly server: InferenceServer;
  /** Namespaces whose pods may scrape port 8002. @default GMP_COLLECTOR_NAMESPACES */
  readonly scraperNamespaces?: string[];
  /** Namespaces whose pods may call ports 8000/8001. @default - any source, as a LoadBalancer Service needs */
  readonly clientNamespaces?: string[];
  /**
   * Address ranges (CIDR) that may call ports 8000/8001, e.g. a Gateway's load balancer (InferenceGateway.sourceRanges).
   * Given alone, only these ranges may call. @default - none beyond clientNamespaces
   */
  readonly clientIpBlocks?: string[];
}

/**
 * A NetworkPolicy for the server's pods: only the HTTP and gRPC ports for clients, and the metrics port only for the
 * scrapers' namespaces. Enforced where the cluster enforces NetworkPolicies (GKE Dataplane V2 or policy enforcement on).
 */
export class InferenceNetworkPolicy extends Construct {
  public readonly networkPolicy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: InferenceNetworkPolicyProps) {
    super(scope, id);
    const server = props.server;
    const scrapers = props.scraperNamespaces ?? [...GMP_COLLECTOR_NAMESPACES];
    this.node.addValidation({
      validate: () => [...scrapers, ...(props.clientNamespaces ?? [])]
        .filter((ns) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns))
        .map((ns) => `namespace "${ns}" is not a valid namespace name`),
    });
    const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    const namespacePeer = (name: string): k8s.NetworkPolicyPeer => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
    });
    const clientPeers = props.clientNamespaces === undefined && props.clientIpBlocks === undefined ? undefined : [
      ...(props.clientNamespaces ?? []).map(namespacePeer),
      ...(props.clientIpBlocks ?? []).map((cidr): k8s.NetworkPolicyPeer => ({ ipBlock: { cidr } })),
    ];
    this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: {
        name: server.name,
        namespace: server.namespace,
        labels: { app: server.name, 'app.kubernetes.io/name': 'inference-server', 'app.kubernetes.io/instance': server.name },
      },
      spec: {
        podSelector: { matchLabels: { app: server.name } },
        policyTypes: ['Ingress'],
        ingress: [
          { ports: [tcp(DEFAULT_PORTS.http), tcp(DEFAULT_PORTS.grpc)], from: clientPeers },
          { ports: [tcp(DEFAULT_PORTS.metrics)], from: scrapers.map(namespacePeer) },
        ],
      },
    });
  }
}
