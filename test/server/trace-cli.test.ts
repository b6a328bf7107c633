/**
 * Triton's trace flags: --trace-config [triton,]<setting>=<value> and the deprecated --trace-* flags, their defaults,
 * precedence, Triton's parse messages, and the settings a server started from them answers.
 */
import fc from 'fast-check';
import { createInferenceServer } from '../../server/app';
import { CliError, parseCli } from '../../server/cli';
import { httpRequest } from '../http/helpers';
import { EXAMPLES } from './repo-fixture';

const base = ['--model-repository=/models'];

describe('trace command-line flags', () => {
  it('default like Triton: OFF, rate 1000, count -1, log frequency 0, no file', () => {
    expect(parseCli(base).trace).toEqual({ levels: [], rate: 1000, count: -1, logFrequency: 0, file: '' });
  });

  it('--trace-config sets the global and triton settings', () => {
    const cli = parseCli([
      ...base,
      '--trace-config=triton,file=/tmp/trace.json',
      '--trace-config=triton,log-frequency=50',
      '--trace-config=rate=100',
      '--trace-config=level=TIMESTAMPS',
      '--trace-config=level=TENSORS',
      '--trace-config=count=100',
      '--trace-config=mode=triton',
    ]);
    expect(cli.trace).toEqual({ levels: ['TIMESTAMPS', 'TENSORS'], rate: 100, count: 100, logFrequency: 50, file: '/tmp/trace.json' });
  });

  it('the deprecated flags still work, and --trace-config wins over them', () => {
    const deprecated = parseCli([...base, '--trace-file=/tmp/a.json', '--trace-level=MAX', '--trace-rate=5', '--trace-count=7', '--trace-log-frequency=2']);
    expect(deprecated.trace).toEqual({ levels: ['TIMESTAMPS'], rate: 5, count: 7, logFrequency: 2, file: '/tmp/a.json' });
    const both = parseCli([...base, '--trace-rate=5', '--trace-config=rate=9', '--trace-file=/tmp/a.json', '--trace-config=triton,file=/tmp/b.json']);
    expect(both.trace).toMatchObject({ rate: 9, file: '/tmp/b.json' });
  });

  it('level OFF anywhere turns tracing off', () => {
    expect(parseCli([...base, '--trace-config=level=TIMESTAMPS', '--trace-config=level=OFF']).trace.levels).toEqual([]);
    expect(parseCli([...base, '--trace-level=false', '--trace-config=level=TIMESTAMPS']).trace.levels).toEqual([]);
  });

  it.each([
    ['--trace-config=level=LOUD', 'Bad option: "--trace-config level".\ninvalid value for trace level option: LOUD'],
    ['--trace-config=,rate=1', 'No trace mode specified. --trace-config option format is <trace mode>,<setting>=<value> or <setting>=<value>. Got ,rate=1'],
    ['--trace-config=rate', "--trace-config option format is '<trace mode>,<setting>=<value>'. Got rate"],
    ['--trace-config=rate=', "--trace-config option format is '<trace mode>,<setting>=<value>'. Got rate="],
    ['--trace-config=zipkin,url=x', 'invalid value for trace mode option: zipkin. Available options are "triton" and "opentelemetry"'],
    ['--trace-config=mode=opentelemetry', 'Bad option: "--trace-config mode".\ntrace mode opentelemetry is not supported by this server'],
    ['--trace-config=rate=fast', 'Bad option: "--trace-config rate".\n'],
    ['--trace-config=count=-2', 'Bad option: "--trace-config count".\n'],
    ['--trace-level=LOUD', 'invalid value for trace level option: LOUD'],
    ['--trace-rate=-1', '--trace-rate expects an integer'],
  ])('%s is refused with Triton\'s message', (flag, message) => {
    expect(() => parseCli([...base, flag])).toThrow(CliError);
    expect(() => parseCli([...base, flag])).toThrow(message);
  });

  it('fuzzed --trace-config values parse or fail with a CliError, never anything else', () => {
    const part = fc.constantFrom('', 'triton', 'TRITON', 'opentelemetry', 'x', 'level', 'rate', 'count', 'file', 'log-frequency', 'mode', 'OFF', 'TIMESTAMPS', '-1', '5', ',', '=');
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }).map((parts) => parts.join('')), fc.string(), (config, other) => {
        for (const value of [config, other]) {
          try {
            const cli = parseCli([...base, `--trace-config=${value}`]);
            expect(cli.trace.rate).toBeGreaterThanOrEqual(0);
          } catch (error) {
            expect(error).toBeInstanceOf(CliError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a server started from the flags answers them as its trace settings', async () => {
    const cli = parseCli([...base, '--trace-config=triton,file=/tmp/cli-trace.json', '--trace-config=level=TIMESTAMPS', '--trace-config=rate=10', '--trace-config=count=4']);
    const app = createInferenceServer({ modelRepositories: [EXAMPLES], modelControlMode: 'explicit', httpPort: 0, allowGrpc: false, host: '127.0.0.1', allowMetrics: false, trace: cli.trace });
    const { httpPort } = await app.start();
    try {
      const settings = (await httpRequest(httpPort!, { method: 'GET', url: '/v2/trace/setting' })).json();
      expect(settings).toEqual({
        trace_level: ['TIMESTAMPS'],
        trace_rate: '10',
        trace_count: '4',
        log_frequency: '0',
        trace_file: '/tmp/cli-trace.json',
        trace_mode: 'triton',
      });
    } finally {
      await app.stop();
    }
  });
});
