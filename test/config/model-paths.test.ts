/**
 * Paths a model config names stay inside the model's folder, symbolic links included: unit checks with hostile names
 * (fast-check), then explicit-mode loads with config overrides that used to read /etc/passwd, import any .py file or
 * run any program.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { checkModelConfigPaths, resolveInsideModel } from '../../server/config/model-paths';
import type { InferenceServerApp } from '../../server/app';
import { copyRepository, simpleConfigJson, simpleRequest, startServer } from '../server/repo-fixture';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'model-paths-'));
const modelDir = path.join(scratch, 'repo', 'model');
const outsideFile = path.join(scratch, 'outside.txt');
fs.mkdirSync(path.join(modelDir, '1'), { recursive: true });
fs.mkdirSync(path.join(modelDir, 'warmup'));
fs.writeFileSync(path.join(modelDir, 'labels.txt'), 'a\nb\n');
fs.writeFileSync(outsideFile, 'secret\n');
fs.symlinkSync(outsideFile, path.join(modelDir, 'linked-out.txt'));
fs.symlinkSync(path.join(modelDir, 'labels.txt'), path.join(modelDir, 'linked-in.txt'));
fs.symlinkSync(scratch, path.join(modelDir, 'linked-dir'));
fs.symlinkSync(path.join(scratch, 'nowhere'), path.join(modelDir, 'dangling'));

/** The test's own oracle: realpath, through the deepest existing ancestor for a missing file. */
function realOf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.join(realOf(path.dirname(file)), path.basename(file));
  }
}

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('resolveInsideModel', () => {
  it.each([
    ['labels.txt', true],
    ['./labels.txt', true],
    ['1/../labels.txt', true],
    ['linked-in.txt', true], // a link that stays inside
    ['not-yet-there.txt', true], // missing: the reader reports it
    ['../outside.txt', false],
    ['../../../../etc/passwd', false],
    ['/etc/passwd', false],
    [outsideFile, false],
    ['linked-out.txt', false],
    ['linked-dir/outside.txt', false],
    ['linked-dir/missing/deeper.txt', false],
    ['dangling', false],
    ['.', false],
    ['', false],
    ['a\0b', false],
  ])('%j inside: %s', async (name, inside) => {
    const result = resolveInsideModel(modelDir, modelDir, name, 'label_filename');
    if (inside) await expect(result).resolves.toBe(path.resolve(modelDir, name));
    else await expect(result).rejects.toThrow(`label_filename '${name}' is not inside the model's folder`);
  });

  it('random names: accepted only when the file they reach (after links) is in the model folder', async () => {
    const realModel = fs.realpathSync(modelDir);
    const segment = fc.constantFrom('..', '.', 'labels.txt', 'linked-dir', 'linked-out.txt', 'linked-in.txt', '1', 'warmup', 'etc', 'passwd', '');
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), async (segments, absolute) => {
        const name = (absolute ? '/' : '') + segments.join('/');
        let accepted: string | undefined;
        try {
          accepted = await resolveInsideModel(modelDir, modelDir, name, 'label_filename');
        } catch (error) {
          expect((error as Error).message).toContain("is not inside the model's folder");
          return;
        }
        expect(realOf(accepted).startsWith(realModel + path.sep)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('checkModelConfigPaths names the field that is outside', async () => {
    const check = (config: object) => checkModelConfigPaths(config, modelDir, [1]);
    await expect(check({ output: [{ name: 'OUT', label_filename: '../outside.txt' }] })).rejects.toThrow(
      "label_filename of output 'OUT' '../outside.txt' is not inside the model's folder",
    );
    await expect(check({ default_model_filename: '../../outside.txt' })).rejects.toThrow("default_model_filename '../../outside.txt'");
    await expect(check({ default_model_filename: '../labels.txt' })).resolves.toBeUndefined(); // in the model folder
    await expect(check({ model_warmup: [{ name: 'w', inputs: { IN: { input_data_file: '../../outside.txt' } } }] })).rejects.toThrow(
      "input_data_file of warmup 'w' input 'IN' '../../outside.txt'",
    );
    await expect(
      check({ sequence_batching: { state: [{ input_name: 'S', initial_state: [{ data_file: '../../../etc/passwd' }] }] } }),
    ).rejects.toThrow("initial_state data_file of state 'S' '../../../etc/passwd'");
  });
});

describe('explicit-mode loads with a config override', () => {
  let server: InferenceServerApp;
  let repo: string;
  beforeAll(async () => {
    repo = copyRepository(['simple']);
    fs.symlinkSync('/etc/passwd', path.join(repo, 'simple', 'labels.txt'));
    server = startServer({ modelRepositories: [repo], modelControlMode: 'explicit' });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  const withOutputLabels = (labelFile: string) =>
    JSON.stringify({
      ...JSON.parse(simpleConfigJson()),
      output: [
        { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16], label_filename: labelFile },
        { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ],
    });

  it.each([
    ['label_filename through ../', withOutputLabels('../../../../etc/passwd'), "label_filename of output 'OUTPUT0' '../../../../etc/passwd' is not inside"],
    ['label_filename of /proc/self/environ', withOutputLabels('/proc/self/environ'), "'/proc/self/environ' is not inside the model's folder"],
    ['label_filename through a link in the model folder', withOutputLabels('labels.txt'), "'labels.txt' is not inside the model's folder"],
    ['default_model_filename through ../', simpleConfigJson({ default_model_filename: '../../../../../../etc/passwd' }), "default_model_filename '../../../../../../etc/passwd'"],
  ])('%s fails the load; nothing is served from it', async (_label, config, message) => {
    const error = await server.service.loadModel('simple', { config }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(message);
    expect(server.manager.readyVersions('simple')).toEqual([]);
  });

  it('the model still loads with its own config, and serves', async () => {
    await server.service.loadModel('simple');
    const response = await server.service.infer(simpleRequest());
    expect(Array.from(response.outputs[0].data as Int32Array)).toHaveLength(16);
  });
});
