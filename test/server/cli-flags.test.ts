/**
 * The flag table (server/cli-flags.ts) against Triton's command line: every `tritonserver` flag has an answer —
 * supported, accepted with a warning, or refused with a reason — with Triton's texts; docs/triton-flags.md is the
 * table, regenerated; and the real command starts with the flags Triton manifests pass.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCli, usage } from '../../server/cli';
import { UsageError } from '../../server/command-line';
import { FLAG_SPECS, FlagSpec } from '../../server/cli-flags';
import { TRITON_FLAGS_DOC, tritonFlagsMarkdown } from '../../scripts/triton-flags-doc';
import { InferenceServer, TRITON_FLAGS as TRITON_RELEASE_FLAGS } from '../../constructs';
import { chart } from '../constructs/helpers';
import { MAIN } from './cli-process';

/** Triton's long options, from SetupOptions() in src/command_line_parser.cc (the list the constructs check Triton's arguments against). */
const TRITON_FLAGS = Object.keys(TRITON_RELEASE_FLAGS);

const OWN_FLAGS = ['--version', '--host', '--http-fast-infer-path', '--max-instances-per-model', '--model-cache-dir', '--grpc-max-message-bytes'];

const base = ['--model-repository=/models'];

/** A value Triton would accept for the flag. */
function validValue(spec: FlagSpec): string {
  const byForm: Record<string, string> = {
    '<integer>:<integer>': '0:67108864',
    '<integer>-<integer>': '8000-8010',
    '<device_id>:<fraction>': '0:0.5',
    '<string>:<integer>:<integer>': 'R1:4:0',
    '<string>,<string>=<string>': 'gpu0,numa-node=0',
  };
  if (spec.flag === '--rate-limit') return 'execution_count';
  if (spec.form && byForm[spec.form]) return byForm[spec.form];
  return { int: '4', bool: 'false', float: '7.5', string: 'x', none: '' }[spec.argument];
}

const parse = (...args: string[]) => parseCli([...base, ...args]);
const thrown = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    // CliError for the server's own checks; its base UsageError for the shared parser's (unknown flags).
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('the flag table', () => {
  it("covers exactly Triton's flags, in Triton's groups, plus this server's own", () => {
    expect(TRITON_FLAGS).toHaveLength(91);
    const tritonSpecs = FLAG_SPECS.filter((spec) => spec.group !== 'This server').map((spec) => spec.flag);
    expect([...tritonSpecs].sort()).toEqual([...TRITON_FLAGS].sort());
    expect(FLAG_SPECS.filter((spec) => spec.group === 'This server').map((spec) => spec.flag)).toEqual(OWN_FLAGS);
    expect(new Set(FLAG_SPECS.map((spec) => spec.flag)).size).toBe(FLAG_SPECS.length);
    // Every flag is documented with a reason for what it does here.
    for (const spec of FLAG_SPECS) expect([spec.flag, spec.note.length > 10]).toEqual([spec.flag, true]);
    for (const spec of FLAG_SPECS.filter((s) => s.status === 'partial')) expect([spec.flag, spec.refusedValues]).toEqual([spec.flag, expect.any(String)]);
  });

  it('docs/triton-flags.md is the table (regenerate: npx ts-node scripts/triton-flags-doc.ts)', () => {
    expect(fs.readFileSync(TRITON_FLAGS_DOC, 'utf8')).toBe(tritonFlagsMarkdown());
  });

  it('--help lists every flag by group', () => {
    const text = usage();
    for (const spec of FLAG_SPECS) expect(text).toContain(`${spec.short ? `-${spec.short}, ` : '    '}${spec.flag}`);
    expect(text).toContain('\nMemory/Device Management:\n');
    expect(text.replace(/\s+/g, ' ')).toContain('Accepted, no effect: tensors are copied to the GPU by ONNX Runtime');
  });
});

describe('ignored flags: accepted with one warning line each, values checked as Triton checks them', () => {
  const ignored = FLAG_SPECS.filter((spec) => spec.status === 'ignored');

  it.each(ignored.map((spec) => [spec.flag, spec]))('%s', (_flag, spec) => {
    const cli = parse(`${spec.flag}=${validValue(spec)}`);
    expect(cli.warnings).toEqual([`Warning: '${spec.flag}' has no effect on this server: ${spec.note}.`]);
  });

  it.each([
    ['--pinned-memory-pool-byte-size=lots', 'Bad option: "--pinned-memory-pool-byte-size".\nInvalid option value. Got lots'],
    ['--enable-peer-access=maybe', 'Bad option: "--enable-peer-access".\ninvalid value for bool option: maybe'],
    ['--min-supported-compute-capability=x', 'Invalid option value. Got x'],
    ['--cuda-memory-pool-byte-size=64', 'Cannot parse pair option due to incorrect number of inputs.--<pair option> argument requires format <first>:<second>. Found: 64'],
    ['--grpc-infer-thread-count=1', 'invalid argument for --grpc_infer_thread_count. Must be in the range 2 to 128.'],
    ['--grpc-max-response-pool-size=0', 'Error: --grpc-max-response-pool-size must be greater than 0.'],
    ['--rate-limit=fast', 'Bad option: "--rate-limit".\ninvalid argument for --rate-limit'],
    ['--rate-limit-resource=R1', "--rate-limit-resource option format is '<resource_name>:<count>:<device>' or '<resource_name>:<count>'. Got R1"],
    ['--host-policy=numa-node=0', "--host-policy option format is '<policy name>,<setting>=<value>'. Got numa-node=0"],
  ])('%s is refused with Triton\'s message', (arg, message) => {
    expect(thrown(() => parse(arg))).toContain(message);
  });
});

describe('refused values', () => {
  it.each(FLAG_SPECS.filter((spec) => spec.refusedWhen).map((spec) => [spec.flag, spec]))('%s=true is refused with the reason; false is accepted', (_flag, spec) => {
    expect(thrown(() => parse(`${spec.flag}=true`))).toBe(`Bad option: "${spec.flag}".\n${spec.flag}=true is not supported by this server: ${spec.note}`);
    expect(parse(`${spec.flag}=false`).warnings).toEqual([]);
  });

  it('other caches and OpenTelemetry tracing are refused by their own readers', () => {
    expect(thrown(() => parse('--cache-config=redis,host=localhost'))).toMatch(/redis/);
    expect(thrown(() => parse('--trace-config=mode=opentelemetry'))).toMatch(/opentelemetry/);
  });

  it('every flag of the table is either handled or refused: none is silently dropped', () => {
    for (const spec of FLAG_SPECS.filter((s) => s.status === 'refused')) expect(thrown(() => parse(`${spec.flag}=x`))).toContain('not supported by this server');
  });
});

describe('supported flags new to this server', () => {
  it('--id names the server; the default is Triton\'s', () => {
    expect(parse().serverId).toBe('triton');
    expect(parse('--id=edge-7').serverId).toBe('edge-7');
  });

  it('logging: --log-info/--log-warning/--log-error, --log-file, --log-verbose=true', () => {
    expect(parse()).toMatchObject({ logInfo: true, logWarning: true, logError: true, logVerbose: 0 });
    expect(parse('--log-info=false', '--log-warning=off', '--log-error=0', '--log-file=/tmp/x.log', '--log-verbose=true')).toMatchObject({
      logInfo: false,
      logWarning: false,
      logError: false,
      logFile: '/tmp/x.log',
      logVerbose: 1,
    });
    expect(thrown(() => parse('--log-format=xml'))).toBe('Bad option: "--log-format".\ninvalid argument for --log-format');
    expect(parse().logFormat).toBe('auto');
    for (const format of ['default', 'ISO8601', 'json', 'pretty'] as const) expect(parse(`--log-format=${format}`).logFormat).toBe(format);
    // Bare booleans mean true; a following true/false word is the value, as Triton reads `--flag value`.
    expect(parse('--allow-grpc', 'false', '--strict-readiness', '--exit-on-error', '--log-info', 'off')).toMatchObject({
      allowGrpc: false,
      strictReadiness: true,
      exitOnError: true,
      logInfo: false,
    });
  });

  it('addresses: metrics follows --http-address, --host sets all three', () => {
    expect(parse()).toMatchObject({ httpAddress: '0.0.0.0', grpcAddress: '0.0.0.0', metricsAddress: '0.0.0.0' });
    expect(parse('--http-address=127.0.0.2', '--grpc-address=127.0.0.3')).toMatchObject({
      httpAddress: '127.0.0.2',
      grpcAddress: '127.0.0.3',
      metricsAddress: '127.0.0.2',
    });
    expect(parse('--host=127.0.0.1', '--metrics-address=127.0.0.4')).toMatchObject({ httpAddress: '127.0.0.1', grpcAddress: '127.0.0.1', metricsAddress: '127.0.0.4' });
  });

  it('TLS flags: --grpc-use-ssl needs the certificate and key; mutual needs the root and turns TLS on', () => {
    expect(parse().grpcTls).toBeUndefined();
    expect(parse('--grpc-use-ssl=1', '--grpc-server-cert=c.pem', '--grpc-server-key=k.pem').grpcTls).toEqual({ serverCert: 'c.pem', serverKey: 'k.pem', mutual: false });
    expect(parse('--grpc-use-ssl-mutual=true', '--grpc-server-cert', 'c.pem', '--grpc-server-key', 'k.pem', '--grpc-root-cert', 'ca.pem').grpcTls).toEqual({
      serverCert: 'c.pem',
      serverKey: 'k.pem',
      rootCert: 'ca.pem',
      mutual: true,
    });
    expect(thrown(() => parse('--grpc-use-ssl=true', '--grpc-server-cert=c.pem'))).toBe('--grpc-use-ssl requires --grpc-server-cert and --grpc-server-key');
    expect(thrown(() => parse('--grpc-use-ssl-mutual=true', '--grpc-server-cert=c', '--grpc-server-key=k'))).toMatch(/requires --grpc-root-cert/);
  });

  it("Triton's texts for its own checks and deprecations", () => {
    expect(thrown(() => parse('--model-control-mode=manual'))).toBe('Bad option: "--model-control-mode".\ninvalid argument for --model-control-mode');
    expect(thrown(() => parse('--load-model=simple'))).toBe("Error: Use of '--load-model' requires setting '--model-control-mode=explicit' as well.");
    expect(thrown(() => parse('--http-max-input-size=0'))).toBe('Bad option: "--http-max-input-size".\nError: --http-max-input-size must be greater than 0.');
    expect(thrown(() => parse('--model-config-name='))).toBe('Bad option: "--model-config-name".\nError: empty argument for --model-config-name');
    expect(parse('--strict-model-config=false', '--disable-auto-complete-config').warnings).toEqual([
      "Warning: '--strict-model-config' has been deprecated! Please use '--disable-auto-complete-config' instead.",
      "Warning: Overriding deprecated '--strict-model-config' from False to True in favor of '--disable-auto-complete-config'!",
    ]);
    expect(parse('--trace-rate=5').warnings).toEqual([
      "Warning: '--trace-rate' has been deprecated and will be removed in future releases. Please use '--trace-config rate=<rate value> instead.",
    ]);
    expect(thrown(() => parse('--no-such-flag=1'))).toBe("unknown option '--no-such-flag' (inference-server --help lists every option)");
    expect(thrown(() => parse('--http_port=1'))).toBe("unknown option '--http_port'; did you mean --http-port? (inference-server --help lists every option)");
  });
});

describe('the deployment', () => {
  it("the InferenceServer construct's arguments are flags this command accepts (admin key, client shm off)", () => {
    const server = new InferenceServer(chart(), 'Server', {
      name: 'isrv',
      image: 'us-docker.pkg.dev/p/r/inference-server:0.1.0',
      modelRepositories: ['gs://models-bucket/repo'],
      responseCacheByteSize: 1024,
      logVerbose: 1,
    });
    const cli = parseCli(server.args);
    expect(cli.warnings).toEqual([]);
    expect(cli.allowClientSharedMemory).toBe(false);
    // The key arrives through the kubelet's $(VAR) expansion; the groups are restricted on both protocols.
    expect(cli.httpRestrictedApis.get('model-repository')).toEqual({ header: 'admin-key', value: '$(ADMIN_API_KEY)' });
    expect(cli.grpcRestrictedProtocols.get('model-repository')).toEqual({ header: 'triton-grpc-protocol-admin-key', value: '$(ADMIN_API_KEY)' });
    expect(cli.httpRestrictedApis.has('health')).toBe(false); // the kubelet's probes send no header
  });
});

describe('the command with the flags of a Triton manifest', () => {
  it('starts, logs one warning per ignored flag, names itself by --id, writes its log to --log-file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-flags-'));
    const logFile = path.join(dir, 'server.log');
    const child = spawn(process.execPath, [
      MAIN,
      `--model-repository=${dir}`,
      '--http-port=0',
      '--grpc-port=0',
      '--metrics-port=0',
      '--http-address=127.0.0.1',
      '--grpc-address=127.0.0.1',
      '--id=edge-7',
      '--log-verbose=0',
      '--log-info=true',
      '--log-warning=true',
      '--log-error=true',
      `--log-file=${logFile}`,
      '--pinned-memory-pool-byte-size=268435456',
      '--cuda-memory-pool-byte-size=0:67108864',
      '--model-load-thread-count=4',
      '--backend-directory=/opt/tritonserver/backends',
      '--allow-sagemaker=false',
      '--allow-vertex-ai=false',
      '--allow-client-shm=false',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.on('close', resolve));
    try {
      // Whole lines only: the server may be writing the next one while the file is read.
      const lines = () =>
        fs.existsSync(logFile)
          ? fs.readFileSync(logFile, 'utf8').split('\n').slice(0, -1).filter(Boolean).map((line) => JSON.parse(line) as { msg: string; port?: number })
          : [];
      let started: { port?: number } | undefined;
      while (!(started = lines().find((line) => line.msg === 'HTTP service started'))) {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(lines().filter((line) => line.msg.startsWith('Warning: ')).map((line) => line.msg)).toEqual([
        expect.stringMatching(/^Warning: '--model-load-thread-count' has no effect on this server: /),
        expect.stringMatching(/^Warning: '--backend-directory' has no effect on this server: /),
        expect.stringMatching(/^Warning: '--pinned-memory-pool-byte-size' has no effect on this server: /),
        expect.stringMatching(/^Warning: '--cuda-memory-pool-byte-size' has no effect on this server: /),
      ]);
      expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' }); // every line went to the file
      const metadata = (await (await fetch(`http://127.0.0.1:${started.port}/v2`)).json()) as { name: string };
      expect(metadata.name).toBe('edge-7');
      const logging = (await (await fetch(`http://127.0.0.1:${started.port}/v2/logging`)).json()) as { log_file: string };
      expect(logging.log_file).toBe(logFile);
    } finally {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
