/**
 * Triton's log line formats, for `--log-format=default|ISO8601` given on the command line: a pino destination that
 * rewrites each JSON line pino writes into the line Triton writes for it.
 *
 *   default: `I1206 12:00:00.123456 4242 server:0] "message"`
 *   ISO8601: `2026-12-06T12:00:00Z I 4242 server:0] "message"`
 *
 * Level letters as Triton's: I (info and verbose), W, E (error and fatal). The time is UTC. Triton names its source
 * file and line; a JavaScript log call has neither at hand, so the place reads `<component>:0` (the record's
 * `component` binding, else `server`). As Triton, the message is written as a JSON string (quotes, control characters
 * escaped: one line per record, whatever a client put into a model or tensor name) unless the environment sets
 * TRITON_SERVER_ESCAPE_LOG_MESSAGES=0. The record's other fields follow the message's first line as `key=value`.
 *
 * Hand-written: pino's transports (pino-pretty included) have no glog/Triton line format.
 */
import type { LogFormat } from './log-settings';

/** The environment variable Triton reads once at startup: "0" writes messages as they are. */
export const ESCAPE_LOG_MESSAGES_VARIABLE = 'TRITON_SERVER_ESCAPE_LOG_MESSAGES';

/** pino's numeric levels: 50 error, 40 warn; everything below 40 is Triton's I. */
const PINO_WARN = 40;
const PINO_ERROR = 50;

/** Fields pino (or the server's base bindings) adds to every record: they are the line's preamble, not its message. */
const PREAMBLE_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'service', 'component']);

interface Writer {
  write(text: string): unknown;
}

export interface TritonLineOptions {
  /** Read for every line: the logging extension may switch it at run time. */
  readonly format: () => LogFormat;
  /** Triton's default; TRITON_SERVER_ESCAPE_LOG_MESSAGES=0 turns it off (escapeFromEnvironment). */
  readonly escape: boolean;
  readonly pid?: number;
  /** The wall clock in microseconds since the epoch (a test gives a fixed one). */
  readonly nowMicros?: () => number;
}

/** Whether Triton would escape messages under this environment (anything but "0" escapes). */
export function escapeFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ESCAPE_LOG_MESSAGES_VARIABLE] !== '0';
}

/** One pino record (as parsed from its JSON line) as Triton's log line, without the newline. */
export function tritonLogLine(record: Readonly<Record<string, unknown>>, options: TritonLineOptions, micros: number): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const letter = level >= PINO_ERROR ? 'E' : level >= PINO_WARN ? 'W' : 'I';
  const component = typeof record.component === 'string' ? record.component.replace(/\W/g, '_') : 'server';
  const place = `${options.pid ?? process.pid} ${component}:0]`;
  const time = new Date(Math.floor(micros / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  const clock = `${two(time.getUTCHours())}:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())}`;
  const preamble =
    options.format() === 'ISO8601'
      ? `${time.getUTCFullYear()}-${two(time.getUTCMonth() + 1)}-${two(time.getUTCDate())}T${clock}Z ${letter} ${place}`
      : `${letter}${two(time.getUTCMonth() + 1)}${two(time.getUTCDate())} ${clock}.${String(Math.floor(micros % 1_000_000)).padStart(6, '0')} ${place}`;
  const message = messageText(record);
  return `${preamble} ${options.escape ? JSON.stringify(message) : message}`;
}

/**
 * The message, its other fields after its first line: a multi-line message is a heading and an object (Triton's
 * model status table), which Triton's qa reads as such and which the fields would break.
 */
function messageText(record: Readonly<Record<string, unknown>>): string {
  const [heading, ...object] = typeof record.msg === 'string' && record.msg !== '' ? record.msg.split('\n') : [];
  const parts = heading !== undefined ? [heading] : [];
  for (const [key, value] of Object.entries(record)) {
    if (PREAMBLE_FIELDS.has(key)) continue;
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return [parts.join(' '), ...object].join('\n');
}

/**
 * A pino destination writing Triton's lines: to `file` when given (--log-file), else as Triton does, info lines to
 * `stdout` and warnings and errors to `stderr`. pino writes one JSON line per call, synchronously after the log call,
 * so the time taken here is the record's (to the microsecond, which pino's millisecond `time` lacks).
 */
export class TritonTextDestination {
  private readonly nowMicros: () => number;

  constructor(
    private readonly options: TritonLineOptions,
    private readonly outputs: { readonly file?: Writer; readonly stdout: Writer; readonly stderr: Writer },
  ) {
    // The wall clock each time (an NTP step or a suspend must not make the lines drift from other logs), with the
    // microseconds within the millisecond from the high-resolution clock.
    this.nowMicros = options.nowMicros ?? (() => Date.now() * 1000 + Number((process.hrtime.bigint() / 1000n) % 1000n));
  }

  write(chunk: string): void {
    const micros = this.nowMicros();
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        record = { level: 30, msg: line }; // not pino's JSON: written as the message itself
      }
      const text = `${tritonLogLine(record, this.options, micros)}\n`;
      const level = typeof record.level === 'number' ? record.level : 30;
      const out = this.outputs.file ?? (level >= PINO_WARN ? this.outputs.stderr : this.outputs.stdout);
      out.write(text);
    }
  }
}
