/**
 * The commands of examples/python_models/README.md, run as written. They need python3 with numpy on PATH (as the
 * Python backend's tests do; .ci/run installs it); torch_mlp loads only where that python3 has torch, and otherwise
 * its error names the interpreter.
 */
import { documentedServer, httpRequest, runDocBlock } from './doc-blocks';

const docs = documentedServer('python-examples-serve');

const outputsOf = (text: string) => Object.fromEntries((JSON.parse(text).outputs as { name: string; data: unknown[] }[]).map((o) => [o.name, o.data]));

test('every model but torch_mlp is READY; torch_mlp is READY or names the interpreter that lacks torch', async () => {
  const response = await httpRequest(`http://127.0.0.1:${docs.environment.http}/v2/repository/index`, 'POST');
  const index = JSON.parse(response!.body) as { name: string; state: string; reason: string }[];
  for (const entry of index.filter((e) => e.name !== 'torch_mlp')) expect(entry).toMatchObject({ state: 'READY' });
  const torch = index.find((e) => e.name === 'torch_mlp')!;
  if (torch.state !== 'READY') {
    expect(torch.reason).toContain("No module named 'torch' (Python interpreter '/");
    expect(torch.reason).toContain('--backend-config=python,execution-env-path=');
  }
});

test('add_sub: [2,3,4,5] and [0,1,2,3]', async () => {
  const run = await runDocBlock('python-add-sub', docs.environment);
  expect(run).toMatchObject({ code: 0 });
  expect(outputsOf(run.stdout)).toEqual({ OUTPUT0: [2, 3, 4, 5], OUTPUT1: [0, 1, 2, 3] });
});

test('repeat: one Server-Sent Event per element', async () => {
  const run = await runDocBlock('python-repeat', docs.environment);
  expect(run).toMatchObject({ code: 0 });
  const events = run.stdout.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)));
  expect(events.map((e) => [e.OUT, e.IDX])).toEqual([
    [4, 0],
    [5, 1],
    [6, 2],
  ]);
});

test('the pipeline without an ensemble and the ensemble give the same label and score', async () => {
  const pipeline = await runDocBlock('python-pipeline', docs.environment);
  expect(pipeline).toMatchObject({ code: 0 });
  const ensemble = await runDocBlock('python-ensemble', docs.environment);
  expect(ensemble).toMatchObject({ code: 0 });
  const chained = outputsOf(pipeline.stdout);
  const together = outputsOf(ensemble.stdout);
  expect(Object.keys(together).sort()).toEqual(['LABEL', 'SCORE']);
  expect(together.LABEL).toEqual(chained.LABEL);
  expect(together.SCORE[0] as number).toBeCloseTo(chained.SCORE[0] as number, 5);
});
