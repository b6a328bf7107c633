/** inference-perf's perf_analyzer flags: defaults, ranges, and the messages bad ones get (fast-check where parsed). */
import fc from 'fast-check';
import { InputDataError, parseInputData } from '../../client/perf/input-data';
import { nextInterval } from '../../client/perf/load';
import { parsePerfArgs, PerfOptions, PerfUsageError, requestRateRange, sequenceIdRange } from '../../client/perf/options';
import { SequenceIdPool, varyLength } from '../../client/perf/sequences';

const parse = (...args: string[]) => parsePerfArgs(['-m', 'x', ...args]) as PerfOptions;

describe('defaults as perf_analyzer has them', () => {
  it('sequence options, distribution, streaming', () => {
    const options = parse();
    expect(options.requestRates).toBeUndefined();
    expect(options.requestDistribution).toBe('constant');
    expect(options.sequence).toEqual({ length: undefined, lengthVariation: 20, idStart: 1, idEnd: undefined, numOfSequences: 4, serial: false });
    expect(options.streaming).toBe(false);
    expect(options.inputDataFiles).toEqual([]);
  });

  it('parses the new flags', () => {
    const options = parse('-i', 'grpc', '--request-rate-range', '10:20:5', '--request-distribution', 'poisson', '--sequence-length', '7', '--sequence-length-variation', '0',
      '--sequence-id-range', '5:9', '--num-of-sequences', '2', '--serial-sequences', '--streaming', '--input-data', 'a.json', '--input-data', 'b.json', '--input-data', 'zero');
    expect(options).toMatchObject({ requestRates: [10, 15, 20], requestDistribution: 'poisson', streaming: true, inputData: 'zero', inputDataFiles: ['a.json', 'b.json'] });
    expect(options.sequence).toEqual({ length: 7, lengthVariation: 0, idStart: 5, idEnd: 9, numOfSequences: 2, serial: true });
  });

  it('request rate ranges take decimals, end and step default as perf_analyzer', () => {
    expect(requestRateRange('5')).toEqual([5]);
    expect(requestRateRange('0.5:1.5:0.5')).toEqual([0.5, 1, 1.5]);
    expect(requestRateRange('1:3')).toEqual([1, 2, 3]);
    expect(sequenceIdRange('7')).toEqual({ idStart: 7, idEnd: undefined });
  });
});

describe('bad flags', () => {
  it.each([
    [['-i', 'http', '--streaming'], 'Streaming is only allowed with gRPC protocol.'],
    [['--streaming'], 'Streaming is only allowed with gRPC protocol.'],
    [['--request-rate-range', '10', '--concurrency-range', '2'], 'Cannot specify more than one inference load mode'],
    [['--request-distribution', 'uniform'], "--request-distribution must be constant or poisson, got 'uniform'"],
    [['--request-rate-range', '0'], '--request-rate-range expects start[:end[:step]] with positive numbers'],
    [['--request-rate-range', '5:1'], '--request-rate-range: end 1 is below start 5'],
    [['--sequence-id-range', '0:5'], '--sequence-id-range expects start[:end] with positive integers'],
    [['--sequence-id-range', '5:5'], '--sequence-id-range: end 5 must be above start 5'],
    [['--sequence-length', '0'], "--sequence-length expects a positive integer, got '0'"],
    [['--sequence-length-variation=-1'], "--sequence-length-variation expects a non-negative number, got '-1'"],
    [['--num-of-sequences', 'x'], "--num-of-sequences expects a positive integer, got 'x'"],
  ])('%j: %s', (args, message) => {
    expect(() => parse(...args)).toThrow(PerfUsageError);
    expect(() => parse(...args)).toThrow(message);
  });

  it('range specs: any string parses to an ascending positive list or fails with a usage error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9.:-]{0,12}$/)), (spec) => {
        for (const parseRange of [requestRateRange, (s: string) => [sequenceIdRange(s).idStart]]) {
          try {
            const values = parseRange(spec);
            expect(values.length).toBeGreaterThan(0);
            values.forEach((v, i) => {
              expect(v).toBeGreaterThan(0);
              if (i > 0) expect(v).toBeGreaterThan(values[i - 1]);
            });
          } catch (error) {
            expect(error).toBeInstanceOf(PerfUsageError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('input data documents: any JSON gives streams of steps or an InputDataError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ data: fc.array(fc.oneof(fc.jsonValue(), fc.array(fc.dictionary(fc.string(), fc.jsonValue())))) })), (document) => {
        try {
          const streams = parseInputData(document);
          expect(streams.length).toBeGreaterThan(0);
          for (const stream of streams) expect(stream.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(InputDataError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('schedules and sequences', () => {
  it('constant intervals are 1/rate; Poisson ones are positive with that mean', () => {
    expect(nextInterval(200, 'constant')).toBe(5);
    fc.assert(fc.property(fc.double({ min: 0, max: 0.999999, noNaN: true }), (u) => nextInterval(100, 'poisson', () => u) >= 0));
    expect(nextInterval(100, 'poisson', () => 1 - Math.exp(-1))).toBeCloseTo(10);
  });

  it('lengths stay within the variation and at least 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (base, variation, u) => {
        const length = varyLength(base, variation, () => u);
        expect(length).toBeGreaterThanOrEqual(Math.max(1, Math.floor(base * (1 - variation / 100))));
        expect(length).toBeLessThanOrEqual(Math.ceil(base * (1 + variation / 100)));
      }),
    );
  });

  it('ids run from start and wrap before end', () => {
    const pool = new SequenceIdPool({ idStart: 3, idEnd: 6 });
    expect(Array.from({ length: 7 }, () => pool.take())).toEqual([3, 4, 5, 3, 4, 5, 3]);
    expect(pool.capacity).toBe(3);
    expect(new SequenceIdPool({ idStart: 1 }).capacity).toBe(Infinity);
  });
});
