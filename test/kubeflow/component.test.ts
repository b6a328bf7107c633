/** The Kubeflow component files (v1 component.yaml, v2 IR) parse and agree with the deploy entry point's flags. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseDeployArgs } from '../../kubeflow/deploy';
import { DEPLOY_FLAGS } from '../../kubeflow/flags';

const KUBEFLOW = path.resolve(__dirname, '../../kubeflow');
const read = (file: string) => parse(fs.readFileSync(path.join(KUBEFLOW, file), 'utf8'));
const inputs = DEPLOY_FLAGS.filter((f) => !f.internal && !f.output);
const outputs = DEPLOY_FLAGS.filter((f) => f.output);
const ENTRY = ['node', '/app/dist/kubeflow/deploy.js'];
const SAMPLE: Record<string, string> = { model_repository_uri: 'gs://bucket/models', name: 'simple', image: 'us-docker.pkg.dev/p/r/inference-server:0.1.0' };
/** The step runs in the image the user gives: the v2 placeholder of the `image` input (kubeflow/pipelines#11404). */
const STEP_IMAGE = "{{$.inputs.parameters['image']}}";

/** Pairs [flag, placeholder] of a container's args. */
function pairs(args: unknown[]): [string, unknown][] {
  expect(args.length % 2).toBe(0);
  const result: [string, unknown][] = [];
  for (let i = 0; i < args.length; i += 2) result.push([args[i] as string, args[i + 1]]);
  return result;
}

describe('component.yaml (KFP v1)', () => {
  const spec = read('component.yaml');

  it('declares one input per entry-point flag, with the same defaults', () => {
    expect(spec.name).toBe('Deploy inference server');
    expect(spec.inputs.map((i: any) => i.name)).toEqual(inputs.map((f) => f.kfpName));
    for (const flag of inputs) {
      const input = spec.inputs.find((i: any) => i.name === flag.kfpName);
      expect(input.type).toBe(flag.type === 'integer' ? 'Integer' : 'String');
      expect(input.default).toBe(flag.default);
      expect(input.optional ?? false).toBe(flag.default !== undefined);
    }
    expect(spec.outputs.map((o: any) => o.name)).toEqual(['endpoint', 'status']);
  });

  it('runs the entry point with every input and output path behind its flag', () => {
    const container = spec.implementation.container;
    expect(container.image).toBe(STEP_IMAGE);
    expect(spec.inputs.find((i: any) => i.name === 'image').optional).toBeUndefined();
    expect(container.command).toEqual(ENTRY);
    expect(pairs(container.args)).toEqual([
      ...inputs.map((f) => [f.flag, { inputValue: f.kfpName }]),
      ...outputs.map((f) => [f.flag, { outputPath: f.kfpName }]),
    ]);
  });

  it('renders to a command line the entry point accepts', () => {
    const args = spec.implementation.container.args.map((arg: any) => {
      if (typeof arg === 'string') return arg;
      if (arg.inputValue) return SAMPLE[arg.inputValue] ?? spec.inputs.find((i: any) => i.name === arg.inputValue).default;
      return `/tmp/outputs/${arg.outputPath}/data`;
    });
    const options = parseDeployArgs(args);
    expect(options).toMatchObject({ name: 'simple', modelRepository: 'gs://bucket/models', image: SAMPLE.image, accelerator: '', numGpus: 1, outputEndpointPath: '/tmp/outputs/endpoint/data' });
  });
});

describe('component-v2.yaml (KFP v2 IR)', () => {
  const spec = read('component-v2.yaml');
  const component = spec.components['comp-deploy-inference-server'];
  const executor = spec.deploymentSpec.executors[component.executorLabel];

  it('is a pipeline spec wrapping one component', () => {
    expect(spec.schemaVersion).toBe('2.1.0');
    expect(spec.root.dag.tasks['deploy-inference-server'].componentRef.name).toBe('comp-deploy-inference-server');
    expect(spec.root.inputDefinitions).toEqual(component.inputDefinitions);
    expect(spec.root.outputDefinitions).toEqual(component.outputDefinitions);
  });

  it('declares the same inputs, types and defaults as the flags', () => {
    const parameters = component.inputDefinitions.parameters;
    expect(Object.keys(parameters)).toEqual(inputs.map((f) => f.kfpName));
    for (const flag of inputs) {
      const parameter = parameters[flag.kfpName];
      expect(parameter.parameterType).toBe(flag.type === 'integer' ? 'NUMBER_INTEGER' : 'STRING');
      const expected = flag.default === undefined ? undefined : flag.type === 'integer' ? Number(flag.default) : flag.default;
      expect(parameter.defaultValue).toEqual(expected);
      expect(parameter.isOptional ?? false).toBe(flag.default !== undefined);
    }
    expect(Object.keys(component.outputDefinitions.parameters)).toEqual(['endpoint', 'status']);
    for (const name of Object.keys(parameters)) {
      expect(spec.root.dag.tasks['deploy-inference-server'].inputs.parameters[name]).toEqual({ componentInputParameter: name });
    }
  });

  it('passes every input and output file behind its flag', () => {
    expect(executor.container.image).toBe(STEP_IMAGE);
    expect(component.inputDefinitions.parameters.image.isOptional).toBeUndefined();
    expect(executor.container.command).toEqual(ENTRY);
    expect(pairs(executor.container.args)).toEqual([
      ...inputs.map((f) => [f.flag, `{{$.inputs.parameters['${f.kfpName}']}}`]),
      ...outputs.map((f) => [f.flag, `{{$.outputs.parameters['${f.kfpName}'].output_file}}`]),
    ]);
  });

  it('renders to a command line the entry point accepts', () => {
    const parameters = component.inputDefinitions.parameters;
    const args = executor.container.args.map((arg: string) =>
      arg
        .replace(/\{\{\$\.inputs\.parameters\['([a-z_]+)'\]\}\}/, (_m, name: string) => SAMPLE[name] ?? String(parameters[name].defaultValue))
        .replace(/\{\{\$\.outputs\.parameters\['([a-z_]+)'\]\.output_file\}\}/, (_m, name: string) => `/gcs/outputs/${name}`),
    );
    expect(args.join(' ')).not.toContain('{{');
    expect(parseDeployArgs(args)).toMatchObject({ timeoutSeconds: 900, serviceType: 'LoadBalancer', outputStatusPath: '/gcs/outputs/status' });
  });
});

describe('sample pipeline', () => {
  const source = fs.readFileSync(path.join(KUBEFLOW, 'examples', 'deploy_pipeline.py'), 'utf8');
  it('loads the component file and passes only inputs it declares', () => {
    expect(source).toContain('load_component_from_file(str(HERE.parent / "component-v2.yaml"))');
    const call = /deploy_inference_server\(([\s\S]*?)\n    \)/.exec(source)?.[1] ?? '';
    const names = [...call.matchAll(/^\s*([a-z_]+)=/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(inputs.map((f) => f.kfpName)).toContain(name);
    expect(names).toEqual(expect.arrayContaining(['model_repository_uri', 'name']));
  });
});

describe('rbac.yaml', () => {
  it('grants get, create and patch on every kind the step applies (server-side apply of a new object needs create)', () => {
    const docs = fs.readFileSync(path.join(KUBEFLOW, 'rbac.yaml'), 'utf8').split(/^---$/m).map((doc) => parse(doc));
    const role = docs.find((doc) => doc.kind === 'Role');
    const verbs = (resource: string) => new Set(role.rules
      .filter((rule: any) => rule.resources.some((r: string) => `${rule.apiGroups[0]}/${r}` === resource))
      .flatMap((rule: any) => rule.verbs));
    for (const resource of ['/serviceaccounts', '/services', 'apps/deployments', 'autoscaling/horizontalpodautoscalers', 'policy/poddisruptionbudgets', 'monitoring.googleapis.com/podmonitorings']) {
      expect([...verbs(resource)]).toEqual(expect.arrayContaining(['get', 'create', 'patch']));
    }
  });
});
