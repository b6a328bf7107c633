/** --cache-config and --response-cache-byte-size: Triton's syntax, defaults and messages. */
import { CliError, parseCli } from '../../server/cli';

const parse = (...flags: string[]) => parseCli(['--model-repository=/models', ...flags]);

function cliError(...flags: string[]): string {
  try {
    parse(...flags);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return (error as Error).message;
  }
  throw new Error('expected a CliError');
}

it('has no cache by default', () => {
  expect(parse().responseCache).toBeUndefined();
  expect(parse().warnings).toEqual([]);
});

it('accepts --cache-config local,size=N (repeatable; the last value of a setting wins)', () => {
  expect(parse('--cache-config=local,size=1048576').responseCache).toEqual({ implementation: 'local', byteSize: 1048576 });
  expect(parse('--cache-config', 'local,size=10', '--cache-config', 'local,size=20').responseCache?.byteSize).toBe(20);
});

it('maps the deprecated --response-cache-byte-size to the local cache, with Triton\'s warning; 0 means no cache', () => {
  const cli = parse('--response-cache-byte-size=8192');
  expect(cli.responseCache).toEqual({ implementation: 'local', byteSize: 8192 });
  expect(cli.warnings).toEqual([expect.stringContaining("'--cache-config=local,size=8192'")]);
  expect(parse('--response-cache-byte-size=0').responseCache).toBeUndefined();
});

it("refuses what Triton refuses, with Triton's messages", () => {
  expect(cliError('--response-cache-byte-size=12345', '--cache-config=local,size=67890')).toBe(
    'Error: Incompatible flags --response-cache-byte-size and --cache-config both provided. Please provide one or the other.',
  );
  expect(cliError('--cache-config=local,size=8192', '--cache-config=redis,key=value')).toContain('multiple cache configurations');
  expect(cliError('--cache-config=size=8192')).toBe(
    'No cache specified. --cache-config option format is <cache name>,<setting>=<value>. Got size=8192',
  );
  expect(cliError('--cache-config=local,size')).toBe("--cache-config option format is '<cache name>,<setting>=<value>'. Got local,size");
  expect(cliError('--cache-config=local,size=')).toBe("--cache-config option format is '<cache name>,<setting>=<value>'. Got local,size=");
  expect(cliError('--cache-config=local,enable=true')).toBe("Failed to initialize LocalCache: config didn't contain a valid 'size' field.");
  expect(cliError('--cache-config=local,size=-1')).toBe("Failed to initialize LocalCache: config didn't contain a valid 'size' field.");
  expect(cliError('--cache-config=local,size=0')).toContain('Failed to initialize LocalCache');
  expect(cliError('--cache-config=redis,host=localhost')).toContain("unknown cache 'redis'");
  expect(cliError('--response-cache-byte-size=lots')).toContain('Invalid option value. Got lots');
});
