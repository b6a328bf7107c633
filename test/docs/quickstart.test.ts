/** README.md's quickstart and the commands of docs/client.md and docs/ensembles.md, run as written against `npm start`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentedServer, expectDocumentedOutput, runDocBlock } from './doc-blocks';

const docs = documentedServer('quickstart-serve');

test('the quickstart curls print what README.md shows', async () => {
  const run = await runDocBlock('quickstart-try', docs.environment);
  expect(run.stderr).toBe('');
  expect(run).toMatchObject({ code: 0 });
  expectDocumentedOutput('quickstart-try', run.stdout);
});

test('the client example and inference-perf with a report print what README.md shows', async () => {
  const run = await runDocBlock('quickstart-client', docs.environment, 300_000);
  expect(run).toMatchObject({ code: 0 });
  expectDocumentedOutput('quickstart-client', run.stdout);
  const report = fs.readFileSync(path.join(docs.environment.scratch, 'simple.html'), 'utf8');
  expect(report.match(/<svg /g)).toHaveLength(3);
}, 300_000);

test("docs/client.md's inference-perf command writes its CSV and report", async () => {
  const run = await runDocBlock('client-perf', docs.environment, 300_000);
  expect(run).toMatchObject({ code: 0 });
  const csv = fs.readFileSync(path.join(docs.environment.scratch, 'mlp.csv'), 'utf8');
  expect(csv.startsWith('Concurrency,Inferences/Second,')).toBe(true);
  expect(csv.trimEnd().split('\n')).toHaveLength(3); // concurrency 1 and 8
  expect(fs.readFileSync(path.join(docs.environment.scratch, 'mlp.html'), 'utf8')).toContain('inference-perf: mlp');
}, 300_000);

test("docs/ensembles.md's request: simple twice gives 2a and 2b", async () => {
  const run = await runDocBlock('ensembles-doc', docs.environment);
  expect(run).toMatchObject({ code: 0 });
  const outputs = Object.fromEntries((JSON.parse(run.stdout).outputs as { name: string; data: number[] }[]).map((o) => [o.name, o.data]));
  expect(outputs.OUTPUT0).toEqual(Array.from({ length: 16 }, (_, i) => 2 * i));
  expect(outputs.OUTPUT1).toEqual(new Array(16).fill(2));
});
