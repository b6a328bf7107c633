/**
 * How the inference-server command writes its log: readable lines (pino-pretty) on a terminal, one JSON object per
 * line (pino) when the output is a pipe or file, or as asked with --log-format:
 *   (not given)  a terminal gets readable lines, anything else JSON
 *   pretty       readable lines anywhere      json     JSON anywhere
 *   default, ISO8601   Triton's formats (the time as epoch milliseconds or an ISO date)
 */
import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from './core/log-settings';
import { escapeFromEnvironment, TritonTextDestination } from './core/triton-log-text';

/** What --log-format asked for: Triton's two formats, this server's two, or nothing (decided by the output). */
export type LogFormatRequest = LogFormat | 'json' | 'pretty' | 'auto';

/** The values --log-format accepts. */
export const LOG_FORMAT_VALUES: readonly string[] = ['default', 'ISO8601', 'json', 'pretty'];

export type LogRendering = 'pretty' | 'json' | 'triton';

/** The rendering a request gives, for output that is (or is not) a terminal. */
export function logRendering(request: LogFormatRequest, outputIsTerminal: boolean): LogRendering {
  if (request === 'auto') return outputIsTerminal ? 'pretty' : 'json';
  if (request === 'pretty' || request === 'json') return request;
  return 'triton';
}

/** The Triton log_format setting (GET /v2/logging) a request stands for: this server's own formats keep `default`. */
export function tritonLogFormat(request: LogFormatRequest): LogFormat {
  return request === 'ISO8601' ? 'ISO8601' : 'default';
}

/**
 * Fields a person reading a terminal does not need: those every line carries, and those the message already shows
 * (the model status table, the ports of the `ready:` line).
 */
const PRETTY_HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'models', 'httpPort', 'grpcPort', 'metricsPort']);

/** The message, then the line's other fields as `key=value` (JSON-quoted where a value has spaces or structure). */
export function prettyMessage(line: Record<string, unknown>, messageKey: string): string {
  const fields = Object.entries(line)
    .filter(([key, value]) => !PRETTY_HIDDEN_FIELDS.has(key) && key !== messageKey && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`);
  const message = typeof line[messageKey] === 'string' ? (line[messageKey] as string) : '';
  return [message, ...fields].filter(Boolean).join(' ');
}

/**
 * The logger: `options` from LogSettingsController.pinoOptions(), written to `destination` (a file) or stdout.
 * Readable lines are formatted in this process (pino-pretty as a stream, synchronous), so nothing is lost on exit.
 */
export function createCommandLogger(
  options: LoggerOptions,
  rendering: LogRendering,
  destination?: DestinationStream,
  colors = false,
  tritonFormat: () => LogFormat = () => 'default',
): Logger {
  const withoutListenLines = dropFastifyListenLines(options);
  if (rendering === 'pretty') {
    const stream = pretty({
      colorize: colors,
      hideObject: true,
      messageFormat: (line, messageKey) => prettyMessage(line, messageKey),
      translateTime: 'SYS:HH:MM:ss.l',
      sync: true,
      ...(destination ? { destination } : { destination: 1 }),
    });
    return pino(withoutListenLines, stream);
  }
  if (rendering === 'triton') {
    // Triton's text lines: info to stdout, the rest to stderr (or all to the --log-file), as Triton writes them.
    const text = new TritonTextDestination(
      { format: tritonFormat, escape: escapeFromEnvironment() },
      { file: destination, stdout: process.stdout, stderr: process.stderr },
    );
    return pino(withoutListenLines, text);
  }
  return destination ? pino(withoutListenLines, destination) : pino(withoutListenLines);
}

/**
 * fastify logs "Server listening at <url>" once per interface address when it starts listening, and has no option to
 * turn that off; the server announces each listener once itself ("HTTP service started" with its port).
 */
function dropFastifyListenLines(options: LoggerOptions): LoggerOptions {
  const inner = options.hooks?.logMethod;
  return {
    ...options,
    hooks: {
      ...options.hooks,
      logMethod(args, method, level) {
        const message = args.find((arg) => typeof arg === 'string');
        if (typeof message === 'string' && message.startsWith('Server listening at ')) return;
        if (inner) inner.call(this, args, method, level);
        else method.apply(this, args);
      },
    },
  };
}
