import * as fc from 'fast-check';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_LATENCY_BUCKETS_MS,
  EnergyIntegrator,
  MetricsConfigError,
  NVIDIA_SMI_ARGS,
  cpuUtilization,
  parseMeminfo,
  parseMetricsConfig,
  parseNvidiaSmiCsv,
  parseProcStat,
  visibleGpus,
} from '../../server/metrics';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');
const MIB = 1024 * 1024;

describe('nvidia-smi CSV (recorded outputs)', () => {
  it('asks for the fields the parser expects, without header or units', () => {
    expect(NVIDIA_SMI_ARGS).toEqual([
      '--query-gpu=index,uuid,utilization.gpu,memory.total,memory.used,power.draw,power.limit',
      '--format=csv,noheader,nounits',
    ]);
  });

  it('parses an H100 80GB', () => {
    expect(parseNvidiaSmiCsv(fixture('nvidia-smi-h100.csv'))).toEqual([
      {
        index: 0,
        uuid: 'GPU-8a1c4f7e-2b3d-4e5f-9a6b-7c8d9e0f1a2b',
        utilization: 0.87,
        memoryTotalBytes: 81559 * MIB,
        memoryUsedBytes: 40213 * MIB,
        powerWatts: 512.34,
        powerLimitWatts: 700,
      },
    ]);
  });

  it('parses two T4s, one idle', () => {
    const gpus = parseNvidiaSmiCsv(fixture('nvidia-smi-2xt4.csv'));
    expect(gpus.map((g) => g.uuid)).toEqual([
      'GPU-3b6f7a2c-1d4e-5f60-8a9b-0c1d2e3f4a5b',
      'GPU-c4d5e6f7-0819-2a3b-4c5d-6e7f8091a2b3',
    ]);
    expect(gpus[0]).toMatchObject({ index: 0, utilization: 0.42, memoryTotalBytes: 15360 * MIB, powerWatts: 35.12, powerLimitWatts: 70 });
    expect(gpus[1]).toMatchObject({ index: 1, utilization: 0, memoryUsedBytes: 0, powerWatts: 9.84 });
  });

  it('leaves out [N/A] utilization (MIG mode) and keeps the rest', () => {
    const [gpu] = parseNvidiaSmiCsv(fixture('nvidia-smi-h100-mig.csv'));
    expect(gpu.utilization).toBeUndefined();
    expect(gpu).toMatchObject({ memoryTotalBytes: 81559 * MIB, memoryUsedBytes: 11 * MIB, powerWatts: 71.93, powerLimitWatts: 700 });
  });

  it('leaves out [N/A], [Not Supported] and [Unknown Error] fields (vGPU)', () => {
    const gpus = parseNvidiaSmiCsv(fixture('nvidia-smi-vgpu-na.csv'));
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toEqual({
      index: 0,
      uuid: 'GPU-0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011',
      utilization: 0.05,
      memoryTotalBytes: 23034 * MIB,
      memoryUsedBytes: 1023 * MIB,
    });
    expect(gpus[1]).toEqual({ index: 1, uuid: 'GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809', memoryTotalBytes: 23034 * MIB });
  });

  it('finds no GPU in "No devices were found", empty output or a header line', () => {
    expect(parseNvidiaSmiCsv(fixture('nvidia-smi-no-devices.txt'))).toEqual([]);
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(
      parseNvidiaSmiCsv('index, uuid, utilization.gpu [%], memory.total [MiB], memory.used [MiB], power.draw [W], power.limit [W]\n'),
    ).toEqual([]);
  });

  it('tolerates units and CRLF line ends', () => {
    const [gpu] = parseNvidiaSmiCsv('0, GPU-8a1c4f7e-2b3d-4e5f-9a6b-7c8d9e0f1a2b, 87 %, 81559 MiB, 40213 MiB, 512.34 W, 700.00 W\r\n');
    expect(gpu).toMatchObject({ utilization: 0.87, memoryTotalBytes: 81559 * MIB, powerWatts: 512.34 });
  });

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (text) => Array.isArray(parseNvidiaSmiCsv(text))));
  });

  it('keeps the GPUs CUDA_VISIBLE_DEVICES names, in its order', () => {
    const gpus = parseNvidiaSmiCsv(fixture('nvidia-smi-2xt4.csv'));
    const uuids = (v: string | undefined) => visibleGpus(gpus, v).map((g) => g.index);
    expect(uuids(undefined)).toEqual([0, 1]);
    expect(uuids('all')).toEqual([0, 1]);
    expect(uuids('1')).toEqual([1]);
    expect(uuids('1,0')).toEqual([1, 0]);
    expect(uuids('GPU-c4d5e6f7')).toEqual([1]);
    expect(uuids('c4d5e6f7')).toEqual([1]);
    expect(uuids('')).toEqual([]);
    expect(uuids('7,0')).toEqual([]); // CUDA stops at the first invalid entry
  });
});

describe('energy integration', () => {
  it('adds trapezoids of power between readings, per GPU', () => {
    const energy = new EnergyIntegrator();
    expect(energy.add('a', 100, 0)).toBe(0);
    expect(energy.add('a', 300, 2000)).toBe(400); // (100 + 300) / 2 W × 2 s
    expect(energy.add('b', 50, 2000)).toBe(0);
    expect(energy.add('a', 300, 3000)).toBe(300);
    expect(energy.add('a', 300, 3000)).toBe(0); // no time passed
  });
});

describe('/proc parsers (recorded)', () => {
  it('reads the aggregate cpu line of /proc/stat', () => {
    expect(parseProcStat(fixture('proc-stat-1.txt'))).toEqual({ busy: 76113 + 9870 + 1021 + 25, idle: 214025 + 240 });
    expect(parseProcStat('intr 1 2 3\n')).toBeUndefined();
    expect(parseProcStat('cpu  a b c d\n')).toBeUndefined();
  });

  it('computes utilization between two readings', () => {
    const a = parseProcStat(fixture('proc-stat-1.txt'))!;
    const b = parseProcStat(fixture('proc-stat-2.txt'))!;
    expect(cpuUtilization(a, b)).toBeCloseTo(400 / 804, 10);
    expect(cpuUtilization(a, a)).toBe(0);
  });

  it('keeps utilization within [0, 1] for any readings', () => {
    const times = fc.record({ busy: fc.nat(), idle: fc.nat() });
    fc.assert(
      fc.property(times, times, (a, b) => {
        const u = cpuUtilization(a, b);
        return u >= 0 && u <= 1;
      }),
    );
  });

  it('reads /proc/meminfo: used = MemTotal − MemAvailable', () => {
    expect(parseMeminfo(fixture('meminfo.txt'))).toEqual({
      totalBytes: 24683656 * 1024,
      usedBytes: (24683656 - 23779788) * 1024,
    });
  });

  it('falls back to MemFree + Buffers + Cached without MemAvailable', () => {
    expect(parseMeminfo(fixture('meminfo-old-kernel.txt'))).toEqual({
      totalBytes: 2048000 * 1024,
      usedBytes: (2048000 - 512000 - 128000 - 256000) * 1024,
    });
    expect(parseMeminfo('nothing here')).toBeUndefined();
  });
});

describe('--metrics-config', () => {
  it('defaults to counters and histograms on, default buckets', () => {
    expect(parseMetricsConfig([])).toEqual({
      counterLatencies: true,
      histogramLatencies: true,
      buckets: { request: DEFAULT_LATENCY_BUCKETS_MS, queue: DEFAULT_LATENCY_BUCKETS_MS, computeInfer: DEFAULT_LATENCY_BUCKETS_MS },
    });
  });

  it("reads Triton's switches and our buckets", () => {
    const config = parseMetricsConfig([
      'counter_latencies=false',
      'histogram_latencies=true',
      'histogram_buckets=1,10,100',
      'queue_histogram_buckets="0.1,0.5,+Inf"',
      'summary_latencies=true', // accepted, ignored
    ]);
    expect(config).toEqual({
      counterLatencies: false,
      histogramLatencies: true,
      buckets: { request: [1, 10, 100], queue: [0.1, 0.5], computeInfer: [1, 10, 100] },
    });
  });

  it.each([
    ['histogram_latencies=maybe'],
    ['histogram_buckets=5,1'],
    ['histogram_buckets=1,1'],
    ['histogram_buckets=a,b'],
    ['histogram_buckets='],
    ['nonsense=1'],
    ['no-equals-sign'],
  ])('rejects %s', (entry) => {
    expect(() => parseMetricsConfig([entry])).toThrow(MetricsConfigError);
  });
});
