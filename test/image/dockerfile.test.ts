/**
 * The Dockerfile read statically against what the rest of the repository expects of the image. Building and running
 * it needs root and podman: scripts/image/check.sh does that (README "Container image and GPUs").
 */
import * as fs from 'fs';
import * as path from 'path';
import { Dockerfile, DockerfileParser, ImageTemplate } from 'dockerfile-ast';
import { Chart, Testing } from 'cdk8s';
import { InferenceServer } from '../../constructs';
import { DEFAULT_PORTS, SERVER_UID, WRITABLE_PATHS } from '../../server/contract';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE_TEXT = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(DOCKERFILE_TEXT);

function stages(file: Dockerfile): ImageTemplate[] {
  return file.getFROMs().map((from) => file.getContainingImage(from.getRange().start)!);
}
const runtime = stages(dockerfile).at(-1)!;

function instructionArguments(stage: ImageTemplate, keyword: string): string[] {
  return stage.getInstructions().filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');
}

/** Uses of a build argument where it is not in scope (a stage must redeclare a global ARG): "line N: NAME". */
function argumentsOutOfScope(file: Dockerfile): string[] {
  const declared = new Set(
    file.getInstructions().filter((i) => i.getKeyword() === 'ARG')
      .map((i) => (i.getArgumentsContent() ?? '').split('=')[0]),
  );
  return file.getInstructions().flatMap((instruction) => {
    const line = instruction.getRange().start.line;
    const available = file.getAvailableVariables(line);
    return instruction.getVariables().map((variable) => variable.getName())
      .filter((name) => declared.has(name) && !available.includes(name))
      .map((name) => `line ${line + 1}: ${name}`);
  });
}

describe('Dockerfile', () => {
  test('GPU build argument: cuda12 by default, and every stage that reads it declares it', () => {
    const initial = dockerfile.getInitialARGs().map((arg) => arg.getArgumentsContent());
    expect(initial).toContain('GPU=cuda12');
    expect(argumentsOutOfScope(dockerfile)).toEqual([]);
    // The check itself: the runtime stage without its ARG GPU line reads an unset GPU.
    const withoutRuntimeArg = DOCKERFILE_TEXT.replace(/(FROM \$\{NODE_IMAGE\}\n)ARG GPU\n/, '$1');
    expect(withoutRuntimeArg).not.toBe(DOCKERFILE_TEXT);
    expect(argumentsOutOfScope(DockerfileParser.parse(withoutRuntimeArg))).toEqual([expect.stringMatching(/: GPU$/)]);
  });

  test('the runtime stage runs as the uid the constructs expect and exposes the default ports', () => {
    expect(instructionArguments(runtime, 'USER')).toEqual([`${SERVER_UID}:${SERVER_UID}`]);
    expect(instructionArguments(runtime, 'EXPOSE').join(' ').split(/\s+/).map(Number).sort())
      .toEqual(Object.values(DEFAULT_PORTS).sort());
  });

  test('the model cache directory exists in the image and belongs to the server uid', () => {
    const run = instructionArguments(runtime, 'RUN').join('\n');
    expect(run).toContain(`mkdir -p ${WRITABLE_PATHS.modelCache}`);
    expect(run).toContain(`chown ${SERVER_UID}:${SERVER_UID} ${WRITABLE_PATHS.modelCache}`);
  });

  test('ENTRYPOINT is tini, installed in the runtime stage, running the package bin inference-server', () => {
    const entrypoint = runtime.getENTRYPOINTs().map((e) => e.getJSONStrings().map((s) => s.getJSONValue()));
    expect(entrypoint).toEqual([['tini', '--', 'inference-server']]);
    expect(instructionArguments(runtime, 'RUN').join('\n')).toMatch(/apt-get install[^&]*\btini\b/);
    const bin = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).bin['inference-server'];
    expect(instructionArguments(runtime, 'RUN').join('\n')).toContain(`exec node /app/${bin} "$@"`);
  });

  test('the Deployment keeps the image ENTRYPOINT (args only, no command that would bypass tini)', () => {
    const chart = new Chart(Testing.app(), 'image');
    new InferenceServer(chart, 'Server', { name: 'isrv', image: 'registry.example/inference-server:test', modelRepositories: ['gs://bucket/repo'] });
    const deployment = Testing.synth(chart).find((m) => m.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.command).toBeUndefined();
    expect(container.args.length).toBeGreaterThan(0);
  });
});
