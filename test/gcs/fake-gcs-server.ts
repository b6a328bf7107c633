/**
 * TEST-ONLY. A small loopback HTTP server that answers the Cloud Storage JSON API calls @google-cloud/storage makes for a
 * read-only model repository — objects.list (prefix, delimiter, pagination), objects.get (metadata), media download
 * (alt=media, pinned generation) — plus the GCE metadata server's token/email endpoints that Workload Identity uses.
 * Faults can be injected per request kind and object: HTTP status codes (429, 5xx, 403), a body cut off mid-stream,
 * a short body that ends cleanly, and corrupted bytes (a checksum mismatch). Never use it outside test/.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CRC32C } from '@google-cloud/storage';

export interface FakeObject {
  readonly data: Buffer;
  readonly generation: number;
  readonly contentEncoding?: string;
  readonly crc32c: string;
  readonly md5Hash: string;
  readonly updated: string;
}

export interface FakeBucketOptions {
  /** Anonymous requests allowed. @default true */
  readonly public?: boolean;
}

export type RequestKind = 'list' | 'metadata' | 'media' | 'token' | 'email';

export type FaultKind =
  | { readonly type: 'status'; readonly status: number }
  /** Announce the full Content-Length, send half the bytes, destroy the socket. */
  | { readonly type: 'truncate' }
  /** Chunked response that ends cleanly after half the bytes. */
  | { readonly type: 'short' }
  /** Same length, one byte flipped: the checksums no longer match. */
  | { readonly type: 'corrupt' };

export interface Fault {
  readonly kind: RequestKind;
  /** Only requests for this object name (media/metadata) or prefix (list). @default every request of the kind */
  readonly object?: string;
  readonly fault: FaultKind;
  /** How many matching requests fail; Infinity for a permanent fault. @default 1 */
  times?: number;
}

export interface LoggedRequest {
  readonly kind: RequestKind | 'other';
  readonly method: string;
  readonly url: string;
  readonly object?: string;
  readonly authorization?: string;
}

export class FakeGcsServer {
  readonly buckets = new Map<string, { options: FakeBucketOptions; objects: Map<string, FakeObject> }>();
  readonly requests: LoggedRequest[] = [];
  /** Bearer tokens the private buckets accept. */
  readonly acceptedTokens = new Set<string>();
  /** The token and identity the fake metadata server hands out. */
  metadataToken = 'fake-workload-identity-token';
  metadataEmail = 'inference-server-gcs@test-project.iam.gserviceaccount.com';
  private readonly faults: Fault[] = [];
  private nextGeneration = 1_700_000_000_000_000;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** For apiEndpoint / STORAGE_EMULATOR_HOST. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** For GCE_METADATA_HOST. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  createBucket(name: string, options: FakeBucketOptions = {}): void {
    this.buckets.set(name, { options, objects: new Map() });
  }

  putObject(bucket: string, name: string, data: Buffer | string, options: { contentEncoding?: string } = {}): FakeObject {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const crc = new CRC32C();
    crc.update(bytes);
    const object: FakeObject = {
      data: bytes,
      generation: this.nextGeneration++,
      contentEncoding: options.contentEncoding,
      crc32c: crc.toString(),
      md5Hash: createHash('md5').update(bytes).digest('base64'),
      updated: new Date().toISOString(),
    };
    this.bucketOf(bucket).objects.set(name, object);
    return object;
  }

  deleteObject(bucket: string, name: string): void {
    this.bucketOf(bucket).objects.delete(name);
  }

  /** Copy a local directory tree into the bucket under `prefix`. */
  uploadDirectory(bucket: string, dir: string, prefix: string): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const name = `${prefix}/${entry.name}`;
      if (entry.isDirectory()) this.uploadDirectory(bucket, full, name);
      else this.putObject(bucket, name, fs.readFileSync(full));
    }
  }

  addFault(fault: Fault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  mediaDownloads(object?: string): number {
    return this.requests.filter((r) => r.kind === 'media' && (object === undefined || r.object === object)).length;
  }

  private bucketOf(name: string) {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new Error(`fake: no bucket ${name}`);
    return bucket;
  }

  private takeFault(kind: RequestKind, object: string | undefined): FaultKind | undefined {
    const fault = this.faults.find((f) => f.kind === kind && (f.object === undefined || f.object === object) && (f.times ?? 0) > 0);
    if (!fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    return fault.fault;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const authorization = req.headers.authorization;
    // The metadata server (GCE_METADATA_HOST).
    if (url.pathname.startsWith('/computeMetadata/v1')) {
      const kind: RequestKind = url.pathname.endsWith('/token') ? 'token' : 'email';
      this.requests.push({ kind, method: req.method ?? 'GET', url: req.url ?? '' });
      res.setHeader('Metadata-Flavor', 'Google');
      if (req.headers['metadata-flavor'] !== 'Google') return this.send(res, 403, 'Missing Metadata-Flavor header', 'text/plain');
      const fault = this.takeFault(kind, undefined);
      if (fault?.type === 'status') return this.send(res, fault.status, 'metadata server fault', 'text/plain');
      const rest = url.pathname.slice('/computeMetadata/v1'.length);
      if (rest === '/instance/service-accounts/default/token') {
        return this.send(res, 200, JSON.stringify({ access_token: this.metadataToken, expires_in: 3599, token_type: 'Bearer' }));
      }
      if (rest === '/instance/service-accounts/default/email') return this.send(res, 200, this.metadataEmail, 'text/plain');
      if (rest === '/project/project-id') return this.send(res, 200, 'test-project', 'text/plain');
      if (rest === '/instance' || rest === '/' || rest === '') return this.send(res, 200, '', 'text/plain');
      if (rest === '/universe/universe-domain' || rest === '/universe/universe_domain') return this.send(res, 200, 'googleapis.com', 'text/plain');
      return this.send(res, 404, 'not found', 'text/plain');
    }

    // JSON API; STORAGE_EMULATOR_HOST makes the client drop the /storage/v1 part, apiEndpoint keeps it.
    const match = /^(?:\/download)?(?:\/storage\/v1)?\/b\/([^/]+)(?:\/o(?:\/(.+))?)?$/.exec(url.pathname);
    if (!match || req.method !== 'GET') {
      this.requests.push({ kind: 'other', method: req.method ?? '', url: req.url ?? '', authorization });
      return this.error(res, 404, `fake GCS: unsupported ${req.method} ${url.pathname}`, 'notFound');
    }
    const [, bucketName, rawObject] = match;
    const objectName = rawObject === undefined ? undefined : decodeURIComponent(rawObject);
    const isMedia = url.searchParams.get('alt') === 'media';
    const kind: RequestKind = objectName === undefined ? 'list' : isMedia ? 'media' : 'metadata';
    this.requests.push({ kind, method: 'GET', url: req.url ?? '', object: objectName, authorization });

    const bucket = this.buckets.get(decodeURIComponent(bucketName));
    if (!bucket) return this.error(res, 404, 'The specified bucket does not exist.', 'notFound');
    if (bucket.options.public === false) {
      const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
      if (token === undefined) return this.error(res, 401, 'Anonymous caller does not have storage.objects.list access to the Google Cloud Storage bucket.', 'required');
      if (!this.acceptedTokens.has(token)) return this.error(res, 403, 'caller does not have storage.objects.get access to the Google Cloud Storage bucket. Permission denied.', 'forbidden');
    }

    const fault = this.takeFault(kind, kind === 'list' ? (url.searchParams.get('prefix') ?? '') : objectName);
    if (fault?.type === 'status') return this.error(res, fault.status, `injected fault: HTTP ${fault.status}`, fault.status === 429 ? 'rateLimitExceeded' : 'backendError');

    if (kind === 'list') return this.list(res, bucketName, bucket.objects, url.searchParams);
    const object = bucket.objects.get(objectName as string);
    const generation = url.searchParams.get('generation');
    if (!object || (generation !== null && Number(generation) !== object.generation)) {
      return this.error(res, 404, `No such object: ${bucketName}/${objectName}`, 'notFound');
    }
    if (kind === 'metadata') return this.send(res, 200, JSON.stringify(resource(bucketName, objectName as string, object)));
    return this.media(res, object, fault);
  }

  private list(res: http.ServerResponse, bucket: string, objects: Map<string, FakeObject>, query: URLSearchParams): void {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxResults = Math.min(Number(query.get('maxResults') ?? 1000) || 1000, 1000);
    const after = query.get('pageToken') ? Buffer.from(query.get('pageToken') as string, 'base64url').toString() : undefined;
    const names = [...objects.keys()].filter((name) => name.startsWith(prefix)).sort();
    const items: object[] = [];
    const prefixes = new Set<string>();
    let last: string | undefined;
    let more = false;
    for (const name of names) {
      if (after !== undefined && name <= after) continue;
      if (items.length + prefixes.size >= maxResults) {
        more = true;
        break;
      }
      const rest = name.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) prefixes.add(prefix + rest.slice(0, cut + delimiter.length));
      else items.push(resource(bucket, name, objects.get(name) as FakeObject));
      last = name;
    }
    this.send(res, 200, JSON.stringify({
      kind: 'storage#objects',
      items: items.length ? items : undefined,
      prefixes: prefixes.size ? [...prefixes] : undefined,
      nextPageToken: more && last ? Buffer.from(last).toString('base64url') : undefined,
    }));
  }

  private media(res: http.ServerResponse, object: FakeObject, fault: FaultKind | undefined): void {
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      'x-goog-generation': String(object.generation),
      'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      'x-goog-stored-content-encoding': object.contentEncoding ?? 'identity',
      'x-goog-stored-content-length': String(object.data.length),
      ...(object.contentEncoding ? { 'content-encoding': object.contentEncoding } : {}),
    };
    const half = object.data.subarray(0, Math.floor(object.data.length / 2));
    if (fault?.type === 'truncate') {
      res.writeHead(200, { ...headers, 'content-length': object.data.length });
      res.write(half, () => setTimeout(() => res.socket?.destroy(), 5));
      return;
    }
    if (fault?.type === 'short') {
      res.writeHead(200, headers); // chunked
      res.end(half);
      return;
    }
    let body = object.data;
    if (fault?.type === 'corrupt' && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(body);
  }

  private send(res: http.ServerResponse, status: number, body: string, type = 'application/json'): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private error(res: http.ServerResponse, status: number, message: string, reason: string): void {
    this.send(res, status, JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } }));
  }
}

function resource(bucket: string, name: string, object: FakeObject): object {
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: '1',
    contentType: 'application/octet-stream',
    storageClass: 'STANDARD',
    size: String(object.data.length),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    ...(object.contentEncoding ? { contentEncoding: object.contentEncoding } : {}),
    timeCreated: object.updated,
    updated: object.updated,
  };
}
