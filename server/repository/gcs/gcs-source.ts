import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import pino, { type Logger } from 'pino';
import { CredentialInfo, describeAccessError, detectCredentials, shortMessage } from './credentials';
import { downloadVerified, RemoteObject } from './download';
import { Manifest, ModelCache } from './model-cache';
import { Limiter, RetriesExhaustedError, RetryOptions, withRetry } from './retry';
import { GcsLocation, gcsUri, isSafeRelativePath, parseGcsUri } from './uri';

export interface GcsRepositorySourceOptions {
  /** `--model-cache-dir`. @default `<os tmpdir>/inference-server-model-cache` */
  readonly cacheDir?: string;
  /** @default a silent logger */
  readonly log?: Logger;
  /** A ready client (tests, or a caller with its own auth). @default - a client on Application Default Credentials */
  readonly storage?: Storage;
  /** JSON API endpoint, e.g. a local emulator. STORAGE_EMULATOR_HOST is honoured too. @default https://storage.googleapis.com */
  readonly apiEndpoint?: string;
  /** Send credentials to a custom endpoint too (off by default, as in @google-cloud/storage). */
  readonly useAuthWithCustomEndpoint?: boolean;
  /** Objects downloaded at once, across all models of this root. @default 8 */
  readonly concurrency?: number;
  /** Backoff for transient failures (429, 5xx, resets, truncated or corrupt bodies). */
  readonly retry?: RetryOptions;
  /** How long a repository listing answers listModels/fingerprint/materialize before the bucket is listed again. @default 2000 */
  readonly listingTtlMs?: number;
  /** Objects per list page. @default 1000 (the API's maximum) */
  readonly pageSize?: number;
  /** Objects at least this large log their progress. @default 64 MiB */
  readonly progressThresholdBytes?: number;
  /** @default 5000 */
  readonly progressIntervalMs?: number;
  /** A download that receives no bytes for this long is abandoned and retried. @default 60000 */
  readonly stallTimeoutMs?: number;
}

interface Listing {
  readonly at: number;
  /** Model name → its objects (folder placeholders left out). */
  readonly models: Map<string, RemoteObject[]>;
}

const MiB = 1024 * 1024;

/**
 * A model repository in Cloud Storage (`gs://bucket/path`, Triton's layout below it). Each model is mirrored into
 * `<cacheDir>/<bucket>/<path>/<model>/`: objects are downloaded in parallel into temporary files, checked against their
 * crc32c and md5, and renamed into place only when every changed file of the model arrived, so a failed download leaves
 * the previous copy intact. `<cacheDir>/<bucket>/<path>/.manifests/<model>.json` records object generations, so a
 * later materialize downloads only objects whose generation changed and deletes the files whose objects are gone.
 * Implements server/repository/source.ts's RepositorySource (structurally, so this folder imports nothing from it).
 */
export class GcsRepositorySource {
  readonly location: GcsLocation;
  /** Local mirror of the repository root. */
  readonly cacheRoot: string;
  private readonly cache: ModelCache;
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly log: Record<'info' | 'warn' | 'debug', (fields: object, message: string) => void>;
  private readonly limiter: Limiter;
  private credentials?: Promise<CredentialInfo>;
  private listing?: Listing;
  private listingInFlight?: Promise<Listing>;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(readonly root: string, private readonly options: GcsRepositorySourceOptions = {}) {
    this.location = parseGcsUri(root);
    const cacheDir = path.resolve(options.cacheDir ?? path.join(os.tmpdir(), 'inference-server-model-cache'));
    this.cacheRoot = path.join(cacheDir, this.location.bucket, ...(this.location.prefix ? this.location.prefix.split('/') : []));
    this.cache = new ModelCache(this.cacheRoot);
    // Not a pino child: a child keeps the level it was made with, and the logging extension changes levels at run time.
    const parent = options.log ?? pino({ level: 'silent' });
    const tagged = (fields: object) => ({ repository: root, ...fields });
    this.log = {
      info: (fields, message) => parent.info(tagged(fields), message),
      warn: (fields, message) => parent.warn(tagged(fields), message),
      debug: (fields, message) => parent.debug(tagged(fields), message),
    };
    this.limiter = new Limiter(Math.max(1, options.concurrency ?? 8));
    this.storage =
      options.storage ??
      new Storage({
        apiEndpoint: options.apiEndpoint,
        useAuthWithCustomEndpoint: options.useAuthWithCustomEndpoint,
        // Retries are ours (withRetry): one policy for listing and downloads, logged, and aware of corrupt bodies.
        retryOptions: { autoRetry: false },
      });
    this.bucket = this.storage.bucket(this.location.bucket);
  }

  /** Where the credentials come from (resolved once). */
  credentialInfo(): Promise<CredentialInfo> {
    this.credentials ??= detectCredentials(this.storage).then((info) => {
      this.log.info({ credentials: info.description }, 'Cloud Storage credentials');
      return info;
    });
    return this.credentials;
  }

  async listModels(): Promise<string[]> {
    const listing = await this.scan(true);
    return [...listing.models.keys()].sort();
  }

  /**
   * A digest of the model's object names, generations and sizes: it changes exactly when an object of the model is added,
   * replaced or removed. 'absent' when the model has no objects.
   */
  async fingerprint(model: string): Promise<string> {
    const objects = (await this.scan(false)).models.get(model);
    return objects ? fingerprintOf(objects) : 'absent';
  }

  materialize(model: string): Promise<string> {
    return this.locked(model, () => this.sync(model));
  }

  // ---- listing ----

  /** The repository's objects grouped by model; a recent listing is reused unless `fresh`. */
  private async scan(fresh: boolean): Promise<Listing> {
    const ttl = this.options.listingTtlMs ?? 2000;
    // Strictly younger than the TTL: with a TTL of 0 every call lists (`<=` reused a listing taken in the same
    // millisecond, which a fast machine reached: a test saw a deletion missed).
    if (!fresh && this.listing && Date.now() - this.listing.at < ttl) return this.listing;
    // Concurrent callers share one listing.
    this.listingInFlight ??= this.listAll().finally(() => {
      this.listingInFlight = undefined;
    });
    const listing = await this.listingInFlight;
    this.listing = listing;
    void this.pruneRemoved(listing);
    return listing;
  }

  private async listAll(): Promise<Listing> {
    const at = Date.now();
    const base = this.location.prefix ? `${this.location.prefix}/` : '';
    const models = new Map<string, RemoteObject[]>();
    for (const file of await this.listObjects(base)) {
      const rest = file.name.slice(base.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) continue; // files at the root of the repository are not models
      const model = rest.slice(0, slash);
      if (model.startsWith('.') || !isSafeRelativePath(model)) continue;
      const objects = models.get(model) ?? [];
      models.set(model, objects);
      const relative = rest.slice(slash + 1);
      if (relative === '' || relative.endsWith('/')) continue; // folder placeholders
      if (!isSafeRelativePath(relative)) {
        this.log.warn({ object: gcsUri(this.location.bucket, file.name) }, 'skipping object with an unsafe name');
        continue;
      }
      objects.push(toRemoteObject(file, relative));
    }
    return { at, models };
  }

  private async listObjects(prefix: string): Promise<File[]> {
    const credentials = await this.credentialInfo();
    const what = `gs://${this.location.bucket}/${prefix}`;
    if (credentials.kind === 'error') throw new Error(describeAccessError(undefined, what, this.location.bucket, credentials));
    const files: File[] = [];
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      try {
        const [page, next] = await withRetry(
          () => this.bucket.getFiles({ prefix, autoPaginate: false, maxResults: this.options.pageSize ?? 1000, pageToken: token }),
          this.options.retry,
          (error, attempt, delayMs) =>
            this.log.warn({ bucket: this.location.bucket, prefix, attempt, delayMs, err: shortMessage(error) }, 'listing failed, retrying'),
        );
        files.push(...page);
        pageToken = (next as { pageToken?: string } | null)?.pageToken || undefined;
      } catch (error) {
        const cause = error instanceof RetriesExhaustedError ? error.last : error;
        throw new Error(
          describeAccessError(cause, what, this.location.bucket, credentials) ??
            `cannot list ${what}: ${shortMessage(error)} (credentials: ${credentials.description})`,
        );
      }
    } while (pageToken);
    return files;
  }

  // ---- cache ----

  private async sync(model: string): Promise<string> {
    if (model.startsWith('.') || !isSafeRelativePath(model) || model.includes('/')) {
      throw new Error(`'${model}' is not a model name`);
    }
    const objects = (await this.scan(false)).models.get(model);
    const where = `gs://${this.location.bucket}/${this.location.prefix ? `${this.location.prefix}/` : ''}${model}`;
    if (!objects) throw new Error(`model '${model}' not found in ${this.root} (no objects under ${where}/)`);
    const manifest = await this.cache.readManifest(model);
    const started = Date.now();

    const keep: RemoteObject[] = [];
    const fetch: RemoteObject[] = [];
    for (const object of objects) {
      const cached = manifest?.files[object.relative];
      const localSize = cached ? await this.cache.fileSize(model, object.relative) : undefined;
      if (cached && cached.generation === object.generation && localSize === cached.localSize) keep.push(object);
      else fetch.push(object);
    }
    const totalBytes = fetch.reduce((sum, object) => sum + object.size, 0);
    if (fetch.length > 0) {
      const level = totalBytes >= (this.options.progressThresholdBytes ?? 64 * MiB) ? 'info' : 'debug';
      this.log[level]({ model, files: fetch.length, mib: round(totalBytes / MiB), cached: keep.length }, 'downloading model');
    }

    // Download every changed object to a temporary file next to its destination.
    const temps = new Map<RemoteObject, { temp: string; localSize: number }>();
    const results = await Promise.allSettled(
      fetch.map((object) =>
        this.limiter.run(async () => {
          const target = this.cache.filePath(model, object.relative);
          await fs.mkdir(path.dirname(target), { recursive: true });
          const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.part`);
          try {
            const localSize = await this.download(object, temp);
            temps.set(object, { temp, localSize });
          } catch (error) {
            await fs.rm(temp, { force: true });
            throw error;
          }
        }),
      ),
    );
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    if (failures.length > 0) {
      await Promise.all([...temps.values()].map(({ temp }) => fs.rm(temp, { force: true })));
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more of ${fetch.length} files)` : '';
      throw new Error(`failed to download model '${model}' from ${where}/: ${failures[0].message}${more}`);
    }

    // Everything arrived and verified: move it into place, drop what the bucket no longer has, record the generations.
    for (const [object, { temp }] of temps) await fs.rename(temp, this.cache.filePath(model, object.relative));
    await this.cache.keepOnly(model, new Set(objects.map((object) => object.relative)));
    const files: Manifest['files'] = {};
    for (const object of objects) {
      const localSize = temps.get(object)?.localSize ?? manifest?.files[object.relative]?.localSize ?? object.size;
      files[object.relative] = {
        generation: object.generation, size: object.size, localSize, crc32c: object.crc32c, md5Hash: object.md5Hash,
      };
    }
    await this.cache.writeManifest(model, { source: where, files });

    if (fetch.length > 0) {
      const seconds = (Date.now() - started) / 1000;
      this.log.info(
        { model, downloaded: fetch.length, cached: keep.length, mib: round(totalBytes / MiB), seconds, mibPerSecond: round(totalBytes / MiB / Math.max(seconds, 0.001)) },
        'model files up to date',
      );
    }
    return this.cache.modelDir(model);
  }

  private async download(object: RemoteObject, temp: string): Promise<number> {
    const uri = `${gcsUri(this.location.bucket, object.name)}#${object.generation}`;
    const file = this.bucket.file(object.name, { generation: Number(object.generation) });
    const threshold = this.options.progressThresholdBytes ?? 64 * MiB;
    const interval = this.options.progressIntervalMs ?? 5000;
    try {
      return await withRetry(
        () => {
          const started = Date.now();
          let lastLog = started;
          const onProgress =
            object.size >= threshold
              ? (bytes: number) => {
                const now = Date.now();
                if (now - lastLog < interval) return;
                lastLog = now;
                this.log.info(
                  {
                    object: uri, mib: round(bytes / MiB), totalMib: round(object.size / MiB),
                    percent: Math.floor((bytes / object.size) * 100), mibPerSecond: round(bytes / MiB / ((now - started) / 1000)),
                  },
                  'downloading',
                );
              }
              : undefined;
          return downloadVerified(file, object, temp, onProgress, this.options.stallTimeoutMs);
        },
        this.options.retry,
        (error, attempt, delayMs) => this.log.warn({ object: uri, attempt, delayMs, err: shortMessage(error) }, 'download failed, retrying'),
      );
    } catch (error) {
      const cause = error instanceof RetriesExhaustedError ? error.last : error;
      const credentials = await this.credentialInfo();
      const access = describeAccessError(cause, uri, this.location.bucket, credentials);
      if (access) throw new Error(access);
      const message = shortMessage(error);
      throw new Error(message.startsWith(uri) ? message : `${uri}: ${message}`);
    }
  }

  /** Models that were cached but are gone from the bucket lose their cache (their loaded sessions are in memory). */
  private async pruneRemoved(listing: Listing): Promise<void> {
    for (const model of await this.cache.cachedModels()) {
      if (listing.models.has(model)) continue;
      await this.locked(model, async () => {
        if (this.listing && this.listing.models.has(model)) return;
        await this.cache.remove(model);
        this.log.info({ model }, 'model removed from the bucket: cache deleted');
      }).catch((error: Error) => this.log.warn({ model, err: error.message }, 'could not prune the model cache'));
    }
  }

  private locked<T>(model: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(model) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.locks.set(model, tail);
    void tail.then(() => {
      if (this.locks.get(model) === tail) this.locks.delete(model);
    });
    return run;
  }
}

function toRemoteObject(file: File, relative: string): RemoteObject {
  const metadata = file.metadata;
  return {
    name: file.name,
    relative,
    generation: String(metadata.generation ?? ''),
    size: Number(metadata.size ?? 0),
    crc32c: metadata.crc32c || undefined,
    md5Hash: metadata.md5Hash || undefined,
    contentEncoding: metadata.contentEncoding || undefined,
  };
}

export function fingerprintOf(objects: readonly RemoteObject[]): string {
  const hash = createHash('sha256');
  for (const object of [...objects].sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0))) {
    hash.update(`${object.relative}\0${object.generation}\0${object.size}\n`);
  }
  return hash.digest('hex').slice(0, 32);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
