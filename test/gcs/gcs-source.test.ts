/** GcsRepositorySource with the real @google-cloud/storage client against the loopback fake (test/gcs/fake-gcs-server.ts). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { GcsRepositorySource, GcsRepositorySourceOptions, parseGcsUri } from '../../server/repository/gcs';
import { createRepositorySource } from '../../server/repository/source';
import { FakeGcsServer } from './fake-gcs-server';

const BUCKET = 'models';
let fake: FakeGcsServer;
let cacheDir: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await new FakeGcsServer().start();
  // Never reach for Google: no metadata-server probing, and any probe would land on the fake.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.GCE_METADATA_HOST = fake.host;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
});

afterAll(async () => {
  await fake.stop();
  process.env = savedEnv;
});

beforeEach(() => {
  fake.buckets.clear();
  fake.clearFaults();
  fake.clearRequests();
  fake.createBucket(BUCKET);
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-cache-'));
});

afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

function source(root = `gs://${BUCKET}/repo`, options: GcsRepositorySourceOptions = {}): GcsRepositorySource {
  return new GcsRepositorySource(root, {
    cacheDir,
    apiEndpoint: fake.url,
    retry: { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 },
    listingTtlMs: 0,
    stallTimeoutMs: 500,
    ...options,
  });
}

function put(name: string, data: string | Buffer) {
  return fake.putObject(BUCKET, `repo/${name}`, data);
}

function read(dir: string, relative: string): string {
  return fs.readFileSync(path.join(dir, relative), 'utf8');
}

describe('gs:// URIs', () => {
  it('parses bucket and prefix', () => {
    expect(parseGcsUri('gs://b-1/a/b/')).toEqual({ bucket: 'b-1', prefix: 'a/b' });
    expect(parseGcsUri('gs://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
  });
  it('rejects bad buckets and paths that could escape the cache', () => {
    expect(() => parseGcsUri('gs://UPPER/x')).toThrow(/not a valid Cloud Storage bucket name/);
    expect(() => parseGcsUri('gs://bucket/../x')).toThrow(/'\.\.'/);
    expect(() => parseGcsUri('s3://bucket')).toThrow(/expected gs:\/\//);
  });
  it('createRepositorySource makes a GCS source for gs:// roots', () => {
    const created = createRepositorySource('gs://models/repo', { modelCacheDir: cacheDir });
    expect(created).toBeInstanceOf(GcsRepositorySource);
    expect(typeof created.fingerprint).toBe('function');
  });
});

describe('listing', () => {
  it('lists model directories across pages, ignoring root files, dot folders and other prefixes', async () => {
    for (const model of ['a', 'b', 'c', 'd']) put(`${model}/1/model.onnx`, model);
    put('README.md', 'not a model');
    put('.hidden/1/x', 'x');
    fake.putObject(BUCKET, 'repository/e/1/model.onnx', 'e'); // shares the string prefix "repo"
    fake.putObject(BUCKET, 'elsewhere/f/1/model.onnx', 'f');
    const models = await source('gs://models/repo', { pageSize: 2 }).listModels();
    expect(models).toEqual(['a', 'b', 'c', 'd']);
    const lists = fake.requests.filter((r) => r.kind === 'list');
    expect(lists.length).toBeGreaterThanOrEqual(3); // 7 objects under repo/, 2 per page
    expect(lists.every((r) => new URL(r.url, 'http://x').searchParams.get('prefix') === 'repo/')).toBe(true);
  });

  it('lists a repository at the root of a bucket', async () => {
    fake.putObject(BUCKET, 'simple/config.pbtxt', 'x');
    expect(await source('gs://models').listModels()).toEqual(['simple']);
  });

  it('retries a listing that fails with 503 and 429', async () => {
    put('a/1/model.onnx', 'a');
    fake.addFault({ kind: 'list', fault: { type: 'status', status: 503 } });
    fake.addFault({ kind: 'list', fault: { type: 'status', status: 429 } });
    expect(await source().listModels()).toEqual(['a']);
    expect(fake.requests.filter((r) => r.kind === 'list')).toHaveLength(3);
  });

  it('gives up on a listing after the retries, naming the bucket', async () => {
    fake.addFault({ kind: 'list', fault: { type: 'status', status: 500 }, times: Infinity });
    await expect(source().listModels()).rejects.toThrow(/cannot list gs:\/\/models\/repo\/: .*HTTP 500.*gave up after 4 attempts/);
  });

  it('says when the bucket does not exist', async () => {
    await expect(source('gs://no-such-bucket/repo').listModels()).rejects.toThrow(/bucket 'no-such-bucket' does not exist/);
  });
});

describe('materialize', () => {
  function repoWithSimple() {
    put('simple/config.pbtxt', 'name: "simple"');
    put('simple/1/model.onnx', 'version one');
    put('simple/2/model.onnx', 'version two');
  }

  it('downloads every file of a model into <cache>/<bucket>/<prefix>/<model> with a manifest of generations', async () => {
    repoWithSimple();
    const src = source();
    const dir = await src.materialize('simple');
    expect(dir).toBe(path.join(cacheDir, 'models', 'repo', 'simple'));
    expect(read(dir, 'config.pbtxt')).toBe('name: "simple"');
    expect(read(dir, '1/model.onnx')).toBe('version one');
    expect(read(dir, '2/model.onnx')).toBe('version two');
    const manifest = JSON.parse(fs.readFileSync(path.join(cacheDir, 'models', 'repo', '.manifests', 'simple.json'), 'utf8'));
    expect(Object.keys(manifest.files).sort()).toEqual(['1/model.onnx', '2/model.onnx', 'config.pbtxt']);
    expect(manifest.files['1/model.onnx'].generation).toMatch(/^[0-9]+$/);
    // No temporary files left behind.
    expect(fs.readdirSync(path.join(dir, '1'))).toEqual(['model.onnx']);
  });

  it('re-downloads only objects whose generation changed, and sees additions and removals', async () => {
    repoWithSimple();
    const src = source();
    await src.materialize('simple');
    const first = await src.fingerprint('simple');
    expect(fake.mediaDownloads()).toBe(3);

    fake.clearRequests();
    await src.materialize('simple');
    expect(fake.mediaDownloads()).toBe(0);
    expect(await src.fingerprint('simple')).toBe(first);

    put('simple/2/model.onnx', 'version two, retrained');
    put('simple/3/model.onnx', 'version three');
    fake.deleteObject(BUCKET, 'repo/simple/1/model.onnx');
    const changed = await src.fingerprint('simple');
    expect(changed).not.toBe(first);
    fake.clearRequests();
    const dir = await src.materialize('simple');
    expect(fake.requests.filter((r) => r.kind === 'media').map((r) => r.object).sort()).toEqual([
      'repo/simple/2/model.onnx', 'repo/simple/3/model.onnx',
    ]);
    expect(read(dir, '2/model.onnx')).toBe('version two, retrained');
    expect(read(dir, '3/model.onnx')).toBe('version three');
    expect(fs.existsSync(path.join(dir, '1'))).toBe(false); // removed object, emptied folder gone
    expect(await src.fingerprint('simple')).toBe(changed);
  });

  it('a new source on the same cache reuses the files (restart of the pod with the cache volume kept)', async () => {
    repoWithSimple();
    await source().materialize('simple');
    fake.clearRequests();
    await source().materialize('simple');
    expect(fake.mediaDownloads()).toBe(0);
  });

  it('downloads again a cached file that was damaged locally (size differs from the manifest)', async () => {
    repoWithSimple();
    const src = source();
    const dir = await src.materialize('simple');
    fs.writeFileSync(path.join(dir, '1/model.onnx'), 'x');
    fake.clearRequests();
    await src.materialize('simple');
    expect(fake.mediaDownloads()).toBe(1);
    expect(read(dir, '1/model.onnx')).toBe('version one');
  });

  it('deletes the cache of a model removed from the bucket', async () => {
    repoWithSimple();
    put('other/1/model.onnx', 'o');
    // The cache is removed in the background after the listing shows the model gone: its log line says when.
    let cacheDeleted!: () => void;
    const deleted = new Promise<void>((resolve) => (cacheDeleted = resolve));
    const log = pino({ level: 'info' }, { write: (line: string) => (JSON.parse(line).msg === 'model removed from the bucket: cache deleted' ? cacheDeleted() : undefined) });
    const src = source(undefined, { log });
    const dir = await src.materialize('simple');
    for (const name of ['config.pbtxt', '1/model.onnx', '2/model.onnx']) fake.deleteObject(BUCKET, `repo/simple/${name}`);
    expect(await src.listModels()).toEqual(['other']);
    expect(await src.fingerprint('simple')).toBe('absent');
    await expect(src.materialize('simple')).rejects.toThrow(/model 'simple' not found in gs:\/\/models\/repo/);
    await deleted;
    expect(fs.existsSync(dir)).toBe(false);
  });

  it.each([
    ['503', { type: 'status', status: 503 }],
    ['429', { type: 'status', status: 429 }],
    ['a body cut off mid-stream', { type: 'truncate' }],
    ['a short body', { type: 'short' }],
    ['corrupted bytes', { type: 'corrupt' }],
  ] as const)('retries a download that fails with %s', async (_label, fault) => {
    put('m/1/model.onnx', Buffer.alloc(64 * 1024, 7));
    fake.addFault({ kind: 'media', object: 'repo/m/1/model.onnx', fault, times: 2 });
    const dir = await source().materialize('m');
    expect(fs.readFileSync(path.join(dir, '1/model.onnx')).equals(Buffer.alloc(64 * 1024, 7))).toBe(true);
    expect(fake.mediaDownloads('repo/m/1/model.onnx')).toBe(3);
  });

  it('fails with the reason when an object stays corrupt, and keeps the previous copy', async () => {
    put('m/config.pbtxt', 'config');
    put('m/1/model.onnx', 'good bytes');
    const src = source();
    const dir = await src.materialize('m');
    put('m/1/model.onnx', 'new bytes!');
    put('m/config.pbtxt', 'new config');
    fake.addFault({ kind: 'media', object: 'repo/m/1/model.onnx', fault: { type: 'corrupt' }, times: Infinity });
    await expect(src.materialize('m')).rejects.toThrow(
      /failed to download model 'm' from gs:\/\/models\/repo\/m\/: gs:\/\/models\/repo\/m\/1\/model.onnx#[0-9]+: crc32c mismatch.*gave up after 4 attempts/,
    );
    // Nothing of the failed update was moved into place, nothing temporary left.
    expect(read(dir, '1/model.onnx')).toBe('good bytes');
    expect(read(dir, 'config.pbtxt')).toBe('config');
    expect(fs.readdirSync(path.join(dir, '1'))).toEqual(['model.onnx']);
    fake.clearFaults();
    await src.materialize('m');
    expect(read(dir, '1/model.onnx')).toBe('new bytes!');
  });

  it('does not retry a 403 and names the bucket and the credentials', async () => {
    put('m/1/model.onnx', 'x');
    fake.addFault({ kind: 'media', fault: { type: 'status', status: 403 }, times: Infinity });
    await expect(source().materialize('m')).rejects.toThrow(/access to gs:\/\/models\/repo\/m\/1\/model.onnx#[0-9]+ denied \(HTTP 403/);
    expect(fake.mediaDownloads()).toBe(1);
  });

  it('downloads in parallel, bounded by the concurrency', async () => {
    for (let i = 1; i <= 12; i++) put(`big/${i}/model.onnx`, Buffer.alloc(1024 * 1024, i));
    const dir = await source(undefined, { concurrency: 4 }).materialize('big');
    for (let i = 1; i <= 12; i++) expect(fs.statSync(path.join(dir, String(i), 'model.onnx')).size).toBe(1024 * 1024);
  });

  it('stores gzip-encoded objects decompressed, verifying the stored bytes', async () => {
    fake.putObject(BUCKET, 'repo/z/config.pbtxt', gzipSync(Buffer.from('name: "z"')), { contentEncoding: 'gzip' });
    const dir = await source().materialize('z');
    expect(read(dir, 'config.pbtxt')).toBe('name: "z"');
    fake.clearRequests();
    await source().materialize('z');
    expect(fake.mediaDownloads()).toBe(0);
  });

  it('skips objects whose names would escape the model directory', async () => {
    put('m/1/model.onnx', 'x');
    put('m/../../escape', 'bad');
    put('m/1/', ''); // folder placeholder
    const dir = await source().materialize('m');
    expect(fs.readdirSync(dir)).toEqual(['1']);
    expect(fs.existsSync(path.join(cacheDir, 'escape'))).toBe(false);
  });

  it('refuses model names that are not plain directory names', async () => {
    await expect(source().materialize('../x')).rejects.toThrow(/not a model name/);
  });

  it('logs the progress of large downloads', async () => {
    const lines: { msg: string; percent?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    put('large/1/model.onnx', Buffer.alloc(8 * 1024 * 1024, 1));
    await source(undefined, { log, progressThresholdBytes: 1024 * 1024, progressIntervalMs: 0 }).materialize('large');
    expect(lines.some((line) => line.msg === 'downloading model')).toBe(true);
    expect(lines.some((line) => line.msg === 'downloading' && typeof line.percent === 'number')).toBe(true);
    expect(lines.some((line) => line.msg === 'model files up to date')).toBe(true);
  });
});
