/**
 * What the inference-server command prints for people (dist/server/main.js as a child process): --version, -h, a
 * mistyped flag in one line, each listener once, Triton's model status table, one `ready:` line, readable lines with
 * --log-format=pretty (a terminal's default) and JSON when piped, a busy port named by its flag, and a failed start
 * that reports only what happened.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { copyRepository } from './repo-fixture';
import { MAIN, runCommand } from './cli-process';

/** The command to its end, or until `stopWhen` sees its output (then SIGTERM). */
const run = (args: string[], stopWhen?: (stdout: string) => boolean) => runCommand(MAIN, args, { stopWhen });

const LOOPBACK = ['--http-port=0', '--grpc-port=0', '--metrics-port=0', '--host=127.0.0.1'];
const jsonLines = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; [key: string]: unknown });

let repo: string;
beforeAll(() => {
  repo = copyRepository(['simple']);
  // A model whose file is not in a version folder: it fails to load, with its reason in the table.
  fs.mkdirSync(path.join(repo, 'flat'));
  fs.copyFileSync(path.join(repo, 'simple', '1', 'model.onnx'), path.join(repo, 'flat', 'model.onnx'));
});
afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

describe('command-line conventions', () => {
  it('--version prints the version; -h the help grouped by topic with value types', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `inference-server ${version}\n`, stderr: '' });
    const help = await run(['-h']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: inference-server --model-repository=<path> \[options\]\n\nGeneral:\n {2}-h, --help /);
    expect(help.stdout).toMatch(/\nHTTP:\n(.*\n)* {6}--http-port <integer> +HTTP port\. Default 8000\.\n/);
    expect(help.stdout).toMatch(/\n {6}--strict-readiness <boolean>\s/);
  });

  it('a mistyped flag is one line naming the closest flag, exit 2', async () => {
    expect(await run(['--model-repository=x', '--htp-port=8000'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--htp-port'; did you mean --http-port? (inference-server --help lists every option)\n",
    });
    expect(await run([])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --model-repository is required (inference-server --help lists every option)\n',
    });
  });
});

describe('startup output', () => {
  it('piped: JSON lines, each listener once, the model status table, one ready line', async () => {
    const result = await run([`--model-repository=${repo}`, '--exit-on-error=false', ...LOOPBACK], (out) => out.includes('"msg":"ready: '));
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = jsonLines(result.stdout);
    const messages = lines.map((line) => line.msg);
    for (const listener of ['HTTP service started', 'GRPC service started', 'Metrics service started']) {
      expect(messages.filter((msg) => msg === listener)).toHaveLength(1);
    }
    expect(messages.filter((msg) => msg.startsWith('Server listening'))).toEqual([]);
    const ports = Object.fromEntries(lines.filter((line) => line.msg.endsWith(' service started')).map((line) => [line.msg, line.port]));
    const ready = lines.filter((line) => line.msg.startsWith('ready: '));
    expect(ready.map((line) => line.msg)).toEqual([
      `ready: HTTP :${ports['HTTP service started']}, gRPC :${ports['GRPC service started']}, metrics :${ports['Metrics service started']}`,
    ]);
    const table = lines.find((line) => line.msg.startsWith('model status\n'))!;
    const reason = "model 'flat' has no version folder: 'model.onnx' lies directly in the model folder, but model files go in a numbered version folder (flat/1/model.onnx)";
    expect(table.models).toEqual([
      { name: 'flat', state: 'UNAVAILABLE', reason },
      { name: 'simple', version: '2', state: 'READY', reason: '' },
    ]);
    const rows = table.msg.split('\n').slice(1);
    expect(rows.slice(0, 3)).toEqual([
      expect.stringMatching(/^\+-+\+-+\+-+\+$/),
      expect.stringMatching(/^\| Model +\| Version \| Status +\|$/),
      expect.stringMatching(/^\+-+\+-+\+-+\+$/),
    ]);
    expect(rows[3]).toMatch(/^\| flat +\| - +\| UNAVAILABLE: model 'flat' has no version folder: 'model\.onnx' lies directly in +\|$/);
    expect(rows.find((row) => row.startsWith('| simple '))).toMatch(/^\| simple +\| 2 +\| READY +\|$/);
    expect(rows[rows.length - 1]).toMatch(/^\+-+\+-+\+-+\+$/);
    // Every row is as wide as the borders (Triton's table), the long reason wrapped inside its cell.
    expect(new Set(rows.map((row) => row.length)).size).toBe(1);
  });

  it('--log-format=pretty: readable lines, the table as it is, the ready line', async () => {
    const result = await run([`--model-repository=${repo}`, '--exit-on-error=false', '--log-format=pretty', ...LOOPBACK], (out) => out.includes('INFO: ready: '));
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: HTTP service started port=\d+ address=127\.0\.0\.1$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: model status$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\| simple +\| 2 +\| READY +\|$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ready: HTTP :\d+, gRPC :\d+, metrics :\d+$/));
  });

  it('a busy port names its flag; nothing is said about models that never loaded or requests never served', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await run([`--model-repository=${repo}`, '--exit-on-error=false', ...LOOPBACK, `--metrics-port=${busy}`]);
      expect(result.code).toBe(1);
      const failed = jsonLines(result.stdout).find((line) => line.msg === 'failed to start');
      expect(failed?.err).toBe(`--metrics-port ${busy} is in use (EADDRINUSE 127.0.0.1:${busy})`);
      expect(result.stdout).not.toMatch(/in-flight requests finished|unloaded model|loaded model/);
      expect(result.stderr).toBe('');
      // gRPC binds last, after the models loaded; @grpc/grpc-js's own bind error goes to the log, not stderr.
      const grpc = await run([`--model-repository=${repo}`, '--exit-on-error=false', ...LOOPBACK, `--grpc-port=${busy}`]);
      expect(grpc.code).toBe(1);
      expect(jsonLines(grpc.stdout).find((line) => line.msg === 'failed to start')?.err).toBe(
        `--grpc-port ${busy} is in use (EADDRINUSE 127.0.0.1:${busy})`,
      );
      expect(grpc.stderr).toBe('');
    } finally {
      blocker.close();
    }
  });

  it('a model that fails to load with --exit-on-error: the table, the reason, no unload or drain lines', async () => {
    const onlyFlat = copyRepository([]);
    fs.cpSync(path.join(repo, 'flat'), path.join(onlyFlat, 'flat'), { recursive: true });
    try {
      const result = await run([`--model-repository=${onlyFlat}`, ...LOOPBACK]);
      expect(result.code).toBe(1);
      const messages = jsonLines(result.stdout).map((line) => line.msg);
      expect(messages).toContainEqual(expect.stringMatching(/^model status\n/));
      expect(messages).toContainEqual(expect.stringMatching(/^failed to load flat; exiting \(--exit-on-error=true\)/));
      expect(messages.filter((msg) => /in-flight requests finished|unloaded model/.test(msg))).toEqual([]);
    } finally {
      fs.rmSync(onlyFlat, { recursive: true, force: true });
    }
  });
});
