/**
 * --model-config-name (Triton's custom model configuration): `<model>/configs/<name>.pbtxt` is the configuration
 * where it exists; other models keep config.pbtxt; in explicit mode a new or removed custom file is seen at the next
 * load, as Triton documents.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InferenceServerApp } from '../../server/app';
import { copyRepository, startServer } from './repo-fixture';

let server: InferenceServerApp | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function withCustomConfig(repo: string, model: string, name: string, edit: (text: string) => string): void {
  const configs = path.join(repo, model, 'configs');
  fs.mkdirSync(configs, { recursive: true });
  fs.writeFileSync(path.join(configs, `${name}.pbtxt`), edit(fs.readFileSync(path.join(repo, model, 'config.pbtxt'), 'utf8')));
}

const maxBatchSize = (app: InferenceServerApp, model: string) => app.service.modelConfig(model).max_batch_size;

it('reads configs/<name>.pbtxt where it exists, config.pbtxt elsewhere', async () => {
  const repo = copyRepository(['simple', 'mlp']);
  withCustomConfig(repo, 'simple', 'h100', (text) => text.replace(/max_batch_size: 8/, 'max_batch_size: 2'));
  const plain = startServer({ modelRepositories: [repo] });
  await plain.start();
  const defaults = { simple: maxBatchSize(plain, 'simple'), mlp: maxBatchSize(plain, 'mlp') };
  await plain.stop();
  expect(defaults.simple).toBe(8);

  server = startServer({ modelRepositories: [repo], modelConfigName: 'h100' });
  expect((await server.start()).failedModels).toEqual([]);
  expect(maxBatchSize(server, 'simple')).toBe(2);
  expect(maxBatchSize(server, 'mlp')).toBe(defaults.mlp);
});

it('a custom file added or removed is used from the next load (explicit mode)', async () => {
  const repo = copyRepository(['simple']);
  server = startServer({ modelRepositories: [repo], modelConfigName: 'small', modelControlMode: 'explicit', loadModels: ['simple'] });
  await server.start();
  expect(maxBatchSize(server, 'simple')).toBe(8);
  withCustomConfig(repo, 'simple', 'small', (text) => text.replace(/max_batch_size: 8/, 'max_batch_size: 4'));
  await server.service.loadModel('simple');
  expect(maxBatchSize(server, 'simple')).toBe(4);
  fs.rmSync(path.join(repo, 'simple', 'configs'), { recursive: true });
  await server.service.loadModel('simple');
  expect(maxBatchSize(server, 'simple')).toBe(8);
});
