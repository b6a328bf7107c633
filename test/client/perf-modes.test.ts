/**
 * inference-perf's perf_analyzer modes against a real server on loopback: request rates, stateful sequences,
 * --input-data JSON files, --streaming. Short windows, no timing thresholds: the server's own view of the requests
 * (its facade, observed with a pass-through spy) shows the flags, correlation ids and data that were sent.
 */
import { BytesData } from '../../server/core/bytes-data';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../client/perf/main';
import { parsePerfArgs, PerfOptions } from '../../client/perf/options';
import { runProfile } from '../../client/perf/profiler';
import { delayedWarning, summaryTable, toCsv } from '../../client/perf/report';
import type { InferRequest } from '../../server/core/types';
import { startServer, StartedServer } from '../grpc/helpers';

let server: StartedServer;
let dir: string;

beforeAll(async () => {
  server = await startServer({ loadModels: ['simple', 'string_upper', 'sequence_accumulate'] });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perf-modes-'));
});

afterAll(async () => {
  await server?.app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const url = (protocol: 'http' | 'grpc') => `127.0.0.1:${protocol === 'grpc' ? server.grpcPort : server.httpPort}`;

function options(protocol: 'http' | 'grpc', ...args: string[]): PerfOptions {
  const parsed = parsePerfArgs(['-i', protocol, '-u', url(protocol), '-p', '250', '-r', '1', ...args]);
  if (parsed === 'help') throw new Error('help');
  return parsed;
}

/** Every request the server's facade received while `run` ran (pass-through spies: the real path still runs). */
async function observed(run: () => Promise<unknown>): Promise<InferRequest[]> {
  const infer = jest.spyOn(server.app.service, 'infer');
  const stream = jest.spyOn(server.app.service, 'inferStream');
  try {
    await run();
    return [...infer.mock.calls.map((call) => call[0]), ...stream.mock.calls.map((call) => call[0])];
  } finally {
    infer.mockRestore();
    stream.mockRestore();
  }
}

function int32s(request: InferRequest, name: string): number[] {
  const input = request.inputs.find((i) => i.name === name) as { data: Int32Array } | undefined;
  return Array.from(input!.data);
}

interface Run {
  id: number;
  flags: { start: boolean; end: boolean }[];
  values: number[];
}

/** The requests of a stateful model cut into sequences: per correlation id, a new run at each START. */
function sequencesOf(requests: InferRequest[]): Run[] {
  const runs: Run[] = [];
  const open = new Map<number, Run>();
  for (const request of requests.filter((r) => r.model === 'sequence_accumulate')) {
    const id = Number(request.parameters?.sequence_id);
    const start = request.parameters?.sequence_start === true;
    const end = request.parameters?.sequence_end === true;
    let run = open.get(id);
    if (start || !run) {
      run = { id, flags: [], values: [] };
      runs.push(run);
      open.set(id, run);
    }
    run.flags.push({ start, end });
    run.values.push(...int32s(request, 'INPUT'));
    if (end) open.delete(id);
  }
  return runs;
}

function writeJson(name: string, document: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(document));
  return file;
}

describe('--request-rate-range', () => {
  it.each(['grpc', 'http'] as const)('measures each rate over %s and reports "Request Rate" rows', async (protocol) => {
    for (const distribution of ['constant', 'poisson']) {
      // 1 s windows: at 20/s a Poisson schedule leaves a 250 ms window empty with probability e^-5 (0.7%), and a
      // starved event loop makes that likelier; in 1 s, e^-20. Each level must still complete a request.
      const rates = ['--request-rate-range', '20:40:20', '--request-distribution', distribution, '-p', '1000'];
      const results = await runProfile(options(protocol, '-m', 'simple', ...rates));
      expect(results.map((r) => r.requestRate)).toEqual([20, 40]);
      for (const r of results) {
        expect(r.concurrency).toBeUndefined();
        expect(r.count).toBeGreaterThan(0);
        expect(r.errors).toBe(0);
      }
      const csv = toCsv(results).trim().split('\n');
      expect(csv[0].startsWith('Request Rate,Inferences/Second,Server Queue')).toBe(true);
      expect(csv.slice(1).map((row) => row.split(',')[0])).toEqual(['20', '40']);
      expect(summaryTable(results).split('\n')[0]).toMatch(/^\s*Request Rate\s+Infer\/s/);
    }
  });

  it('counts requests a serial sequence held back as delayed, and warns as perf_analyzer does', async () => {
    // One serial sequence at 100000 requests/s: each request waits for the one before, so the schedule slips.
    const args = ['-m', 'sequence_accumulate', '--request-rate-range', '100000', '--num-of-sequences', '1', '--serial-sequences', '--sequence-length', '4'];
    const requests = await observed(async () => {
      const [result] = await runProfile(options('grpc', ...args));
      expect(result.errors).toBe(0);
      expect(result.delayed).toBeGreaterThan(0);
      expect(delayedWarning(result)).toMatch(/^WARNING: inference-perf is unable to keep up with the desired request rate\. [\d.]+% of the requests were delayed\.$/);
    });
    // One sequence live at a time: a new id starts only after the previous sequence ended.
    const runs = sequencesOf(requests);
    for (const run of runs.slice(0, -1)) expect(run.flags.at(-1)!.end).toBe(true);
    const errors: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    });
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['-i', 'grpc', '-u', url('grpc'), '-p', '200', '-r', '1', '--no-progress', ...args])).toBe(0);
    } finally {
      spy.mockRestore();
      out.mockRestore();
    }
    expect(errors.join('')).toMatch(/unable to keep up with the desired request rate\. [\d.]+% of the requests were delayed\./);
  });

  it('plays --num-of-sequences sequences at a rate, each well formed', async () => {
    const requests = await observed(async () => {
      const [result] = await runProfile(
        options('http', '-m', 'sequence_accumulate', '--request-rate-range', '200', '--num-of-sequences', '3', '--serial-sequences', '--sequence-length', '3', '--sequence-length-variation', '0', '--sequence-id-range', '500'),
      );
      expect(result.errors).toBe(0);
      expect(result.sequences).toBeGreaterThan(0);
    });
    const runs = sequencesOf(requests);
    expect(runs.length).toBeGreaterThan(3);
    for (const run of runs) {
      expect(run.id).toBeGreaterThanOrEqual(500);
      expect(run.flags[0].start).toBe(true);
      expect(run.flags.length).toBeLessThanOrEqual(3);
      if (run.flags.length === 3) expect(run.flags.map((f) => f.end)).toEqual([false, false, true]);
    }
  });
});

describe('stateful models in concurrency mode', () => {
  it('a sequence open at the end of one concurrency level goes on in the next (no sequence left to the idle timeout)', async () => {
    const requests = await observed(async () => {
      const results = await runProfile(
        options('grpc', '-m', 'sequence_accumulate', '--concurrency-range', '1:2', '--sequence-length', '100000', '--sequence-length-variation', '0'),
      );
      expect(results.map((r) => r.errors)).toEqual([0, 0]);
    });
    // Sequences this long never end within the run: one opened at concurrency 1, one more at 2 (plus the warm-up's).
    const starts = requests.filter((r) => r.model === 'sequence_accumulate' && r.parameters?.sequence_start === true && r.parameters?.sequence_end !== true);
    expect(starts.length).toBe(2);
  });

  it.each(['grpc', 'http'] as const)('sends START/END and correlation ids from --sequence-id-range over %s; concurrency counts sequences', async (protocol) => {
    const requests = await observed(async () => {
      const [result] = await runProfile(
        options(protocol, '-m', 'sequence_accumulate', '--concurrency-range', '2', '--sequence-length', '3', '--sequence-length-variation', '0', '--sequence-id-range', '100:104'),
      );
      expect(result.errors).toBe(0);
      expect(result.count).toBeGreaterThan(0);
      expect(result.sequences).toBeGreaterThan(0);
    });
    const runs = sequencesOf(requests);
    expect(runs.length).toBeGreaterThan(2);
    for (const run of runs) {
      expect(run.id).toBeGreaterThanOrEqual(100);
      expect(run.id).toBeLessThan(104);
      expect(run.flags[0].start).toBe(true);
      if (run.flags.length === 3) expect(run.flags).toEqual([{ start: true, end: false }, { start: false, end: false }, { start: false, end: true }]);
      else expect(run.flags.length).toBeLessThan(3); // the warm-up sequence of one, or one cut off by the end of the run
    }
    expect(runs.filter((run) => run.flags.length === 3).length).toBeGreaterThan(0);
    // Two sequences at a time: never more than two ids open together.
    const open = new Set<number>();
    let most = 0;
    for (const request of requests.filter((r) => r.model === 'sequence_accumulate')) {
      const id = Number(request.parameters?.sequence_id);
      open.add(id);
      most = Math.max(most, open.size);
      if (request.parameters?.sequence_end === true) open.delete(id);
    }
    expect(most).toBeLessThanOrEqual(2);
  });

  it('plays --input-data streams back on one correlation id each, lengths from the streams', async () => {
    const file = writeJson('streams.json', { data: [[{ INPUT: [1] }, { INPUT: [2] }, { INPUT: [3] }], [{ INPUT: [10] }, { INPUT: [20] }]] });
    const requests = await observed(async () => {
      // A 1 s window: a loaded machine must still play both streams (the order is what is checked, not the rate).
      const [result] = await runProfile(options('grpc', '-m', 'sequence_accumulate', '--concurrency-range', '1', '--input-data', file, '-p', '1000'));
      expect(result.errors).toBe(0);
    });
    const runs = sequencesOf(requests).slice(1); // after the warm-up sequence of one
    expect(runs.length).toBeGreaterThanOrEqual(2);
    runs.forEach((run, i) => {
      const expected = i % 2 === 0 ? [1, 2, 3] : [10, 20];
      expect(run.values).toEqual(expected.slice(0, run.values.length));
      if (run.values.length === expected.length) expect(run.flags.at(-1)!.end).toBe(true);
    });
  });

  it('refuses an id range smaller than the live sequences', async () => {
    await expect(runProfile(options('grpc', '-m', 'sequence_accumulate', '--concurrency-range', '3', '--sequence-id-range', '1:3'))).rejects.toThrow(
      '--sequence-id-range holds 2 ids, fewer than the 3 sequences live at once',
    );
  });
});

describe('--input-data JSON files', () => {
  const range = Array.from({ length: 16 }, (_, i) => i);
  const b64 = (values: number[]) => ({ b64: Buffer.from(Int32Array.from(values).buffer).toString('base64') });

  it('sends the file\'s entries round-robin: flat arrays, b64 and content+shape', async () => {
    const file = writeJson('simple.json', {
      data: [
        { INPUT0: range, INPUT1: b64(new Array<number>(16).fill(1)) },
        { INPUT0: { content: range.map((v) => v * 2), shape: [16] }, INPUT1: new Array<number>(16).fill(7) },
      ],
    });
    const requests = await observed(async () => {
      const [result] = await runProfile(options('http', '-m', 'simple', '--input-data', file));
      expect(result.errors).toBe(0);
    });
    const simple = requests.filter((r) => r.model === 'simple');
    expect(simple.length).toBeGreaterThan(2);
    simple.forEach((request, i) => {
      expect(request.inputs.find((t) => t.name === 'INPUT0')!.shape).toEqual([1, 16]);
      expect(int32s(request, 'INPUT0')).toEqual(i % 2 === 0 ? range : range.map((v) => v * 2));
      expect(int32s(request, 'INPUT1')).toEqual(new Array<number>(16).fill(i % 2 === 0 ? 1 : 7));
    });
  });

  it('BYTES from strings and from length-prefixed b64, with shapes for the variable dimension', async () => {
    const prefixed = Buffer.concat(['ab', 'cde'].map((s) => Buffer.concat([Buffer.from([s.length, 0, 0, 0]), Buffer.from(s)])));
    const file = writeJson('strings.json', {
      data: [{ INPUT0: ['x', 'y', 'z'] }, { INPUT0: { content: { b64: prefixed.toString('base64') }, shape: [2] } }],
    });
    const requests = await observed(async () => {
      const [result] = await runProfile(options('grpc', '-m', 'string_upper', '--input-data', file));
      expect(result.errors).toBe(0);
    });
    const sent = requests.filter((r) => r.model === 'string_upper').map((r) => ((r.inputs[0] as { data: BytesData }).data.toStrings()));
    expect(sent.slice(0, 4)).toEqual([['x', 'y', 'z'], ['ab', 'cde'], ['x', 'y', 'z'], ['ab', 'cde']]);
  });

  it.each([
    [{ data: [{ INPUT0: new Array<number>(16).fill(0) }] }, "input data has no data for input 'INPUT1'"],
    [{ data: [{ INPUT0: [1, 2], INPUT1: [1, 2] }] }, "input 'INPUT0': the data has 2 elements, shape [16] needs 16"],
    [{ data: [{ INPUT0: [], INPUT1: [], EXTRA: [1] }] }, "input data names 'EXTRA', which is not an input of model 'simple'"],
    [{ data: [] }, '"data" is empty'],
    [{ rows: [] }, 'expected {"data": [...]}'],
  ])('refuses a bad file before profiling: %j', async (document, message) => {
    const file = writeJson('bad.json', document);
    await expect(runProfile(options('grpc', '-m', 'simple', '--input-data', file))).rejects.toThrow(message);
  });

  it('names a file it cannot read or parse', async () => {
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"data": [');
    await expect(runProfile(options('grpc', '-m', 'simple', '--input-data', broken))).rejects.toThrow(`failed to parse input data file '${broken}'`);
    await expect(runProfile(options('grpc', '-m', 'simple', '--input-data', path.join(dir, 'missing.json')))).rejects.toThrow('failed to read input data file');
  });
});

describe('--streaming', () => {
  it('sends every request on ModelStreamInfer and reports responses and first-response latency', async () => {
    const requests = await observed(async () => {
      const [result] = await runProfile(options('grpc', '-m', 'simple', '--streaming'));
      expect(result.errors).toBe(0);
      expect(result.responses).toBe(result.count);
      expect(result.firstResponseLatency).toBeDefined();
      expect(result.firstResponseLatency!.p50).toBeGreaterThan(0);
    });
    // The streamed requests reach the facade's streaming path, not its unary one.
    expect(requests.filter((r) => r.model === 'simple').length).toBeGreaterThan(0);
  });

  it('streams a stateful model with its flags', async () => {
    const requests = await observed(async () => {
      const [result] = await runProfile(options('grpc', '-m', 'sequence_accumulate', '--streaming', '--sequence-length', '2', '--sequence-length-variation', '0'));
      expect(result.errors).toBe(0);
    });
    const runs = sequencesOf(requests).filter((run) => run.flags.length === 2);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run.flags).toEqual([{ start: true, end: false }, { start: false, end: true }]);
  });
});
