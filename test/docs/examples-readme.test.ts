/** The commands of examples/model_repository/README.md and docs/security.md, run as written. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docEnvironment, DocServer, documentedServer, expectDocumentedOutput, ROOT, runDocBlock } from './doc-blocks';

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

const outputsOf = (text: string) => Object.fromEntries((JSON.parse(text).outputs as { name: string; data: number[] }[]).map((o) => [o.name, o.data]));

describe('examples/model_repository/README.md', () => {
  const docs = documentedServer('examples-serve');

  test('the generator writes the committed repository, byte for byte', async () => {
    const run = await runDocBlock('build-models', docs.environment, 240_000);
    expect(run).toMatchObject({ code: 0 });
    const built = path.join(docs.environment.scratch, 'model_repository');
    const committed = path.join(ROOT, 'examples/model_repository');
    expect(listFiles(built).sort()).toEqual(listFiles(committed).filter((f) => f !== 'README.md').sort());
    for (const file of listFiles(built)) expect({ file, same: fs.readFileSync(path.join(built, file)).equals(fs.readFileSync(path.join(committed, file))) }).toEqual({ file, same: true });
  }, 240_000);

  test('simple: OUTPUT0 = [1..16], OUTPUT1 = [-1..14], version 2', async () => {
    const run = await runDocBlock('examples-simple', docs.environment);
    expect(run).toMatchObject({ code: 0 });
    expect(JSON.parse(run.stdout).model_version).toBe('2');
    expect(outputsOf(run.stdout)).toEqual({ OUTPUT0: Array.from({ length: 16 }, (_, i) => i + 1), OUTPUT1: Array.from({ length: 16 }, (_, i) => i - 1) });
  });

  test('add_sub_autocomplete: the config completed from the ONNX file', async () => {
    const run = await runDocBlock('examples-autocomplete', docs.environment);
    expect(run).toMatchObject({ code: 0 });
    expect(JSON.parse(run.stdout)).toMatchObject({ max_batch_size: 4, input: expect.arrayContaining([expect.objectContaining({ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [4] })]) });
  });

  test('sequence_accumulate: 1, 3, 6', async () => {
    const run = await runDocBlock('examples-sequence', docs.environment);
    expect(run).toMatchObject({ code: 0 });
    expect([...run.stdout.matchAll(/"name":"OUTPUT","datatype":"INT32","shape":\[1,1\],"data":\[(-?\d+)\]/g)].map((m) => Number(m[1]))).toEqual([1, 3, 6]);
  });

  test('simple_chain: OUTPUT0 = 2 * INPUT0, OUTPUT1 = 2 * INPUT1', async () => {
    const run = await runDocBlock('examples-ensemble', docs.environment);
    expect(run).toMatchObject({ code: 0 });
    expect(outputsOf(run.stdout)).toEqual({ OUTPUT0: Array.from({ length: 16 }, (_, i) => 2 * i), OUTPUT1: new Array(16).fill(2) });
  });
});

describe('docs/security.md: locking the admin APIs', () => {
  test('without the header 403, with it 200', async () => {
    const server = await DocServer.start('restricted-apis-serve', docEnvironment());
    const environment = server.environment;
    try {
      const run = await runDocBlock('restricted-apis', environment);
      expect(run).toMatchObject({ code: 0 });
      expectDocumentedOutput('restricted-apis', run.stdout);
    } finally {
      await server.stop();
      fs.rmSync(environment.scratch, { recursive: true, force: true });
    }
  }, 240_000);
});
