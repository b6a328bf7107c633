/** inference-perf's command line follows the shared conventions: one-line errors naming the closest flag, --version. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../client/perf/main';
import { parsePerfArgs, PERF_USAGE, PerfUsageError } from '../../client/perf/options';

/** Run main() with stdout and stderr captured. */
async function captured(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('inference-perf command line', () => {
  it('a mistyped flag: one line naming the closest flag, exit 2', async () => {
    expect(() => parsePerfArgs(['-m', 'simple', '--concurency-range', '1:4'])).toThrow(
      new PerfUsageError("unknown option '--concurency-range'; did you mean --concurrency-range? (inference-perf --help lists every option)"),
    );
    expect(await captured(['-m', 'simple', '--measurment-interval=500'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--measurment-interval'; did you mean --measurement-interval? (inference-perf --help lists every option)\n",
    });
    expect(await captured(['--protocol=grpc'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: -m/--model-name is required (inference-perf --help lists every option)\n',
    });
  });

  it('--flag value and --flag=value alike; -h is the help grouped by topic; --version', async () => {
    expect(parsePerfArgs(['-m', 'simple', '--batch-size', '4', '--measurement-interval=500'])).toMatchObject({ batchSize: 4, measurementIntervalMs: 500 });
    expect(await captured(['-h'])).toEqual({ code: 0, stdout: PERF_USAGE, stderr: '' });
    for (const topic of ['Model and server', 'Load', 'Stateful models', 'Measurement', 'Input data', 'Output', 'General']) {
      expect(PERF_USAGE).toContain(`\n\n${topic}:\n`);
    }
    const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await captured(['--version'])).toEqual({ code: 0, stdout: `inference-perf ${version}\n`, stderr: '' });
  });
});
