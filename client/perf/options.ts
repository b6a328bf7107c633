/** inference-perf's command line, named after perf_analyzer's flags where it has them. */
import { parseArgs } from 'node:util';
import type { Protocol } from '../client';

export interface PerfOptions {
  model: string;
  version?: string;
  url: string;
  protocol: Protocol;
  concurrency: number[];
  /** Milliseconds per measurement window. */
  measurementIntervalMs: number;
  /** Windows are stable when throughput and latency of the last 3 are within this % of their mean. */
  stabilityPercentage: number;
  /** Windows measured per concurrency before giving up on stability. */
  maxTrials: number;
  batchSize: number;
  /** Shapes for variable dimensions, by input name (without the batch dimension). */
  shapes: Map<string, number[]>;
  inputData: 'random' | 'zero';
  /** HTTP: send tensors as JSON instead of binary. */
  httpJson: boolean;
  /** perf_analyzer's --shared-memory: tensors in system shared memory (server on this host) or in the requests. */
  sharedMemory: 'none' | 'system';
  /** Bytes of the shared memory window of each output (perf_analyzer's --output-shared-memory-size). */
  outputSharedMemorySize: number;
  csvFile?: string;
  json: boolean;
  progress: boolean;
}

export class PerfUsageError extends Error {}

export const PERF_USAGE = `Usage: inference-perf -m <model> [options]

  -m, --model-name <name>              Model to profile (required)
  -x, --model-version <v>              Model version (default: the served one)
  -u, --url <host:port>                Server (default localhost:8000 for http, localhost:8001 for grpc)
  -i, --protocol <http|grpc>           Protocol (default http)
  -b, --batch-size <n>                 Batch size of each request (default 1)
      --concurrency-range <s[:e[:st]]> Concurrencies start..end by step, as perf_analyzer (default 1)
      --concurrency-scale <linear|geometric>  Step added (linear, perf_analyzer's) or multiplied (default linear)
  -p, --measurement-interval <ms>      Length of a measurement window (default 5000)
  -s, --stability-percentage <pct>     Stability criterion across 3 windows (default 10)
  -r, --max-trials <n>                 Windows per concurrency before accepting unstable figures (default 10)
      --shape <name:d1,d2,...>         Shape of an input with variable dimensions (repeatable)
      --input-data <random|zero>       Input values (default random)
      --http-json                      HTTP: tensors as JSON rather than the binary extension
      --shared-memory <none|system>    Tensors in system shared memory (server on this host) (default none)
      --output-shared-memory-size <n>  Bytes reserved for each output in shared memory (default 102400)
  -f, --filename <file.csv>            Write the results as CSV
      --json                           Print the results as JSON on stdout instead of the table
      --no-progress                    No progress bar
  -h, --help                           This help
`;

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new PerfUsageError(`${flag} expects a positive integer, got '${raw}'`);
  return value;
}

/** `start[:end[:step]]` → the concurrencies, linear (perf_analyzer) or geometric. */
export function concurrencyRange(spec: string, scale: 'linear' | 'geometric' = 'linear'): number[] {
  const parts = spec.split(':').map((p) => Number(p));
  if (parts.length > 3 || parts.some((p) => !Number.isSafeInteger(p) || p < 1)) {
    throw new PerfUsageError(`--concurrency-range expects start[:end[:step]] with positive integers, got '${spec}'`);
  }
  const [start, end = start, step = 1] = parts;
  if (end < start) throw new PerfUsageError(`--concurrency-range: end ${end} is below start ${start}`);
  if (scale === 'geometric' && step < 2) throw new PerfUsageError('--concurrency-scale=geometric needs a step of at least 2');
  const levels: number[] = [];
  for (let c = start; c <= end; c = scale === 'linear' ? c + step : c * step) levels.push(c);
  return levels;
}

export function parsePerfArgs(argv: readonly string[]): PerfOptions | 'help' {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'model-name': { type: 'string', short: 'm' },
        'model-version': { type: 'string', short: 'x' },
        url: { type: 'string', short: 'u' },
        protocol: { type: 'string', short: 'i' },
        'batch-size': { type: 'string', short: 'b' },
        'concurrency-range': { type: 'string' },
        'concurrency-scale': { type: 'string' },
        'measurement-interval': { type: 'string', short: 'p' },
        'stability-percentage': { type: 'string', short: 's' },
        'max-trials': { type: 'string', short: 'r' },
        shape: { type: 'string', multiple: true },
        'input-data': { type: 'string' },
        'http-json': { type: 'boolean' },
        'shared-memory': { type: 'string' },
        'output-shared-memory-size': { type: 'string' },
        filename: { type: 'string', short: 'f' },
        json: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values as typeof values;
  } catch (error) {
    throw new PerfUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const model = values['model-name'] as string | undefined;
  if (!model) throw new PerfUsageError('-m/--model-name is required');
  const protocol = ((values.protocol as string | undefined) ?? 'http').toLowerCase();
  if (protocol !== 'http' && protocol !== 'grpc') throw new PerfUsageError(`-i/--protocol must be http or grpc, got '${protocol}'`);
  const scale = (values['concurrency-scale'] as string | undefined) ?? 'linear';
  if (scale !== 'linear' && scale !== 'geometric') throw new PerfUsageError('--concurrency-scale must be linear or geometric');
  const inputData = (values['input-data'] as string | undefined) ?? 'random';
  if (inputData !== 'random' && inputData !== 'zero') throw new PerfUsageError('--input-data must be random or zero');
  const sharedMemory = (values['shared-memory'] as string | undefined) ?? 'none';
  if (sharedMemory === 'cuda') throw new PerfUsageError('--shared-memory=cuda is not supported: the server has no CUDA shared memory');
  if (sharedMemory !== 'none' && sharedMemory !== 'system') throw new PerfUsageError('--shared-memory must be none or system');
  const stabilityRaw = (values['stability-percentage'] as string | undefined) ?? '10';
  const stability = Number(stabilityRaw);
  if (!(stability > 0)) throw new PerfUsageError(`--stability-percentage expects a positive number, got '${stabilityRaw}'`);

  const shapes = new Map<string, number[]>();
  for (const entry of (values.shape as string[] | undefined) ?? []) {
    const match = /^(.+):(\d+(?:,\d+)*)$/.exec(entry);
    if (!match) throw new PerfUsageError(`--shape expects <name>:<d1>,<d2>,..., got '${entry}'`);
    shapes.set(match[1], match[2].split(',').map(Number));
  }

  return {
    model,
    version: values['model-version'] as string | undefined,
    url: (values.url as string | undefined) ?? (protocol === 'grpc' ? 'localhost:8001' : 'localhost:8000'),
    protocol,
    concurrency: concurrencyRange((values['concurrency-range'] as string | undefined) ?? '1', scale),
    measurementIntervalMs: positiveInt('--measurement-interval', values['measurement-interval'] as string | undefined, 5000),
    stabilityPercentage: stability,
    maxTrials: positiveInt('--max-trials', values['max-trials'] as string | undefined, 10),
    batchSize: positiveInt('--batch-size', values['batch-size'] as string | undefined, 1),
    shapes,
    inputData,
    httpJson: values['http-json'] === true,
    sharedMemory,
    outputSharedMemorySize: positiveInt('--output-shared-memory-size', values['output-shared-memory-size'] as string | undefined, 102400),
    csvFile: values.filename as string | undefined,
    json: values.json === true,
    progress: values['no-progress'] !== true,
  };
}
