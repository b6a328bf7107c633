/**
 * End to end: the real server (createInferenceServer) with `--model-repository=gs://bucket/repo` served by the loopback
 * fake GCS (STORAGE_EMULATOR_HOST), a local repository mixed in, and an inference over HTTP. One gs:// model's object
 * stays corrupt: that model is UNAVAILABLE with the reason, the others serve.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { httpRequest, simpleInputs } from '../http/helpers';
import { FakeGcsServer } from './fake-gcs-server';

const SIMPLE = path.resolve(__dirname, '../../examples/model_repository/simple');
let fake: FakeGcsServer;
let cacheDir: string;
let localRepo: string;
let server: InferenceServerApp;
let port: number;
let failedModels: string[];
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await new FakeGcsServer().start();
  process.env.STORAGE_EMULATOR_HOST = fake.url;
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.GCE_METADATA_HOST = fake.host;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;

  fake.createBucket('bucket');
  fake.uploadDirectory('bucket', SIMPLE, 'repo/simple');
  // `broken`: a copy of simple whose version-1 model never downloads intact.
  fake.uploadDirectory('bucket', SIMPLE, 'repo/broken');
  fake.putObject('bucket', 'repo/broken/config.pbtxt', fs.readFileSync(path.join(SIMPLE, 'config.pbtxt'), 'utf8').replace('"simple"', '"broken"'));
  fake.addFault({ kind: 'media', object: 'repo/broken/1/model.onnx', fault: { type: 'corrupt' }, times: Infinity });

  // A local root next to the gs:// one.
  localRepo = fs.mkdtempSync(path.join(os.tmpdir(), 'local-repo-'));
  fs.cpSync(SIMPLE, path.join(localRepo, 'local_simple'), { recursive: true });
  fs.writeFileSync(
    path.join(localRepo, 'local_simple', 'config.pbtxt'),
    fs.readFileSync(path.join(SIMPLE, 'config.pbtxt'), 'utf8').replace('"simple"', '"local_simple"'),
  );

  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-cache-'));
  server = createInferenceServer({
    modelRepositories: ['gs://bucket/repo', localRepo],
    modelCacheDir: cacheDir,
    httpPort: 0,
    host: '127.0.0.1',
  });
  const started = await server.start();
  port = started.httpPort as number;
  failedModels = started.failedModels;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await fake.stop();
  process.env = savedEnv;
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.rmSync(localRepo, { recursive: true, force: true });
});

it('downloads the gs:// models into --model-cache-dir', () => {
  expect(fs.readFileSync(path.join(cacheDir, 'bucket', 'repo', 'simple', '1', 'model.onnx')).equals(fs.readFileSync(path.join(SIMPLE, '1', 'model.onnx')))).toBe(true);
  expect(fs.existsSync(path.join(cacheDir, 'bucket', 'repo', '.manifests', 'simple.json'))).toBe(true);
});

it('serves inference on a model from the bucket', async () => {
  const response = await httpRequest(port, {
    method: 'POST',
    url: '/v2/models/simple/infer',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ inputs: simpleInputs() }),
  });
  expect(response.statusCode).toBe(200);
  const body = response.json() as { model_name: string; outputs: { name: string; data: number[] }[] };
  expect(body.model_name).toBe('simple');
  const output0 = body.outputs.find((o) => o.name === 'OUTPUT0');
  expect(output0?.data).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
});

it('serves the local repository alongside', async () => {
  const response = await httpRequest(port, { method: 'GET', url: '/v2/models/local_simple/ready' });
  expect(response.statusCode).toBe(200);
});

it('marks the model whose download failed UNAVAILABLE with the reason', async () => {
  expect(failedModels).toEqual(['broken']);
  const response = await httpRequest(port, { method: 'POST', url: '/v2/repository/index', payload: '{}', headers: { 'content-type': 'application/json' } });
  const index = response.json() as { name: string; state?: string; reason?: string }[];
  const broken = index.find((entry) => entry.name === 'broken');
  expect(broken?.state).toBe('UNAVAILABLE');
  expect(broken?.reason).toMatch(/failed to download model 'broken' from gs:\/\/bucket\/repo\/broken\/: .*crc32c mismatch/);
  expect(index.find((entry) => entry.name === 'simple')?.state).toBe('READY');
});
