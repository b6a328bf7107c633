/**
 * Triton's log line formats (--log-format=default|ISO8601 given): the line for each level and format, messages
 * JSON-escaped (so a client's text cannot forge a log record) unless TRITON_SERVER_ESCAPE_LOG_MESSAGES=0, where the
 * lines go; and the real command writing them.
 */
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import fc from 'fast-check';
import { escapeFromEnvironment, TritonTextDestination, tritonLogLine } from '../../server/core/triton-log-text';
import { httpRequest } from '../http/helpers';
import { MAIN } from './cli-process';
import { copyRepository } from './repo-fixture';

// 2026-12-06T09:05:03.000042Z
const MICROS = Date.UTC(2026, 11, 6, 9, 5, 3) * 1000 + 42;
const DEFAULT_RECORD = /^(?<level>[IWE])(?<month>\d{2})(?<day>\d{2}) (?<time>\d{2}:\d{2}:\d{2}\.\d{6}) (?<pid>\d+) (?<file>[\w.]+):(?<line>\d+)] (?<message>.*)$/;
const FORGED = 'I0205 18:34:18.707423 1 file.cc:123] FORGED';

const options = (format: 'default' | 'ISO8601', escape = true) => ({ format: () => format, escape, pid: 77 });

describe('tritonLogLine', () => {
  test('default format: level letter, month and day, UTC time to the microsecond, pid, place, quoted message', () => {
    expect(tritonLogLine({ level: 30, msg: 'loaded model', model: 'simple', versions: [1] }, options('default'), MICROS)).toBe(
      'I1206 09:05:03.000042 77 server:0] "loaded model model=simple versions=[1]"',
    );
  });

  test('ISO8601 format: the date and time first, then the level letter', () => {
    expect(tritonLogLine({ level: 40, msg: 'careful' }, options('ISO8601'), MICROS)).toBe('2026-12-06T09:05:03Z W 77 server:0] "careful"');
  });

  test("pino levels map to Triton's letters: verbose lines are I, fatal is E", () => {
    const letters = [10, 20, 30, 40, 50, 60].map((level) => tritonLogLine({ level, msg: 'm' }, options('default'), MICROS)[0]);
    expect(letters).toEqual(['I', 'I', 'I', 'W', 'E', 'E']);
  });

  test('a component binding names the place; characters outside a file name become _', () => {
    expect(tritonLogLine({ level: 30, msg: 'm', component: 'model-manager' }, options('default'), MICROS)).toContain(' model_manager:0] ');
  });

  test('escaped: newlines and terminal control characters stay inside one JSON string', () => {
    const line = tritonLogLine({ level: 20, msg: 'request failed', error: `input '\n${FORGED}\u001b[31m'` }, options('default'), MICROS);
    expect(line.split('\n')).toHaveLength(1);
    const message = DEFAULT_RECORD.exec(line)!.groups!.message;
    expect(JSON.parse(message)).toBe(`request failed error=input '\n${FORGED}\u001b[31m'`);
  });

  test('unescaped (TRITON_SERVER_ESCAPE_LOG_MESSAGES=0): the message as it is, as Triton writes it', () => {
    const line = tritonLogLine({ level: 30, msg: `a\n${FORGED}` }, options('default', false), MICROS);
    expect(line.split('\n')).toEqual(['I1206 09:05:03.000042 77 server:0] a', FORGED]);
    expect(escapeFromEnvironment({ TRITON_SERVER_ESCAPE_LOG_MESSAGES: '0' })).toBe(false);
    expect(escapeFromEnvironment({ TRITON_SERVER_ESCAPE_LOG_MESSAGES: '1' })).toBe(true);
    expect(escapeFromEnvironment({})).toBe(true);
  });

  test('fuzz: any message and fields give one line that parses back to the message', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string().filter((k) => !['level', 'msg', 'time', 'pid', 'hostname', 'service', 'component'].includes(k)), fc.jsonValue()), (msg, fields) => {
        const line = tritonLogLine({ ...fields, level: 30, msg }, options('default'), MICROS);
        expect(line).not.toContain('\n');
        const match = DEFAULT_RECORD.exec(line);
        expect(match).not.toBeNull();
        expect(JSON.parse(match!.groups!.message).startsWith(msg)).toBe(true);
      }),
    );
  });
});

describe('TritonTextDestination', () => {
  const sink = () => {
    const written: string[] = [];
    return { written, write: (text: string) => written.push(text) };
  };

  test('without a file, info lines go to stdout and warnings and errors to stderr (as Triton); with one, all go there', () => {
    const stdout = sink();
    const stderr = sink();
    const destination = new TritonTextDestination({ ...options('default'), nowMicros: () => MICROS }, { stdout, stderr });
    destination.write(`${JSON.stringify({ level: 30, msg: 'one' })}\n${JSON.stringify({ level: 50, msg: 'two' })}\n`);
    destination.write(`${JSON.stringify({ level: 40, msg: 'three' })}\n`);
    expect(stdout.written).toEqual(['I1206 09:05:03.000042 77 server:0] "one"\n']);
    expect(stderr.written).toEqual(['E1206 09:05:03.000042 77 server:0] "two"\n', 'W1206 09:05:03.000042 77 server:0] "three"\n']);
    const file = sink();
    const toFile = new TritonTextDestination({ ...options('ISO8601'), nowMicros: () => MICROS }, { file, stdout, stderr });
    toFile.write(`${JSON.stringify({ level: 50, msg: 'four' })}\n`);
    expect(file.written).toEqual(['2026-12-06T09:05:03Z E 77 server:0] "four"\n']);
  });
});

test('the command with --log-format=default writes only Triton records, a forged record in an input name included', async () => {
  const child = spawn(
    process.execPath,
    [MAIN, `--model-repository=${copyRepository(['simple'])}`, '--log-format=default', '--log-verbose=1', '--http-port=0', '--grpc-port=0', '--allow-metrics=false', '--host=127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRITON_SERVER_ESCAPE_LOG_MESSAGES: undefined } },
  );
  const lines: string[] = [];
  const exit = new Promise<void>((resolve) => child.on('close', () => resolve())); // 'close': every line read
  const waiters: Array<{ pattern: RegExp; resolve: (match: RegExpExecArray) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const waiter of waiters) {
      const match = waiter.pattern.exec(line);
      if (match) waiter.resolve(match);
    }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const waitForLine = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      waiters.push({ pattern, resolve });
      void exit.then(() => reject(new Error(`server exited: ${lines.join('\n')}`)));
    });
  try {
    const started = waitForLine(/HTTP service started port=(\d+)/);
    const port = Number((await started)[1]);
    const failed = waitForLine(/request failed/);
    const body = { inputs: [{ name: `\n${FORGED}\n`, datatype: 'FP32', shape: [1], data: [1] }] };
    const response = await httpRequest(port, { method: 'POST', url: '/v2/models/simple/infer', payload: JSON.stringify(body) });
    expect(response.statusCode).toBe(400);
    await failed;
  } finally {
    child.kill('SIGTERM');
    await exit;
  }
  expect(lines.length).toBeGreaterThan(3);
  for (const line of lines) {
    expect(line).toMatch(DEFAULT_RECORD);
    expect(() => JSON.parse(DEFAULT_RECORD.exec(line)!.groups!.message)).not.toThrow();
  }
  expect(lines).not.toContain(FORGED);
  expect(lines.some((line) => line.includes('\\nI0205 18:34:18.707423 1 file.cc:123] FORGED\\n'))).toBe(true);
}, 60_000);
