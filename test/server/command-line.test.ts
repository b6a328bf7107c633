/**
 * The command-line conventions shared by inference-server, inference-perf and the deploy entry (server/command-line.ts):
 * both value spellings, bare booleans, one-line errors that name the closest flag, grouped help.
 */
import fc from 'fast-check';
import { closestFlag, formatHelp, OptionsConfig, packageVersion, parseFlags, UsageError } from '../../server/command-line';

const OPTIONS: OptionsConfig = {
  'http-port': { type: 'string' },
  'grpc-port': { type: 'string' },
  'dry-run': { type: 'string' },
  'load-model': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};
const parse = (...argv: string[]) => parseFlags(argv, OPTIONS, { program: 'tool', trueWhenBare: ['dry-run'] });
const failure = (...argv: string[]): string => {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('parseFlags', () => {
  it('reads --flag=value and --flag value alike (Triton accepts both)', () => {
    expect(parse('--http-port=8000', '--grpc-port', '8001')).toEqual({ 'http-port': '8000', 'grpc-port': '8001' });
    expect(parse('--load-model=a', '--load-model', 'b')).toEqual({ 'load-model': ['a', 'b'] });
    expect(parse('-h')).toEqual({ help: true });
  });

  it('a true/false flag given bare means true; a following true/false word is its value', () => {
    expect(parse('--dry-run')).toEqual({ 'dry-run': 'true' });
    expect(parse('--dry-run', '--json')).toEqual({ 'dry-run': 'true', json: true });
    expect(parse('--dry-run', 'false')).toEqual({ 'dry-run': 'false' });
    expect(parse('--dry-run', 'OFF')).toEqual({ 'dry-run': 'OFF' });
    expect(parse('--dry-run=false')).toEqual({ 'dry-run': 'false' });
  });

  it('an unknown flag is one line naming the closest known one', () => {
    expect(failure('--htp-port=8000')).toBe("unknown option '--htp-port'; did you mean --http-port? (tool --help lists every option)");
    expect(failure('--http_port', '8000')).toBe("unknown option '--http_port'; did you mean --http-port? (tool --help lists every option)");
    expect(failure('--dry')).toBe("unknown option '--dry'; did you mean --dry-run? (tool --help lists every option)");
    expect(failure('--completely-different')).toBe("unknown option '--completely-different' (tool --help lists every option)");
    expect(failure('-x')).toBe("unknown option '-x' (tool --help lists every option)");
  });

  it('a stray word and a missing value are one line each', () => {
    expect(failure('8000')).toBe("unexpected argument '8000': options start with -- (tool --help lists every option)");
    expect(failure('--http-port')).toMatch(/^Option '--http-port <value>' argument missing \(tool --help lists every option\)$/);
    expect(failure('--json=yes')).not.toContain('\n');
  });

  it('any command line parses or fails with one UsageError line, nothing else', () => {
    const word = fc.oneof(
      fc.constantFrom('--http-port', '--dry-run', '--json', '-h', '--load-model', '--', 'true', 'false', '=', '-', '--x'),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
        try {
          parse(...argv);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect((error as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('closestFlag', () => {
  const known = ['http-port', 'grpc-port', 'metrics-port', 'model-repository', 'model-control-mode'];
  it.each([
    ['--http-prot', '--http-port'],
    ['--model-repo', '--model-repository'],
    ['--model_repository', '--model-repository'],
    ['--metrics-prot=8002', '--metrics-port'],
    ['--zzz', undefined],
  ])('%s → %s', (written, expected) => {
    expect(closestFlag(written, known)).toBe(expected);
  });
});

describe('formatHelp', () => {
  it('groups flags under their topic with the value type; long flags put their text on the next line', () => {
    const text = formatHelp('Usage: tool [options]', [
      { title: 'Server', entries: [{ flag: '--http-port', value: '<integer>', help: 'HTTP port. Default 8000.' }] },
      { title: 'Output', entries: [{ flag: '--json', short: 'j', help: 'JSON.' }] },
      { title: 'Tuning', entries: [{ flag: '--grpc-http2-min-recv-ping-interval-without-data', value: '<integer>', help: 'Least ms between pings.' }] },
    ]);
    expect(text).toBe(
      [
        'Usage: tool [options]',
        '',
        'Server:',
        '      --http-port <integer>       HTTP port. Default 8000.',
        '',
        'Output:',
        '  -j, --json                      JSON.',
        '',
        'Tuning:',
        '      --grpc-http2-min-recv-ping-interval-without-data <integer>',
        '                                  Least ms between pings.',
        '',
      ].join('\n'),
    );
  });
});

describe('packageVersion', () => {
  it("is package.json's version", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(packageVersion()).toBe((require('../../package.json') as { version: string }).version);
  });
});
