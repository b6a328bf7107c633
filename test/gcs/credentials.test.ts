/**
 * Application Default Credentials as the GCS source sees them, against the loopback fake (which also plays the GCE
 * metadata server). No request leaves 127.0.0.1: the metadata host is the fake, gcloud's config folder is empty, and
 * the service-account key test only resolves the credentials without asking for a token.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GcsRepositorySource } from '../../server/repository/gcs';
import { FakeGcsServer } from './fake-gcs-server';

let fake: FakeGcsServer;
let scratch: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await new FakeGcsServer().start();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-cred-'));
});

afterAll(async () => {
  await fake.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  process.env = { ...savedEnv };
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  delete process.env.STORAGE_EMULATOR_HOST;
  process.env.CLOUDSDK_CONFIG = path.join(scratch, 'empty-gcloud-config'); // no application_default_credentials.json
  process.env.GCE_METADATA_HOST = fake.host;
  process.env.METADATA_SERVER_DETECTION = 'none';
  fake.buckets.clear();
  fake.acceptedTokens.clear();
  fake.clearRequests();
  fake.createBucket('public-models');
  fake.createBucket('private-models', { public: false });
  fake.putObject('public-models', 'repo/simple/config.pbtxt', 'x');
  fake.putObject('private-models', 'repo/simple/config.pbtxt', 'x');
});

afterEach(() => {
  process.env = savedEnv;
});

/** A source that sends credentials to the fake, as it would to storage.googleapis.com. */
function source(bucket: string): GcsRepositorySource {
  return new GcsRepositorySource(`gs://${bucket}/repo`, {
    cacheDir: path.join(scratch, 'cache'),
    apiEndpoint: fake.url,
    useAuthWithCustomEndpoint: true,
    retry: { maxAttempts: 2, initialDelayMs: 1 },
  });
}

describe('no Application Default Credentials', () => {
  it('reads a public bucket anonymously', async () => {
    const src = source('public-models');
    expect((await src.credentialInfo()).kind).toBe('anonymous');
    expect(await src.listModels()).toEqual(['simple']);
    expect(fake.requests.find((r) => r.kind === 'list')?.authorization).toBeUndefined();
  });

  it('explains a private bucket: names the bucket and that the access was anonymous', async () => {
    const error = await source('private-models').listModels().catch((e: Error) => e);
    expect(String(error)).toMatch(/access to gs:\/\/private-models\/repo\/ denied \(HTTP 401/);
    expect(String(error)).toMatch(/anonymous access: no Application Default Credentials were found/);
    expect(String(error)).toMatch(/Workload Identity .*or set GOOGLE_APPLICATION_CREDENTIALS/);
  });
});

describe('GKE Workload Identity (metadata server)', () => {
  beforeEach(() => {
    process.env.METADATA_SERVER_DETECTION = 'assume-present';
  });

  it('uses the token from the metadata server', async () => {
    fake.acceptedTokens.add(fake.metadataToken);
    const src = source('private-models');
    const info = await src.credentialInfo();
    expect(info.kind).toBe('metadata-server');
    expect(info.email).toBe(fake.metadataEmail);
    expect(await src.listModels()).toEqual(['simple']);
    const dir = await src.materialize('simple');
    expect(fs.readFileSync(path.join(dir, 'config.pbtxt'), 'utf8')).toBe('x');
    expect(fake.requests.some((r) => r.kind === 'token')).toBe(true);
    expect(fake.requests.filter((r) => r.kind === 'list' || r.kind === 'media').every((r) => r.authorization === `Bearer ${fake.metadataToken}`)).toBe(true);
  });

  it('names the bucket, the metadata server identity and the missing role when access is denied', async () => {
    const error = await source('private-models').listModels().catch((e: Error) => e);
    expect(String(error)).toMatch(/access to gs:\/\/private-models\/repo\/ denied \(HTTP 403/);
    expect(String(error)).toContain(`the GKE/GCE metadata server (Workload Identity or the node's service account) as ${fake.metadataEmail}`);
    expect(String(error)).toContain(`grant roles/storage.objectViewer on gs://private-models to ${fake.metadataEmail}`);
  });
});

describe('GOOGLE_APPLICATION_CREDENTIALS', () => {
  it('names the file when it cannot be used', async () => {
    process.env.GOOGLE_APPLICATION_CREDENTIALS = path.join(scratch, 'missing.json');
    const error = await source('private-models').listModels().catch((e: Error) => e);
    expect(String(error)).toContain(`GOOGLE_APPLICATION_CREDENTIALS=${path.join(scratch, 'missing.json')} failed`);
    expect(fake.requests.filter((r) => r.kind === 'list')).toHaveLength(0);
  });

  it('recognises a service-account key file and its identity (no token is requested here)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = path.join(scratch, 'sa.json');
    fs.writeFileSync(key, JSON.stringify({
      type: 'service_account',
      project_id: 'test-project',
      private_key_id: 'abc',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: 'reader@test-project.iam.gserviceaccount.com',
      client_id: '1',
    }));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = key;
    const info = await source('private-models').credentialInfo();
    expect(info.kind).toBe('credentials-file');
    expect(info.description).toBe(`the credentials file GOOGLE_APPLICATION_CREDENTIALS=${key} as reader@test-project.iam.gserviceaccount.com`);
  });
});

describe('custom endpoint without authentication', () => {
  it('says so instead of resolving credentials', async () => {
    const src = new GcsRepositorySource('gs://public-models/repo', { cacheDir: path.join(scratch, 'cache'), apiEndpoint: fake.url });
    expect((await src.credentialInfo()).kind).toBe('custom-endpoint');
  });
});
