/**
 * TEST-ONLY. A loopback HTTP server that answers like the Kubernetes API for exactly what the Kubeflow deploy step does:
 * API discovery (/api/v1, /apis/<group>/<version>), server-side apply (PATCH application/apply-patch+yaml with
 * fieldManager and force), and GET of Deployments and Services with a scripted status. It can deny a verb on a
 * resource the way RBAC does (403 Status "... is forbidden: User ... cannot patch resource ..."). Never use it outside test/.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';

interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
}

const RESOURCES: ResourceInfo[] = [
  { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount' },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
  { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler' },
  { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
  { group: 'monitoring.googleapis.com', version: 'v1', plural: 'podmonitorings', kind: 'PodMonitoring' },
];

export interface KubeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly contentType?: string;
  readonly authorization?: string;
  readonly body?: Record<string, unknown>;
}

/** How the Deployment's status evolves with each GET. */
export type RolloutScript =
  | { readonly type: 'available-after'; readonly polls: number }
  | { readonly type: 'never' }
  | { readonly type: 'progress-deadline' };

type StoredObject = Record<string, unknown> & { metadata: Record<string, unknown>; spec?: Record<string, unknown> };

export class FakeKubeApi {
  readonly requests: KubeRequest[] = [];
  readonly objects = new Map<string, StoredObject>();
  /** `patch deployments`, `get services`, ...: answered 403 as RBAC would. */
  readonly forbidden = new Set<string>();
  rollout: RolloutScript = { type: 'available-after', polls: 2 };
  /** GETs of a LoadBalancer Service before it shows an ingress address. */
  loadBalancerAfterPolls = 1;
  loadBalancerIp = '203.0.113.10';
  serviceAccountUser = 'system:serviceaccount:kubeflow:pipeline-runner';
  private readonly polls = new Map<string, number>();
  private nextUid = 1;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A kubeconfig (as YAML-compatible JSON) pointing at this server with a bearer token. */
  kubeconfig(): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses http:// unless TLS verification is off (there is no TLS on loopback).
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'pipeline-runner', user: { token: 'fake-service-account-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'pipeline-runner', namespace: 'default' } }],
      'current-context': 'fake',
    });
  }

  patches(): KubeRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  private handle(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const contentType = req.headers['content-type'];
    let body: Record<string, unknown> | undefined;
    if (text) {
      try {
        body = parse(text) as Record<string, unknown>; // apply-patch+yaml: YAML, of which JSON is a subset
      } catch {
        return this.status(res, 400, 'BadRequest', 'the body is neither JSON nor YAML');
      }
    }
    this.requests.push({
      method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType,
      authorization: req.headers.authorization, body,
    });
    if (req.headers.authorization !== 'Bearer fake-service-account-token') return this.status(res, 401, 'Unauthorized', 'Unauthorized');

    // Discovery.
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(url.pathname);
    if (discovery && req.method === 'GET') {
      const group = discovery[1] ? '' : discovery[2];
      const version = discovery[1] ?? discovery[3];
      const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
      if (resources.length === 0) return this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return this.json(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group ? `${group}/${version}` : version,
        resources: resources.map((r) => ({
          name: r.plural, singularName: r.kind.toLowerCase(), namespaced: true, kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      });
    }

    const match = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!match) return this.status(res, 404, 'NotFound', `fake: unsupported ${req.method} ${url.pathname}`);
    const [, group = '', , namespace, plural, name] = match;
    const resource = RESOURCES.find((r) => r.group === group && r.plural === plural);
    if (!resource) return this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const verb = req.method === 'PATCH' ? 'patch' : req.method === 'GET' ? 'get' : (req.method ?? '').toLowerCase();
    const groupText = group ? `"${group}"` : '""';
    if (this.forbidden.has(`${verb} ${plural}`)) {
      return this.status(
        res, 403, 'Forbidden',
        `${plural}${group ? `.${group}` : ''} "${name}" is forbidden: User "${this.serviceAccountUser}" cannot ${verb} resource "${plural}" in API group ${groupText} in the namespace "${namespace}"`,
        { name, group, kind: plural },
      );
    }
    const key = `${plural}/${namespace}/${name}`;

    if (req.method === 'PATCH') {
      if (contentType !== 'application/apply-patch+yaml') {
        return this.status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (got ${contentType})`);
      }
      if (!url.searchParams.get('fieldManager')) return this.status(res, 400, 'BadRequest', 'fieldManager is required for apply requests');
      if (!body || body.kind !== resource.kind || (body.metadata as { name?: string } | undefined)?.name !== name) {
        return this.status(res, 400, 'BadRequest', `body must be a ${resource.kind} named ${name}`);
      }
      const previous = this.objects.get(key);
      const specChanged = JSON.stringify(previous?.spec) !== JSON.stringify(body.spec);
      const generation = ((previous?.metadata.generation as number | undefined) ?? 0) + (specChanged || !previous ? 1 : 0);
      const stored: StoredObject = {
        ...body,
        metadata: {
          ...(body.metadata as Record<string, unknown>),
          namespace,
          uid: (previous?.metadata.uid as string | undefined) ?? `uid-${this.nextUid++}`,
          resourceVersion: String(this.requests.length),
          generation,
          managedFields: [{ manager: url.searchParams.get('fieldManager'), operation: 'Apply', apiVersion: body.apiVersion }],
        },
      };
      this.objects.set(key, stored);
      return this.json(res, previous ? 200 : 201, stored);
    }

    if (req.method === 'GET') {
      const stored = this.objects.get(key);
      if (!stored) return this.status(res, 404, 'NotFound', `${plural}${group ? `.${group}` : ''} "${name}" not found`);
      const poll = (this.polls.get(key) ?? 0) + 1;
      this.polls.set(key, poll);
      if (plural === 'deployments') return this.json(res, 200, { ...stored, status: this.deploymentStatus(stored, poll) });
      if (plural === 'services') {
        const lb = stored.spec?.type === 'LoadBalancer' && poll > this.loadBalancerAfterPolls;
        return this.json(res, 200, { ...stored, status: { loadBalancer: lb ? { ingress: [{ ip: this.loadBalancerIp }] } : {} } });
      }
      return this.json(res, 200, stored);
    }
    return this.status(res, 405, 'MethodNotAllowed', `${req.method} is not supported by the fake`);
  }

  private deploymentStatus(deployment: StoredObject, poll: number): Record<string, unknown> {
    const replicas = (deployment.spec?.replicas as number | undefined) ?? 1;
    const generation = deployment.metadata.generation;
    const progressing = (status: string, reason: string, message: string) => ({ type: 'Progressing', status, reason, message });
    if (this.rollout.type === 'progress-deadline') {
      return {
        observedGeneration: generation, replicas, updatedReplicas: replicas, availableReplicas: 0, unavailableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
          progressing('False', 'ProgressDeadlineExceeded', `ReplicaSet "${deployment.metadata.name}-5d8f" has timed out progressing.`),
        ],
      };
    }
    if (this.rollout.type === 'never' || poll <= this.rollout.polls) {
      return {
        observedGeneration: poll === 1 ? (generation as number) - 1 : generation, // the controller catches up
        replicas, updatedReplicas: replicas, availableReplicas: 0, unavailableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
          progressing('True', 'ReplicaSetUpdated', `ReplicaSet "${deployment.metadata.name}-5d8f" is progressing.`),
        ],
      };
    }
    return {
      observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
        progressing('True', 'NewReplicaSetAvailable', `ReplicaSet "${deployment.metadata.name}-5d8f" has successfully progressed.`),
      ],
    };
  }

  private json(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private status(res: http.ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code });
  }
}
