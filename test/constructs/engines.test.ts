/**
 * The two engines: the InferenceServer construct and both prototypes synthesized with each, every container flag
 * checked against the list that engine accepts (the builtin server's flag table and its real parser; Triton's list
 * from its command_line_parser.cc), and the props an engine cannot honour refused with the prop and engine named.
 */
import { Testing } from 'cdk8s';
import * as fc from 'fast-check';
import {
  argumentError, InferenceEngine, InferenceServer, InferenceServerProps, TRITON_FLAGS, TRITON_IMAGE,
} from '../../constructs';
import { GkeStack } from '../../prototypes/gke-stack';
import { buildApps } from '../../prototypes/main';
import { NvidiaInferenceServerChart } from '../../prototypes/nvidia-inference-server';
import { parseCli } from '../../server/cli';
import { FLAG_SPECS } from '../../server/cli-flags';
import { CLI_FLAGS, DEFAULT_PORTS, PROBE_PATHS, WRITABLE_PATHS } from '../../server/contract';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const BUILTIN_IMAGE = 'us-docker.pkg.dev/my-project/repo/inference-server:0.1.0';

/** Props that turn on every generated flag. */
const everyFlag: Omit<InferenceServerProps, 'engine' | 'image'> = {
  name: 'isrv',
  modelRepositories: ['gs://my-models/model_repository', '/models'],
  modelControlMode: 'poll',
  repositoryPollSecs: 30,
  exitTimeoutSecs: 20,
  logVerbose: 1,
  responseCacheByteSize: 1 << 20,
  allowClientSharedMemory: true,
};

const imageOf = (engine: InferenceEngine) => (engine === 'builtin' ? BUILTIN_IMAGE : undefined);

function server(engine: InferenceEngine, props: Partial<InferenceServerProps> = {}): Manifest[] {
  const c = chart();
  new InferenceServer(c, 'Server', { ...everyFlag, engine, image: imageOf(engine), ...props });
  return synth(c);
}

function errorsOf(props: Partial<InferenceServerProps>): string[] {
  const c = chart();
  new InferenceServer(c, 'Server', { ...everyFlag, ...props });
  return validationErrors(c);
}

const container = (m: Manifest[]) => find(m, 'Deployment').spec.template.spec.containers[0];

const flagOf = (arg: string) => (arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg);

/** The argument is a flag Triton declares, with a value of the kind it parses. */
function tritonArgumentProblem(arg: string): string | undefined {
  const flag = flagOf(arg);
  const kind = TRITON_FLAGS[flag];
  if (kind === undefined) return `${flag} is not a tritonserver flag`;
  const value = arg.slice(flag.length + 1);
  if (kind === 'none') return arg.includes('=') ? `${flag} takes no value` : undefined;
  const ok = {
    bool: /^(true|false|on|off|1|0)$/i.test(value),
    int: /^-?\d+$/.test(value),
    float: value !== '' && Number.isFinite(Number(value)),
    string: arg.includes('='),
  }[kind];
  return ok ? undefined : `${arg}: not a ${kind}`;
}

/** The argument is a flag the builtin server supports (not one it ignores or refuses), accepted by its parser. */
function builtinArgumentProblem(arg: string): string | undefined {
  const spec = FLAG_SPECS.find((s) => s.flag === flagOf(arg));
  if (!spec) return `${flagOf(arg)} is not in the server's flag table`;
  if (spec.status !== 'supported' && spec.status !== 'partial') return `${spec.flag} is ${spec.status} by the builtin server`;
  if (spec.refusedWhen?.(arg.slice(spec.flag.length + 1))) return `${arg} is a refused value`;
  return undefined;
}

/** Every flag of the container against its engine's list; for builtin, the server's parser takes them without warnings. */
function checkFlags(engine: InferenceEngine, c: { command?: string[]; args: string[] }): void {
  const problem = engine === 'triton' ? tritonArgumentProblem : builtinArgumentProblem;
  expect(c.args.map(problem).filter((p) => p !== undefined)).toEqual([]);
  if (engine === 'builtin') {
    expect(c.command).toBeUndefined();
    expect(parseCli(c.args).warnings).toEqual([]);
  } else {
    expect(c.command).toEqual(['tritonserver']);
  }
}

describe.each<InferenceEngine>(['builtin', 'triton'])('engine %s', (engine) => {
  test('InferenceServer: every flag is one the engine accepts, and the manifests pass their schemas', () => {
    const m = server(engine, { adminKey: {} });
    checkFlags(engine, container(m));
    expect(container(m).args).toEqual(expect.arrayContaining([
      '--model-repository=gs://my-models/model_repository', '--model-control-mode=poll', '--repository-poll-secs=30',
      '--cache-config=local,size=1048576', '--allow-client-shm=true', expect.stringMatching(/^--http-restricted-api=/),
    ]));
    expect(schemaErrors(m)).toEqual([]);
  });

  test('the same ports, probes, metrics scraping and writable paths', () => {
    const m = server(engine);
    const c = container(m);
    expect(c.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([DEFAULT_PORTS.http, DEFAULT_PORTS.grpc, DEFAULT_PORTS.metrics]);
    expect(c.readinessProbe.httpGet.path).toBe(PROBE_PATHS.ready);
    expect(c.livenessProbe.httpGet.path).toBe(PROBE_PATHS.live);
    expect(c.startupProbe.httpGet.path).toBe(PROBE_PATHS.live);
    expect(find(m, 'Deployment').spec.template.metadata.annotations['prometheus.io/port']).toBe(String(DEFAULT_PORTS.metrics));
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.volumeMounts.map((v: { mountPath: string }) => v.mountPath)).toEqual([WRITABLE_PATHS.tmp, WRITABLE_PATHS.shm, WRITABLE_PATHS.modelCache]);
  });

  test('nvidia-inference-server prototype: every flag is one the engine accepts, pulled with the ngc secret', () => {
    const proto = new NvidiaInferenceServerChart(Testing.app(), 'proto', {
      name: 'isrv', engine, image: imageOf(engine), modelRepositoryPath: 'gs://my-models/model_repository',
    });
    const m = synth(proto);
    checkFlags(engine, container(m));
    expect(find(m, 'Deployment').spec.template.spec.imagePullSecrets).toEqual([{ name: 'ngc' }]);
    expect(schemaErrors(m)).toEqual([]);
  });

  test('gke-stack prototype: every flag is one the engine accepts, autoscaled the same way', () => {
    const s = new GkeStack({ infra: Testing.app(), workload: Testing.app() }, 'stack', {
      name: 'isrv', engine, image: imageOf(engine), projectId: 'my-project', location: 'us-central1-a', clusterName: 'inference',
      bucketName: 'my-models',
    });
    const workload = synth(s.workload);
    checkFlags(engine, container(workload));
    expect(find(workload, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name).toBe('isrv-v1');
    expect(schemaErrors(workload)).toEqual([]);
  });
});

// That TRITON_FLAGS is the release the server's flag table describes is checked in test/server/cli-flags.test.ts.
describe('the flag lists', () => {
  test("the flags the constructs may give the builtin engine are the ones its table supports", () => {
    const supported = FLAG_SPECS.filter((s) => s.status === 'supported' || s.status === 'partial').map((s) => s.flag);
    expect(Object.values(CLI_FLAGS).filter((flag) => !supported.includes(flag))).toEqual([]);
  });
});

describe('triton engine', () => {
  test("runs tritonserver from NVIDIA's image; Triton itself reads gs:// into the model cache volume", () => {
    const m = server('triton', { adminKey: false });
    const c = container(m);
    expect(c.image).toBe(TRITON_IMAGE);
    expect(c.args).not.toContainEqual(expect.stringMatching(/^--model-cache-dir/));
    expect(c.env).toEqual([
      { name: 'TRITON_GCS_MOUNT_DIRECTORY', value: WRITABLE_PATHS.modelCache },
      { name: 'HOME', value: WRITABLE_PATHS.tmp },
    ]);
    // Workload Identity: no key file, no sidecar, no token mounted.
    expect(find(m, 'Deployment').spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(find(m, 'Deployment').spec.template.spec.containers).toHaveLength(1);
  });

  test('a local repository needs no mount directory; an image given is used', () => {
    const c = container(server('triton', { adminKey: false, modelRepositories: ['/models'], image: 'mirror.example/tritonserver:26.07-py3' }));
    expect(c.image).toBe('mirror.example/tritonserver:26.07-py3');
    expect(c.env).toEqual([{ name: 'HOME', value: WRITABLE_PATHS.tmp }]);
  });

  test('props Triton cannot honour fail validation naming the prop and the engine', () => {
    expect(errorsOf({ engine: 'triton', extraArgs: ['--model-cache-dir=/cache', '--grpc-max-message-bytes=1024'] })).toEqual([
      expect.stringMatching(/^extraArgs "--model-cache-dir=\/cache" cannot go to engine "triton": --model-cache-dir is not a tritonserver flag/),
      expect.stringMatching(/^extraArgs "--grpc-max-message-bytes=1024" cannot go to engine "triton"/),
    ]);
    expect(errorsOf({ engine: 'triton', extraArgs: ['--strict-readiness=maybe', '--disable-auto-complete-config=true', '--http-port=80x'] })).toEqual([
      expect.stringContaining('--strict-readiness=maybe: Triton takes true/false'),
      expect.stringContaining('--disable-auto-complete-config takes no value'),
      expect.stringContaining('--http-port=80x: Triton takes a whole number'),
    ]);
    expect(errorsOf({ engine: 'triton', env: { TRITON_GCS_MOUNT_DIRECTORY: '/x' } })).toEqual([
      expect.stringMatching(/^env must not set TRITON_GCS_MOUNT_DIRECTORY with engine "triton"/),
    ]);
    expect(errorsOf({ engine: 'triton', extraArgs: ['--pinned-memory-pool-byte-size=0', '--disable-auto-complete-config'] })).toEqual([]);
    expect(errorsOf({ engine: 'triton', acceleratorType: 'nvidia-tesla-v100' })).toEqual([
      expect.stringMatching(/^acceleratorType "nvidia-tesla-v100" cannot run engine "triton": Triton 26.07-py3 needs CUDA compute capability 7.5/),
    ]);
    expect(errorsOf({ engine: 'triton', acceleratorType: 'nvidia-tesla-t4' })).toEqual([]);
    expect(errorsOf({ engine: 'triton', image: 'nvcr.io/nvidia/tritonserver:25.12-py3' })).toEqual([
      expect.stringMatching(/^image "nvcr.io\/nvidia\/tritonserver:25.12-py3" is too old for engine "triton": the construct passes --allow-client-shm/),
    ]);
    expect(errorsOf({ engine: 'triton', image: 'nvcr.io/nvidia/tritonserver:26.04-py3' })).toEqual([]);
  });

  test('props the builtin engine cannot honour fail validation naming the prop and the engine', () => {
    expect(errorsOf({ engine: 'builtin', image: BUILTIN_IMAGE, extraArgs: ['--rate-limit=execution_count', '--no-such-flag=1', '--max-instances-per-model=8'] })).toEqual([
      expect.stringMatching(/^extraArgs "--rate-limit=execution_count" cannot go to engine "builtin": --rate-limit has no effect on the builtin engine/),
      expect.stringMatching(/^extraArgs "--no-such-flag=1" cannot go to engine "builtin": --no-such-flag is not a flag of the builtin engine/),
    ]);
    expect(errorsOf({ image: undefined })).toEqual([expect.stringMatching(/^image is required: no registry publishes the server image/)]);
    expect(errorsOf({ engine: 'tensorrt' as InferenceEngine, image: BUILTIN_IMAGE })).toEqual(['engine "tensorrt" must be one of builtin, triton']);
  });
});

describe('engine parameter', () => {
  test('INFERENCE_ENGINE=triton needs no image; builtin still asks for one', () => {
    const env = { INFERENCE_PARAMS_FILE: '/dev/null', INFERENCE_NAME: 'isrv', INFERENCE_MODEL_REPOSITORY_PATH: '/models' };
    const [app] = buildApps({ ...env, INFERENCE_ENGINE: 'triton' }, 'unused', () => undefined);
    const deployment = find(Testing.synth(app.charts[0]) as Manifest[], 'Deployment');
    expect(deployment.spec.template.spec.containers[0].image).toBe(TRITON_IMAGE);
    expect(() => buildApps(env, 'unused', () => undefined)).toThrow(/missing required parameter "image"/);
  });

  test('gke-stack with engine triton pulls with the existing ngc secret unless told otherwise', () => {
    const props = { name: 'isrv', projectId: 'my-project', location: 'us-central1-a', clusterName: 'c', bucketName: 'my-models' };
    const pullSecrets = (extra: object) => {
      const s = new GkeStack({ infra: Testing.app(), workload: Testing.app() }, 'stack', { ...props, ...extra });
      return find(synth(s.workload), 'Deployment').spec.template.spec.imagePullSecrets;
    };
    expect(pullSecrets({ engine: 'triton' })).toEqual([{ name: 'ngc' }]);
    expect(pullSecrets({ engine: 'triton', ngcSecret: 'none' })).toBeUndefined();
    expect(pullSecrets({ image: BUILTIN_IMAGE })).toBeUndefined();
  });
});

describe('argument checks on hostile input', () => {
  const engines = fc.constantFrom<InferenceEngine>('builtin', 'triton');

  test('any argument gets an answer, never an exception', () => {
    fc.assert(fc.property(engines, fc.string(), (engine, arg) => {
      const answer = argumentError(engine, arg);
      expect(answer === undefined || typeof answer === 'string').toBe(true);
    }));
  });

  test('every Triton flag with a value of its kind passes; with a value of the wrong kind it does not', () => {
    const sample = { bool: fc.constantFrom('true', 'OFF', '1'), int: fc.integer().map(String), float: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String), string: fc.string() };
    for (const [flag, kind] of Object.entries(TRITON_FLAGS)) {
      if (kind === 'none') {
        expect(argumentError('triton', flag)).toBeUndefined();
        expect(argumentError('triton', `${flag}=x`)).toBe(`${flag} takes no value`);
        continue;
      }
      fc.assert(fc.property(sample[kind], (value) => argumentError('triton', `${flag}=${value}`) === undefined), { numRuns: 20 });
      if (kind !== 'string') for (const bad of [`not-a-${kind}`, '']) expect(argumentError('triton', `${flag}=${bad}`)).toMatch(/^--.*: Triton takes/);
    }
  });
});
