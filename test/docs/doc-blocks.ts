/**
 * The commands of README.md, docs/*.md and examples/*\/README.md, read from their fenced blocks, and a runner for them.
 * Every shell block carries a marker comment on the line before its fence (docs/contributing.md explains them):
 *   <!-- cmd: run <id> -->            a test under test/ runs it: docBlock('<id>') / runDocBlock('<id>', ...)
 *   <!-- cmd: output <id> -->         (on a text block) what block <id> prints; `...` stands for any text
 *   <!-- cmd: ci -->                  .ci/run runs exactly these commands
 *   <!-- cmd: skip <need>: <why> -->  not run in CI, because it needs one of SKIP_NEEDS
 *   <!-- cmd: file <path> -->         (on a code block) a part of that file of the repository, word for word
 */
import { execFile, spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** Why a command may stay out of CI: what it needs that a CI runner does not have. */
export const SKIP_NEEDS = {
  cluster: 'a Kubernetes cluster (kubectl)',
  cloud: 'a Google Cloud project (gcloud, buckets, IAM)',
  gpu: 'an NVIDIA GPU',
  root: 'root and podman (container builds)',
  registry: 'a container registry to push to',
  pip: 'Python packages from PyPI',
  'triton-sources': "Triton's repositories and tritonclient checked out (scripts/triton-qa)",
  'your-files': 'files the reader provides (certificates, a model repository of their own)',
  benchmark: 'minutes of a quiet machine (benchmarks; their figures are in bench/README.md)',
} as const;

export const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console']);

export type Marker =
  | { kind: 'run'; id: string }
  | { kind: 'output'; id: string }
  | { kind: 'ci' }
  | { kind: 'skip'; need: string; why: string }
  | { kind: 'file'; path: string };

export interface DocBlock {
  /** Relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly body: string;
  /** The marker on the line before the fence; a string when it could not be parsed. */
  readonly marker?: Marker | string;
}

/** README.md, docs/*.md and examples/*\/README.md. */
export function docFiles(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  const examples = fs
    .readdirSync(path.join(ROOT, 'examples'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(ROOT, 'examples', e.name, 'README.md')))
    .map((e) => `examples/${e.name}/README.md`);
  return ['README.md', ...docs.sort(), ...examples.sort()];
}

export function parseMarker(comment: string): Marker | string | undefined {
  const match = /^<!--\s*cmd:\s*(.*?)\s*-->$/.exec(comment.trim());
  if (!match) return undefined;
  const [kind, ...rest] = match[1].split(/\s+/);
  const argument = rest.join(' ');
  if ((kind === 'run' || kind === 'output') && /^[a-z0-9][a-z0-9-]*$/.test(argument)) return { kind, id: argument };
  if (kind === 'ci' && argument === '') return { kind: 'ci' };
  if (kind === 'file' && argument !== '') return { kind: 'file', path: argument };
  const skip = /^([a-z-]+):\s*(.+)$/.exec(argument);
  if (kind === 'skip' && skip) return { kind: 'skip', need: skip[1], why: skip[2] };
  return match[1];
}

/** The fenced blocks of one markdown file (``` or ~~~ fences; a fence closes with the same characters). */
export function blocksOf(file: string): DocBlock[] {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  let open: { fence: string; lang: string; line: number; body: string[]; marker?: Marker | string } | undefined;
  lines.forEach((text, index) => {
    const fence = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (open) {
      if (fence && fence[1].startsWith(open.fence) && text.trim() === fence[1]) {
        blocks.push({ file, line: open.line, lang: open.lang, body: open.body.join('\n'), marker: open.marker });
        open = undefined;
      } else open.body.push(text);
    } else if (fence) {
      open = { fence: fence[1], lang: fence[2].toLowerCase(), line: index + 1, body: [], marker: index > 0 ? parseMarker(lines[index - 1]) : undefined };
    }
  });
  if (open) throw new Error(`${file}:${open.line}: a code fence is never closed`);
  return blocks;
}

export function allBlocks(): DocBlock[] {
  return docFiles().flatMap(blocksOf);
}

function find(kind: 'run' | 'output', id: string): DocBlock {
  const found = allBlocks().filter((b) => typeof b.marker === 'object' && b.marker.kind === kind && b.marker.id === id);
  if (found.length !== 1) throw new Error(`expected one block marked 'cmd: ${kind} ${id}', found ${found.length}`);
  return found[0];
}

/** The block marked `cmd: run <id>`. */
export function docBlock(id: string): DocBlock {
  return find('run', id);
}

/** Ports and a scratch folder that a documented command runs with instead of the documented ones. */
export interface DocEnvironment {
  /** The ports the documented server bound (0 where no server runs). */
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
  /** Replaces /tmp/ in commands. */
  readonly scratch: string;
  /** Extra environment variables (e.g. the values of $PROJECT in a deploy command). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A fresh scratch folder; the ports are filled in by DocServer.start from the ports its server reports. */
export function docEnvironment(env?: Record<string, string>): DocEnvironment {
  return { http: 0, grpc: 0, metrics: 0, scratch: fs.mkdtempSync(path.join(os.tmpdir(), 'doc-commands-')), env };
}

/** The block's text as it runs here: the documented ports become the environment's loopback ports, /tmp/ its scratch folder. */
export function localize(body: string, environment: DocEnvironment): string {
  return body
    .replace(/localhost:8000\b/g, `127.0.0.1:${environment.http}`)
    .replace(/localhost:8001\b/g, `127.0.0.1:${environment.grpc}`)
    .replace(/localhost:8002\b/g, `127.0.0.1:${environment.metrics}`)
    .replace(/(^|[\s'"=@>])\/tmp\//g, `$1${environment.scratch}/`);
}

export interface BlockRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a block with bash (-e -o pipefail) from the repository root; never rejects. */
export function runDocBlock(id: string, environment: DocEnvironment, timeoutMs = 120_000): Promise<BlockRun> {
  const script = localize(docBlock(id).body, environment);
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-e', '-o', 'pipefail', '-c', script],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...environment.env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * For a test file or describe block: the documented server <id> on fresh ports (started in beforeAll, stopped and its
 * scratch folder removed in afterAll); `environment` is set once it runs.
 */
export function documentedServer(id: string): { readonly environment: DocEnvironment } {
  const handle: { environment: DocEnvironment; server?: DocServer } = { environment: undefined as unknown as DocEnvironment };
  beforeAll(async () => {
    handle.environment = docEnvironment();
    handle.server = await DocServer.start(id, handle.environment);
    handle.environment = handle.server.environment;
  }, 480_000);
  afterAll(async () => {
    await handle.server?.stop();
    if (handle.environment) fs.rmSync(handle.environment.scratch, { recursive: true, force: true });
  });
  return handle;
}

/** The server's `ready: HTTP :<port>, gRPC :<port>, metrics :<port>` line, once it is out whole. */
const READY_LINE = /ready: (HTTP :\d+[^\n]*)\n/;

/** A documented server command running in the background, in a process group of its own. */
export class DocServer {
  private output = '';
  readonly exited: Promise<number | null>;
  /** The environment with the ports this server bound (set by start). */
  environment!: DocEnvironment;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    // 'close': every process of the group that holds the output pipes (npm, the build wrapper, the server) has gone.
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  /**
   * Starts block <id> (its last command is the server) on ephemeral loopback ports (flags appended, `-- ` first when
   * the command has none) and resolves once its `ready:` line is out: every listener is bound then, and the line names
   * the ports (nothing is picked before the server listens). `readyTimeoutMs` only bounds a start that hangs.
   */
  static async start(id: string, environment: DocEnvironment, readyTimeoutMs = 180_000): Promise<DocServer> {
    const lines = localize(docBlock(id).body, environment)
      .replace(/\\\n/g, ' ') // one line per command
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, ''))
      .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
    const last = lines.length - 1;
    const flags = '--http-port=0 --grpc-port=0 --metrics-port=0 --host=127.0.0.1 --allow-gpu-metrics=false';
    lines[last] = `${lines[last]}${/\s--(\s|$)/.test(lines[last]) ? '' : ' --'} ${flags}`;
    const script = [...lines.slice(0, last), `exec ${lines[last]}`].join('\n');
    const child = spawn('bash', ['-e', '-c', script], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...environment.env },
    });
    const server = new DocServer(child);
    const outcome = await new Promise<{ ready: string } | { exitCode: number | null } | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), readyTimeoutMs);
      const check = () => {
        const ready = READY_LINE.exec(server.output);
        if (!ready) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve({ ready: ready[1] });
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      void server.exited.then((exitCode) => {
        clearTimeout(timer);
        resolve({ exitCode });
      });
    });
    if (typeof outcome === 'object' && 'ready' in outcome) {
      const port = (name: string) => Number(new RegExp(`${name} :(\\d+)`).exec(outcome.ready)?.[1] ?? 0);
      server.environment = { ...environment, http: port('HTTP'), grpc: port('gRPC'), metrics: port('metrics') };
      return server;
    }
    await server.stop();
    const why = outcome === 'timeout' ? `no ready: line in ${readyTimeoutMs} ms` : `exit code ${outcome.exitCode}`;
    throw new Error(`'${lines.join('; ')}' did not become ready (${why}):\n${server.output.slice(-4000)}`);
  }

  get log(): string {
    return this.output;
  }

  /** SIGTERM to the process group (npm, the build wrapper and the server), SIGKILL if it outlives the server's drain. */
  async stop(): Promise<number | null> {
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-this.child.pid!, name);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 60_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One HTTP request on a connection of its own (no pooled keep-alive socket outlives the test), or undefined on error. */
export function httpRequest(url: string, method = 'GET'): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const request = http.request(url, { method, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
    request.end();
  });
}

/**
 * The expected output of block <id> (the text block marked `cmd: output <id>`) found in `actual`: each of its lines, in
 * order, matches a line of the output, `...` standing for any text.
 */
export function expectDocumentedOutput(id: string, actual: string): void {
  const expected = find('output', id)
    .body.split('\n')
    .filter((line) => line.trim() !== '');
  const lines = actual.split('\n');
  let at = 0;
  for (const line of expected) {
    const pattern = new RegExp(`^${line.trim().split('...').map(escapeRegExp).join('.*')}$`);
    while (at < lines.length && !pattern.test(lines[at].trim())) at++;
    if (at === lines.length) throw new Error(`documented output line not found (in order) in the output of '${id}':\n  ${line}\noutput:\n${actual}`);
    at++;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
