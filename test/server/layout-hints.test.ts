/**
 * Common layout and request mistakes get a hint that says what to change: a model file outside its version folder, a
 * request shape without the batch dimension, a gs:// bucket name Cloud Storage cannot have.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InferenceServer } from '../../constructs';
import type { InferenceServerApp } from '../../server/app';
import { parseGcsUri } from '../../server/repository/gcs/uri';
import { chart, validationErrors } from '../constructs/helpers';
import { copyRepository, startServer } from './repo-fixture';

describe('a model file directly in the model folder', () => {
  let server: InferenceServerApp;
  let repo: string;
  beforeAll(async () => {
    repo = copyRepository(['simple']);
    // The mistake: <model>/model.onnx instead of <model>/1/model.onnx (with and without a config.pbtxt).
    fs.mkdirSync(path.join(repo, 'flat'));
    fs.copyFileSync(path.join(repo, 'simple', '1', 'model.onnx'), path.join(repo, 'flat', 'model.onnx'));
    fs.mkdirSync(path.join(repo, 'flat_with_config'));
    fs.copyFileSync(path.join(repo, 'simple', '1', 'model.onnx'), path.join(repo, 'flat_with_config', 'model.onnx'));
    fs.copyFileSync(path.join(repo, 'simple', 'config.pbtxt'), path.join(repo, 'flat_with_config', 'config.pbtxt'));
    server = startServer({ modelRepositories: [repo] });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it.each(['flat', 'flat_with_config'])('%s: the index says the version folder is missing', async (model) => {
    const entry = (await server.service.repositoryIndex()).find((e) => e.name === model);
    expect(entry).toEqual({
      name: model,
      state: 'UNAVAILABLE',
      reason:
        `model '${model}' has no version folder: 'model.onnx' lies directly in the model folder, but model files go in a ` +
        `numbered version folder (${model}/1/model.onnx)`,
    });
  });
});

describe('a request shape without the batch dimension', () => {
  let server: InferenceServerApp;
  let repo: string;
  beforeAll(async () => {
    repo = copyRepository(['simple']);
    server = startServer({ modelRepositories: [repo], allowHttp: true, httpPort: 0, host: '127.0.0.1' });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  const infer = async (shape: number[]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Array<number>(count).fill(1);
    const response = await server.http.inject({
      method: 'POST',
      url: '/v2/models/simple/infer',
      payload: {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape, data },
          { name: 'INPUT1', datatype: 'INT32', shape, data },
        ],
      },
    });
    return { status: response.statusCode, error: (response.json() as { error: string }).error };
  };

  it("[16] to `simple` (max_batch_size 8): Triton's batch-size error, then that the first dimension is the batch", async () => {
    expect(await infer([16])).toEqual({
      status: 400,
      error:
        "[request id: <id_unknown>] inference request batch-size must be <= 8 for 'simple'. The first dimension of each " +
        "input's shape is the batch size for model 'simple' (max_batch_size 8): input 'INPUT0' has shape [16], the shape " +
        'of one sample; send [1,16] for one sample.',
    });
  });

  it('a batch that is too large but has its batch dimension gets no hint', async () => {
    expect(await infer([9, 16])).toEqual({
      status: 400,
      error: "[request id: <id_unknown>] inference request batch-size must be <= 8 for 'simple'",
    });
  });
});

describe('gs:// bucket names', () => {
  it.each([
    ['gs://b/m', "'b' is not a valid Cloud Storage bucket name: it is too short (1 character; bucket names have 3 to 63 characters, or up to 222 when they contain dots)"],
    [`gs://${'a'.repeat(64)}/m`, `'${'a'.repeat(64)}' is not a valid Cloud Storage bucket name: it is too long (64 characters; bucket names have 3 to 63 characters, or up to 222 when they contain dots)`],
    ['gs://My_Models/m', "'My_Models' is not a valid Cloud Storage bucket name: bucket names hold only lowercase letters, digits, '-', '_' and '.'"],
    ['gs://-models/m', "'-models' is not a valid Cloud Storage bucket name: bucket names start and end with a letter or a digit"],
    ['gs://google-models/m', "'google-models' is not a valid Cloud Storage bucket name: bucket names cannot start with 'goog'"],
  ])('the server refuses %s and says why', (uri, why) => {
    expect(() => parseGcsUri(uri)).toThrow(new Error(`model repository '${uri}': ${why}`));
  });

  it('valid names pass, dotted ones up to 222 characters', () => {
    expect(parseGcsUri('gs://abc/m')).toEqual({ bucket: 'abc', prefix: 'm' });
    const dotted = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}`;
    expect(parseGcsUri(`gs://${dotted}`)).toEqual({ bucket: dotted, prefix: '' });
  });

  it('the InferenceServer construct says the same', () => {
    const c = chart();
    new InferenceServer(c, 'Server', { name: 'isrv', image: 'r/i:1', modelRepositories: ['gs://b/m'] });
    expect(validationErrors(c)).toEqual([
      'model repository "gs://b/m": "b" is not a valid Cloud Storage bucket name: it is too short (1 character; bucket ' +
        'names have 3 to 63 characters, or up to 222 when they contain dots)',
    ]);
  });
});
