/** inference-perf's command line, named after perf_analyzer's flags where it has them. */
import { parseFlags, UsageError } from '../../server/command-line';
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
  /** perf_analyzer's --input-data=<file.json> (repeatable): data streams appended file after file. */
  inputDataFiles: string[];
  /** perf_analyzer's --request-rate-range: open-loop load at these rates (requests/s) instead of concurrencies. */
  requestRates?: number[];
  requestDistribution: 'constant' | 'poisson';
  /** Stateful models (sequence_batching): the sequence settings; ignored for other models. */
  sequence: SequenceOptions;
  /** gRPC ModelStreamInfer instead of ModelInfer (decoupled models need it). */
  streaming: boolean;
  /** HTTP: send tensors as JSON instead of binary. */
  httpJson: boolean;
  /** perf_analyzer's --shared-memory: tensors in system shared memory (server on this host) or in the requests. */
  sharedMemory: 'none' | 'system';
  /** Bytes of the shared memory window of each output (perf_analyzer's --output-shared-memory-size). */
  outputSharedMemorySize: number;
  csvFile?: string;
  /** --report: a self-contained HTML page with the charts. */
  reportFile?: string;
  json: boolean;
  progress: boolean;
}

export interface SequenceOptions {
  /** Base length; undefined: 20, or the length of the data stream when --input-data gives one. */
  length?: number;
  /** Lengths vary uniformly within +/- this % of the base. */
  lengthVariation: number;
  /** Correlation ids from start to end (excluded); no end: unbounded. */
  idStart: number;
  idEnd?: number;
  /** Live sequences in request-rate mode (in concurrency mode the concurrency is the number of sequences). */
  numOfSequences: number;
  /** At most one request in flight per sequence (request-rate mode; concurrency mode is always serial). */
  serial: boolean;
}

/** A command line inference-perf cannot run (one line, exit 2). */
export class PerfUsageError extends UsageError {}

export const PERF_USAGE = `Usage: inference-perf -m <model> [options]

Model and server:
  -m, --model-name <name>              Model to profile (required)
  -x, --model-version <v>              Model version (default: the served one)
  -u, --url <host:port>                Server (default localhost:8000 for http, localhost:8001 for grpc)
  -i, --protocol <http|grpc>           Protocol (default http)
      --streaming                      gRPC: send over ModelStreamInfer (needed for decoupled models)
      --http-json                      HTTP: tensors as JSON rather than the binary extension

Load:
  -b, --batch-size <n>                 Batch size of each request (default 1)
      --concurrency-range <s[:e[:st]]> Concurrencies start..end by step, as perf_analyzer (default 1)
      --concurrency-scale <linear|geometric>  Step added (linear, perf_analyzer's) or multiplied (default linear)
      --request-rate-range <s[:e[:st]]> Open-loop request rates (requests/s, decimals allowed) instead of concurrencies
      --request-distribution <constant|poisson>  Intervals between requests at a request rate (default constant)

Stateful models:
      --sequence-length <n>            Base requests per sequence (default 20, or the data stream's)
      --sequence-length-variation <pct>  Sequence lengths vary within +/- pct % (default 20)
      --sequence-id-range <s[:e]>      Correlation ids from s up to e (excluded) (default 1, unbounded)
      --num-of-sequences <n>           Live sequences at a request rate (default 4)
      --serial-sequences               At most one request in flight per sequence at a request rate

Measurement:
  -p, --measurement-interval <ms>      Length of a measurement window (default 5000)
  -s, --stability-percentage <pct>     Stability criterion across 3 windows (default 10)
  -r, --max-trials <n>                 Windows per concurrency before accepting unstable figures (default 10)

Input data:
      --shape <name:d1,d2,...>         Shape of an input with variable dimensions (repeatable)
      --input-data <random|zero|file.json>  Input values, or perf_analyzer's JSON data file (repeatable) (default random)
      --shared-memory <none|system>    Tensors in system shared memory (server on this host) (default none)
      --output-shared-memory-size <n>  Bytes reserved for each output in shared memory (default 102400)

Output:
  -f, --filename <file.csv>            Write the results as CSV
      --report <file.html>             Write a self-contained HTML page with latency and throughput charts
      --json                           Print the results as JSON on stdout instead of the table
      --no-progress                    No progress bar (or, when stderr is not a terminal, no line per window)

General:
  -h, --help                           This help
      --version                        Print the version
`;

function nonNegativeNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new PerfUsageError(`${flag} expects a non-negative number, got '${raw}'`);
  return value;
}

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

/** `start[:end[:step]]` of --request-rate-range (decimals allowed; perf_analyzer's defaults of 1.0). */
export function requestRateRange(spec: string): number[] {
  const parts = spec.split(':');
  const values = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (parts.length > 3 || values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new PerfUsageError(`--request-rate-range expects start[:end[:step]] with positive numbers, got '${spec}'`);
  }
  const [start, end = start, step = 1] = values;
  if (end < start) throw new PerfUsageError(`--request-rate-range: end ${end} is below start ${start}`);
  const levels: number[] = [];
  // Integer steps counted from start, so that 0.1 steps do not drift past end.
  for (let i = 0; start + i * step <= end + 1e-9 && levels.length < 10_000; i++) levels.push(Number((start + i * step).toFixed(9)));
  return levels;
}

/** `start[:end]` of --sequence-id-range: ids from start up to end (excluded). */
export function sequenceIdRange(spec: string): { idStart: number; idEnd?: number } {
  const parts = spec.split(':');
  const values = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (parts.length > 2 || values.some((v) => !Number.isSafeInteger(v)) || values[0] < 1) {
    throw new PerfUsageError(`--sequence-id-range expects start[:end] with positive integers, got '${spec}'`);
  }
  const [idStart, idEnd] = values;
  if (idEnd !== undefined && idEnd <= idStart) throw new PerfUsageError(`--sequence-id-range: end ${idEnd} must be above start ${idStart}`);
  return { idStart, idEnd };
}

export function parsePerfArgs(argv: readonly string[]): PerfOptions | 'help' {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseFlags([...argv], {
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
        'input-data': { type: 'string', multiple: true },
        'request-rate-range': { type: 'string' },
        'request-distribution': { type: 'string' },
        'sequence-length': { type: 'string' },
        'sequence-length-variation': { type: 'string' },
        'sequence-id-range': { type: 'string' },
        'num-of-sequences': { type: 'string' },
        'serial-sequences': { type: 'boolean' },
        streaming: { type: 'boolean' },
        'http-json': { type: 'boolean' },
        'shared-memory': { type: 'string' },
        'output-shared-memory-size': { type: 'string' },
        filename: { type: 'string', short: 'f' },
        report: { type: 'string' },
        json: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' }, // main() answers it before parsing
      }, { program: 'inference-perf' }) as typeof values;
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
  // As perf_analyzer: 'zero', 'random' or JSON files (several are appended); the last of zero/random wins.
  let inputData: 'random' | 'zero' = 'random';
  const inputDataFiles: string[] = [];
  for (const entry of (values['input-data'] as string[] | undefined) ?? []) {
    if (entry === 'random' || entry === 'zero') inputData = entry;
    else if (entry.trim() === '') throw new PerfUsageError('--input-data expects zero, random or the path of a JSON file');
    else inputDataFiles.push(entry);
  }
  const streaming = values.streaming === true;
  if (streaming && protocol !== 'grpc') throw new PerfUsageError('Streaming is only allowed with gRPC protocol.');
  const rateSpec = values['request-rate-range'] as string | undefined;
  if (rateSpec !== undefined && values['concurrency-range'] !== undefined) {
    throw new PerfUsageError('Cannot specify more than one inference load mode. Please choose only one of the following modes: --concurrency-range or --request-rate-range.');
  }
  const distribution = (values['request-distribution'] as string | undefined) ?? 'constant';
  if (distribution !== 'constant' && distribution !== 'poisson') {
    throw new PerfUsageError(`--request-distribution must be constant or poisson, got '${distribution}'`);
  }
  const sequenceLengthRaw = values['sequence-length'] as string | undefined;
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
    inputDataFiles,
    requestRates: rateSpec === undefined ? undefined : requestRateRange(rateSpec),
    requestDistribution: distribution,
    sequence: {
      length: sequenceLengthRaw === undefined ? undefined : positiveInt('--sequence-length', sequenceLengthRaw, 20),
      lengthVariation: nonNegativeNumber('--sequence-length-variation', values['sequence-length-variation'] as string | undefined, 20),
      ...sequenceIdRange((values['sequence-id-range'] as string | undefined) ?? '1'),
      numOfSequences: positiveInt('--num-of-sequences', values['num-of-sequences'] as string | undefined, 4),
      serial: values['serial-sequences'] === true,
    },
    streaming,
    httpJson: values['http-json'] === true,
    sharedMemory,
    outputSharedMemorySize: positiveInt('--output-shared-memory-size', values['output-shared-memory-size'] as string | undefined, 102400),
    csvFile: values.filename as string | undefined,
    reportFile: values.report as string | undefined,
    json: values.json === true,
    progress: values['no-progress'] !== true,
  };
}
