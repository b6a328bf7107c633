/** The synthesis commands of docs/deploy.md (with the values of its first step), engines.md and gpu-sharing.md; the CRD import check. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docEnvironment, runDocBlock } from './doc-blocks';

// docs/deploy.md's first step sets these (PROJECT=my-project REGION=us-central1 ...).
const STEP_ONE = { PROJECT: 'my-project', REGION: 'us-central1', ZONE: 'us-central1-a', CLUSTER: 'inference', BUCKET: 'my-project-models', REPO: 'inference' };
const IMAGE = `${STEP_ONE.REGION}-docker.pkg.dev/${STEP_ONE.PROJECT}/${STEP_ONE.REPO}/inference-server:0.1.0`;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
}

test.each([
  ['deploy-synth-gke-stack', ['infra', 'workload']],
  ['deploy-synth-prototype', ['workload']],
  ['engines-synth-triton', ['workload']],
  ['gpu-sharing-synth', ['infra', 'workload']],
])('%s writes its manifests (into a scratch folder: CDK8S_OUTDIR)', async (id, folders) => {
  const environment = docEnvironment();
  const outdir = path.join(environment.scratch, 'manifests');
  try {
    const run = await runDocBlock(id, { ...environment, env: { ...STEP_ONE, IMAGE, CDK8S_OUTDIR: outdir } }, 240_000);
    expect(run).toMatchObject({ code: 0 });
    expect(fs.readdirSync(outdir).sort()).toEqual(folders);
    const workload = filesUnder(path.join(outdir, 'workload')).map((f) => fs.readFileSync(path.join(outdir, 'workload', f), 'utf8')).join('\n');
    // The Triton engine runs NVIDIA's image; ours runs the one built in docs/deploy.md's step 2.
    expect(workload).toContain(id.startsWith('deploy-') ? `image: ${IMAGE}` : 'image: nvcr.io/nvidia/tritonserver:');
  } finally {
    fs.rmSync(environment.scratch, { recursive: true, force: true });
  }
}, 240_000);

test('the committed Config Connector classes are what `cdk8s import` generates from the CRDs', async () => {
  const environment = docEnvironment();
  try {
    const run = await runDocBlock('cdk8s-import', environment, 240_000);
    expect(run.stdout + run.stderr).not.toMatch(/^(Only in|diff )/m);
    expect(run).toMatchObject({ code: 0 });
  } finally {
    fs.rmSync(environment.scratch, { recursive: true, force: true });
  }
}, 240_000);
