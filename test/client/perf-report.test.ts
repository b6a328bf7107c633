/**
 * inference-perf's output for people: a line per window when stderr is not a terminal, the verdict on an unstable
 * level, the CSV's final newline, and the --report page, rendered in a real headless browser (Debian's chromium).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { htmlReport } from '../../client/perf/html-report';
import { main } from '../../client/perf/main';
import type { ConcurrencyResult } from '../../client/perf/profiler';
import { unstableVerdict, windowLine } from '../../client/perf/report';
import { niceTicks } from '../../client/perf/svg-chart';
import { startServer, StartedServer } from '../grpc/helpers';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((file) => fs.existsSync(file));

function result(level: number, overrides: Partial<ConcurrencyResult> = {}): ConcurrencyResult {
  const base = 1000 * level;
  return {
    concurrency: level,
    batchSize: 1,
    stable: true,
    windows: 3,
    spread: { throughput: 2, latency: 3 },
    durationMs: 1000,
    count: 300 * level,
    errors: 0,
    throughput: 100 * level,
    latency: { avg: base * 1.2, p50: base, p90: base * 2, p95: base * 3, p99: base * 5 },
    responses: 300 * level,
    delayed: 0,
    server: { queue: 10, computeInput: 20, computeInfer: 30, computeOutput: 40, requests: 300 * level },
    ...overrides,
  };
}

const SETTINGS = { model: 'simple', protocol: 'grpc', url: '127.0.0.1:8001', batchSize: 1, measurementIntervalMs: 1000, stabilityPercentage: 10, maxTrials: 10 } as const;

describe('report pieces', () => {
  test('axis ticks are round and cover the data', () => {
    expect(niceTicks(0, 93)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  test('an unstable level gets a verdict with the spread and the flags to raise; a stable one none', () => {
    expect(unstableVerdict(result(1), SETTINGS)).toBeUndefined();
    const verdict = unstableVerdict(result(4, { stable: false, windows: 10, spread: { throughput: 23.44, latency: 4 } }), SETTINGS)!;
    expect(verdict).toContain('Concurrency 4 is not stable after 10 windows (--max-trials 10)');
    expect(verdict).toContain('throughput strayed 23.4% and average latency 4.0%');
    expect(verdict).toContain('Raise --measurement-interval (now 1000 ms; try 2000)');
    expect(verdict).toContain('--max-trials (try 20)');
    expect(verdict).toContain('--stability-percentage 24 would accept this variation');
  });

  test('a window line says the level, the window and its figures', () => {
    expect(windowLine('concurrency 2', 3, 10, { throughput: 812.34, latency: { avg: 1234.4, p99: 5678.9 }, errors: 0 })).toBe(
      'concurrency 2: window 3/10: 812.3 infer/sec, latency avg 1234 usec, p99 5679 usec',
    );
  });

  test('the page is self-contained: no script, no external reference, a policy that forbids loads', () => {
    const page = htmlReport([result(1), result(2), result(4)], SETTINGS, new Date('2026-01-02T03:04:05Z'));
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(page).not.toMatch(/<script|<link|src=|url\(/i);
    expect(page.match(/<svg /g)).toHaveLength(3);
    expect(page).toContain('2026-01-02T03:04:05.000Z');
    // Model names are escaped.
    expect(htmlReport([result(1)], { ...SETTINGS, model: '<b>&' })).toContain('inference-perf: &lt;b&gt;&amp;');
  });
});

describe('the inference-perf command on a server', () => {
  let server: StartedServer;
  let dir: string;

  beforeAll(async () => {
    server = await startServer({ loadModels: ['simple'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perf-report-'));
  });

  afterAll(async () => {
    await server?.app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('stderr not a terminal: a line per window; a CSV that ends in a newline; a report', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0);
    const csv = path.join(dir, 'out.csv');
    const report = path.join(dir, 'report.html');
    try {
      // -s 0.0001 cannot be met: every level is measured for -r windows, then judged unstable.
      const args = ['-m', 'simple', '-u', `127.0.0.1:${server.grpcPort}`, '-i', 'grpc', '--concurrency-range', '1:2', '-p', '200', '-r', '3', '-s', '0.0001'];
      expect(await main([...args, '-f', csv, `--report=${report}`])).toBe(0);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    const lines = stderr.join('').split('\n');
    for (const level of [1, 2]) {
      for (const window of [1, 2, 3]) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^concurrency ${level}: window ${window}/3: [\\d.]+ infer/sec`)));
      expect(lines).toContainEqual(expect.stringContaining(`WARNING: Concurrency ${level} is not stable after 3 windows`));
    }
    expect(lines).toContain(`report: ${report}`);
    const csvText = fs.readFileSync(csv, 'utf8');
    expect(csvText.endsWith('\n')).toBe(true);
    expect(csvText.trimEnd().split('\n')).toHaveLength(3);
    const page = fs.readFileSync(report, 'utf8');
    expect(page).toContain('<td>2</td>');
  });

  (CHROMIUM ? test : test.skip)(
    `the report renders in headless chromium with data in every chart and no console message${CHROMIUM ? '' : ' (skipped: no chromium; Debian: apt-get install -y chromium)'}`,
    () => {
      const page = path.join(dir, 'rendered.html');
      fs.writeFileSync(page, htmlReport([result(1), result(2), result(4), result(8)], SETTINGS));
      const rendered = renderInChromium(page);
      expect(rendered.console).toEqual([]);
      const charts = rendered.dom.match(/<svg [^>]*class="chart"/g) ?? [];
      expect(charts).toHaveLength(3);
      const seriesPoints = [...rendered.dom.matchAll(/data-points="(\d+)"/g)].map((m) => Number(m[1]));
      // Latency vs throughput: 4 percentile series of 4 levels; percentiles: 4 levels of 4 points; throughput: 1 series of 4.
      expect(seriesPoints).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4]);
      expect((rendered.dom.match(/<circle /g) ?? []).length).toBe(36);
      expect(rendered.dom).toMatch(/<table id="results">[\s\S]*<td>8<\/td>/);
      const screenshot = path.join(dir, 'report.png');
      renderInChromium(page, [`--screenshot=${screenshot}`, '--window-size=1150,900']);
      expect(fs.readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');

      // The console check sees what it is meant to: a page loading anything is refused by the policy, loudly.
      const loading = path.join(dir, 'loading.html');
      fs.writeFileSync(loading, fs.readFileSync(page, 'utf8').replace('</body>', '<img src="http://127.0.0.1:9/x.png"></body>'));
      expect(renderInChromium(loading).console.join('\n')).toContain('Content Security Policy');
    },
  );
});

/** Loads a file in headless chromium; its DOM after load and the page's console messages (chromium's log on stderr). */
function renderInChromium(file: string, extra: string[] = []): { dom: string; console: string[] } {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  try {
    const run = spawnSync(
      CHROMIUM!,
      ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', ...(extra.length ? extra : ['--dump-dom']), `file://${file}`],
      { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    );
    if (run.status !== 0) throw new Error(`chromium exited with ${run.status}: ${run.stderr.slice(-2000)}`);
    return { dom: run.stdout, console: run.stderr.split('\n').filter((line) => /:CONSOLE/.test(line)) };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
