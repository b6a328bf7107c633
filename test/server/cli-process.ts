/** The real `inference-server` command (dist/server/main.js, built by jest's global setup) as a child process. */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const MAIN = path.resolve(__dirname, '../../dist/server/main.js');

export interface RunningCli {
  child: ChildProcess;
  /** The HTTP port from the "HTTP service started" line. */
  port: number;
  grpcPort?: number;
  metricsPort?: number;
  /** The exit code, once the process has exited and its output has been read to the end. */
  exit: Promise<number | null>;
  /** stdout and stderr lines so far. */
  logs: string[];
  /** Resolves once a stdout log line with this `msg` has been written (one written before counts too). */
  logged(msg: string): Promise<void>;
}

/**
 * Start the CLI (give it ephemeral ports); resolves once the log line `until` is written, with the ports the
 * "... service started" lines gave. Rejects if the process exits first.
 */
export function startCli(args: string[], until = 'HTTP service started'): Promise<RunningCli> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const messages: string[] = [];
  const waiters: Array<{ msg: string; resolve: () => void }> = [];
  // 'close', not 'exit': at 'exit' the pipes may still hold the last lines.
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const logged = (msg: string) =>
    messages.includes(msg)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          waiters.push({ msg, resolve });
          void exit.then((code) => reject(new Error(`server exited with ${code} before logging '${msg}': ${logs.join('\n')}`)));
        });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
  const ports: Record<string, number | undefined> = {};
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      let entry: { msg?: string; port?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return; // not a log line
      }
      if (entry.msg === undefined) return;
      messages.push(entry.msg);
      for (const waiter of waiters.filter((w) => w.msg === entry.msg)) waiter.resolve();
      if (entry.msg.endsWith(' service started')) ports[entry.msg] = entry.port;
      if (entry.msg === until) {
        resolve({
          child,
          port: ports['HTTP service started'] ?? 0,
          grpcPort: ports['GRPC service started'],
          metricsPort: ports['Metrics service started'],
          exit,
          logs,
          logged,
        });
      }
    });
    void exit.then((code) => reject(new Error(`server exited with ${code}: ${logs.join('\n')}`)));
  });
}

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a built entry point (`dist/...js`) with node to its end, or until `stopWhen` sees its stdout (then SIGTERM), with
 * stdout and stderr collected.
 */
export function runCommand(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stopWhen?: (stdout: string) => boolean } = {},
): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!signalled && options.stopWhen?.(stdout)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
