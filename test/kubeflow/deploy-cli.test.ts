/**
 * The deploy entry point's command line: the shared conventions (bare --dry-run, did-you-mean, -h, --version),
 * `--dry-run` YAML that `kubectl apply -f -` takes (multi-document, each a schema-valid object), and one line when
 * there is no kubeconfig (node dist/kubeflow/deploy.js, as a person runs it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { main, missingClusterCredentials, parseDeployArgs } from '../../kubeflow/deploy';
import { Manifest, schemaErrors } from '../constructs/helpers';
import { runCommand } from '../server/cli-process';

const ENTRY = path.resolve(__dirname, '../../dist/kubeflow/deploy.js');
const IMAGE = 'us-docker.pkg.dev/p/r/inference-server:0.1.0';
const REQUIRED = ['--name=simple', '--model-repository=gs://models-bucket/repo', `--image=${IMAGE}`];

async function captured(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (line) => out.push(line), stderr: (line) => err.push(line) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('deploy command line', () => {
  it('--dry-run bare, =true, or followed by true; --dry-run false deploys', () => {
    expect(parseDeployArgs([...REQUIRED, '--dry-run']).dryRun).toBe(true);
    expect(parseDeployArgs([...REQUIRED, '--dry-run=true']).dryRun).toBe(true);
    expect(parseDeployArgs(['--dry-run', 'true', ...REQUIRED]).dryRun).toBe(true);
    expect(parseDeployArgs(['--dry-run', 'false', ...REQUIRED]).dryRun).toBe(false);
    expect(parseDeployArgs(['--name', 'simple', '--model-repository', '/models', '--image', IMAGE]).name).toBe('simple');
  });

  it('a mistyped flag is one line naming the closest flag, exit 2', async () => {
    expect(await captured([...REQUIRED, '--dryrun'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--dryrun'; did you mean --dry-run? (deploy --help lists every option)",
    });
    expect(await captured(['--name=x'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: missing --model-repository, --image (deploy --help lists every option)',
    });
  });

  it('-h groups the flags by topic with their value types; --version', async () => {
    const help = await captured(['-h']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: deploy --name=<name> /);
    expect(help.stdout).toMatch(/\nRequired:\n {6}--model-repository <string>\s+Model repository/);
    expect(help.stdout).toMatch(/\nDeployment:\n(.*\n)* {6}--num-gpus <integer> +GPUs per pod \(0 runs on CPU nodes\)\. Default 1\./);
    expect(help.stdout).toMatch(/\nRunning it by hand:\n(.*\n)* {6}--dry-run +Print the manifests as YAML/);
    const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await captured(['--version'])).toEqual({ code: 0, stdout: `deploy ${version}`, stderr: '' });
  });

  it('--dry-run prints YAML documents that are valid Kubernetes objects', async () => {
    const result = await captured([...REQUIRED, '--max-replicas=3', '--dry-run']);
    expect(result.code).toBe(0);
    const documents = parseAllDocuments(result.stdout);
    expect(documents.flatMap((doc) => doc.errors)).toEqual([]);
    const objects = documents.map((doc) => doc.toJS() as Manifest);
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['ServiceAccount', 'Deployment', 'Service', 'HorizontalPodAutoscaler']));
    for (const object of objects) expect(object).toMatchObject({ apiVersion: expect.any(String), metadata: { name: expect.any(String) } });
    expect(schemaErrors(objects)).toEqual([]);
  });
});

describe('without a cluster', () => {
  let home: string;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-home-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('says in one line what is missing', () => {
    expect(missingClusterCredentials('', {}, home)).toBe(
      `no kubeconfig: not in a pod, no --kubeconfig, KUBECONFIG unset and ${path.join(home, '.kube', 'config')} missing ` +
        '(run `gcloud container clusters get-credentials <cluster>`, or --dry-run to print the manifests)',
    );
    expect(missingClusterCredentials('', { KUBECONFIG: '/nowhere/a' }, home)).toBe('KUBECONFIG names no file that exists (/nowhere/a)');
    expect(missingClusterCredentials('/nowhere/k', {}, home)).toBe('--kubeconfig /nowhere/k does not exist');
    expect(missingClusterCredentials('', { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home)).toBeUndefined();
    fs.mkdirSync(path.join(home, '.kube'));
    fs.writeFileSync(path.join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\n');
    expect(missingClusterCredentials('', {}, home)).toBeUndefined();
    fs.rmSync(path.join(home, '.kube'), { recursive: true });
  });

  it('the built command exits 1 with that line', async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
    const result = await runCommand(ENTRY, REQUIRED, { env });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${missingClusterCredentials('', {}, home)}\n`,
    });
  });
});
