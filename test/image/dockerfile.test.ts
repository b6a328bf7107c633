/**
 * The Dockerfile read statically against what the rest of the repository expects of the image. Building and running
 * it needs root and podman: `npm run test:image` (scripts/image/test.sh) does that, and .ci/run runs it after npm test
 * where containers can run (docs/image.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Dockerfile, DockerfileParser, ImageTemplate } from 'dockerfile-ast';
import { Chart, Testing } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import { InferenceServer } from '../../constructs';
import { DEFAULT_PORTS, SERVER_UID, WRITABLE_PATHS } from '../../server/contract';
import { serverNodeFlags } from '../../server/launch-flags';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE_TEXT = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(DOCKERFILE_TEXT);

function stage(name: string): ImageTemplate {
  const found = dockerfile.getFROMs().find((from) => from.getBuildStage() === name);
  if (!found) throw new Error(`no stage ${name}`);
  return dockerfile.getContainingImage(found.getRange().start)!;
}
const runtime = stage('cpu');
const cuda = stage('cuda');

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
  test('two targets: cpu, and cuda built on it (the default, last stage); build arguments in scope', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.at(-1)!.getBuildStage()).toBe('cuda');
    expect(froms.find((from) => from.getBuildStage() === 'cuda')!.getImageName()).toBe('cpu');
    expect(argumentsOutOfScope(dockerfile)).toEqual([]);
    // The check itself: the cuda stage without its ARG CUDA_VERSION line reads an unset CUDA_VERSION.
    const withoutArg = DOCKERFILE_TEXT.replace(/(FROM cpu AS cuda\n)ARG CUDA_VERSION\n/, '$1');
    expect(withoutArg).not.toBe(DOCKERFILE_TEXT);
    expect([...new Set(argumentsOutOfScope(DockerfileParser.parse(withoutArg)))])
      .toEqual([expect.stringMatching(/: CUDA_VERSION$/)]);
  });

  test('the cuda target gets the CUDA provider of exactly onnxruntime-node\'s version, and runs as uid 1000 again', () => {
    // A provider library of another ONNX Runtime release does not work with it, so the dependency is pinned, not a range.
    const ort = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies['onnxruntime-node'];
    expect(ort).toMatch(/^\d+\.\d+\.\d+$/);
    const provider = stage('cuda-provider');
    expect(instructionArguments(provider, 'ARG').join('\n')).toMatch(/^ORT_CUDA_PROVIDER=\S+@\d+\.\d+\.\d+$/m);
    expect(instructionArguments(provider, 'RUN').join('\n')).toContain('node check-ort-provider.js onnxruntime-node.json out/libonnxruntime_providers_cuda.so');
    const cudaLines = DOCKERFILE_TEXT.split('\n').slice(cuda.getRange()!.start.line, cuda.getRange()!.end.line + 1);
    expect(cudaLines).toContain('COPY --from=cuda-provider /provider/out/ /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/');
    expect(instructionArguments(cuda, 'USER').at(-1)).toBe(`${SERVER_UID}:${SERVER_UID}`);
  });

  test('the image test runs the container with the constructs\' writable paths and nothing else writable', () => {
    const script = fs.readFileSync(path.join(ROOT, 'scripts', 'image', 'test.sh'), 'utf8');
    expect(script).toContain('--read-only');
    expect(script).toContain(`--user ${SERVER_UID}:${SERVER_UID}`);
    const tmpfs = [...script.matchAll(/--tmpfs (\S+?):/g)].map((m) => m[1]);
    // /dev/shm is podman's own memory-backed mount (--shm-size), as the constructs' emptyDir medium Memory.
    expect([...tmpfs, ...(script.includes('--shm-size=') ? [WRITABLE_PATHS.shm] : [])].sort())
      .toEqual(Object.values(WRITABLE_PATHS).sort());
  });

  test('.npmrc holds only settings npm knows (a package-specific key is an "Unknown project config" to npm 11)', () => {
    const settings = fs.readFileSync(path.join(ROOT, '.npmrc'), 'utf8').split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'));
    expect(settings).toEqual(['ignore-scripts=true']);
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
    // With the node flags every launch of the server gets (server/launch-flags.ts), for the image's Node 24 (V8 13).
    expect(instructionArguments(runtime, 'RUN').join('\n')).toContain(`exec node ${serverNodeFlags('13.6').join(' ')} /app/${bin} "$@"`);
  });

  test('the Deployment keeps the image ENTRYPOINT (args only, no command that would bypass tini)', () => {
    const chart = new Chart(Testing.app(), 'image');
    new InferenceServer(chart, 'Server', { name: 'isrv', image: 'registry.example/inference-server:test', modelRepositories: ['gs://bucket/repo'] });
    const deployment = Testing.synth(chart).find((m) => m.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.command).toBeUndefined();
    expect(container.args.length).toBeGreaterThan(0);
  });

  test('the release workflow builds and pushes every target on a version tag, with provenance and an SBOM', () => {
    const workflow = parseYaml(fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8'));
    expect(workflow.on.push.tags).toEqual(['v*.*.*']);
    const job = workflow.jobs.image;
    expect(job.needs).toBe('test');
    const targets = job.strategy.matrix.include.map((entry: { target: string }) => entry.target).sort();
    expect(targets).toEqual(['cpu', 'cuda']);
    for (const target of targets) stage(target);
    const build = job.steps.find((step: { uses?: string }) => step.uses?.startsWith('docker/build-push-action@'));
    expect(build.with).toMatchObject({ target: '${{ matrix.target }}', push: true, provenance: 'mode=max', sbom: true });
    expect(job.permissions).toMatchObject({ packages: 'write', 'id-token': 'write', attestations: 'write' });
  });
});
