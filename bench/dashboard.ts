/**
 * Renders the Grafana dashboard's panels to PNGs in docs/images/ from real data: `npm run docs:dashboard`.
 *
 * 1. Two servers (pods `inference-server-0` and `-1`) on 127.0.0.1 serve `mlp` with dynamic batching and `simple`.
 * 2. Prometheus (Debian's `prometheus`) scrapes both /metrics every second, labelling each target with its pod, as
 *    GKE's PodMonitoring does.
 * 3. Load in phases (autocannon children, 2 → 32 connections per server) plus a trickle of malformed requests, so the
 *    failure, batching, latency and pending panels move.
 * 4. Every panel query of the Grafana dashboard (its exact PromQL, `$model`/`$pod` = All) runs through Prometheus'
 *    query_range API; the results are drawn as SVG (bench/lib/svg-chart.ts) into one HTML page per dashboard row.
 * 5. Chromium (Debian's `chromium`) screenshots each page headless.
 *
 * Needs: `apt-get install -y prometheus chromium`. Options: --phase-seconds=20 --out=docs/images --keep (keep the
 * scratch folder with the HTML and Prometheus' data). Everything listens on 127.0.0.1 only.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DASHBOARD_ROWS, fillQuery, PanelDefinition, PanelRow } from '../constructs/dashboards/panels';
import { benchArgs } from './lib/args';
import { runLoad } from './lib/loadgen';
import { describeMachine, machineInfo } from './lib/machine';
import { mlpJsonRequest, scratchRepository } from './lib/mlp';
import { benchPaths, freePort, HOST, httpRequest, requireBuilt, ServerChild, startServerChild } from './lib/processes';
import { simpleJsonRequest } from './lib/simple-requests';
import { ChartSeries, svgChart } from './lib/svg-chart';

const PODS = ['inference-server-0', 'inference-server-1'] as const;
/** Connections per phase on each server: idle-ish, ramp, saturate, shift the load to the other pod. */
const PHASES: ReadonlyArray<readonly [number, number]> = [[2, 1], [8, 4], [32, 16], [4, 32]];
/** The window rate() uses in the renders: Grafana's $__rate_interval for a 1 s scrape is 4 s; 10 s draws smoother lines. */
const RATE_WINDOW = '10s';
const STEP_SECONDS = 2;
const PANEL = { width: 640, height: 300 } as const;

interface Options { phaseSeconds: number; out: string; keep: boolean }

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { phaseSeconds: 20, out: 'docs/images', keep: false };
  for (const arg of benchArgs(argv, { positive: true })) {
    if (arg.key === 'phase-seconds') options.phaseSeconds = arg.number();
    else if (arg.key === 'out') options.out = arg.value;
    else if (arg.key === 'keep') options.keep = true;
    else throw new Error(`unknown option ${arg.arg}: --phase-seconds=N --out=DIR --keep`);
  }
  return options;
}

function requireTool(command: string, pkg: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`${command} is not installed: apt-get install -y ${pkg}`);
  return found.stdout.trim();
}

async function startPrometheus(scratch: string, targets: ReadonlyArray<{ port: number; pod: string }>): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const config = [
    'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 15s }',
    'scrape_configs:',
    '  - job_name: inference-server',
    '    static_configs:',
    ...targets.flatMap((t) => [`      - targets: ['${HOST}:${t.port}']`, `        labels: { pod: '${t.pod}' }`]),
  ].join('\n');
  const configFile = path.join(scratch, 'prometheus.yml');
  fs.writeFileSync(configFile, `${config}\n`);
  const child = spawn('prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${path.join(scratch, 'tsdb')}`, `--web.listen-address=${HOST}:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; ; i++) {
    try {
      if ((await httpRequest(port, 'GET', '/-/ready', {}, undefined, 1000)).status === 200) break;
    } catch { /* not up yet */ }
    if (i > 300 || child.exitCode !== null) throw new Error(`prometheus did not start:\n${log}`);
    await sleep(100);
  }
  return { port, child, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Malformed requests (wrong shape) until `until`: the failure panel's `OTHER` reason. */
async function failureTrickle(ports: readonly number[], until: number): Promise<number> {
  const bad = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }));
  let sent = 0;
  while (Date.now() < until) {
    for (const port of ports) {
      await httpRequest(port, 'POST', '/v2/models/mlp/infer', { 'content-type': 'application/json' }, bad).catch(() => undefined);
      sent++;
    }
    await sleep(400);
  }
  return sent;
}

interface RangeResult { metric: Record<string, string>; values: Array<[number, string]> }

async function queryRange(promPort: number, query: string, start: number, end: number): Promise<RangeResult[]> {
  const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(STEP_SECONDS) });
  const response = await httpRequest(promPort, 'GET', `/api/v1/query_range?${params}`, {}, undefined, 30_000);
  const body = JSON.parse(response.body.toString('utf8'));
  if (body.status !== 'success') throw new Error(`query failed: ${query}: ${body.error ?? response.status}`);
  return body.data.result as RangeResult[];
}

const legendOf = (template: string, labels: Record<string, string>) => template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? '');

async function panelSeries(promPort: number, panel: PanelDefinition, start: number, end: number): Promise<ChartSeries[]> {
  const series: ChartSeries[] = [];
  for (const query of panel.queries) {
    // The dashboard's own query with "All" chosen for $model and $pod.
    const expr = fillQuery(query.expr, { selector: 'model=~".*", pod=~".*"', podSelector: 'pod=~".*"', range: RATE_WINDOW });
    for (const result of await queryRange(promPort, expr, start, end)) {
      const points = result.values.map(([t, v]) => [t, Number(v)] as const).filter(([, v]) => Number.isFinite(v));
      series.push({ name: legendOf(query.legend, result.metric), points });
    }
  }
  return series.sort((a, b) => a.name.localeCompare(b.name));
}

function rowPage(row: PanelRow, charts: string[], caption: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; padding: 12px; background: #111217; }
h2 { margin: 0 0 10px 4px; color: #ccccdc; font: 500 15px Inter, Helvetica, Arial, sans-serif; }
.grid { display: grid; grid-template-columns: repeat(2, ${PANEL.width}px); gap: 8px; }
p { margin: 10px 4px 0; color: #8e8e8e; font: 11px Inter, Helvetica, Arial, sans-serif; }
</style></head><body><h2>${row.title}</h2><div class="grid">${charts.join('')}</div><p>${caption}</p></body></html>`;
}

function screenshot(chromium: string, html: string, png: string, width: number, height: number): void {
  const result = spawnSync(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-device-scale-factor=1',
    `--window-size=${width},${height}`, `--screenshot=${png}`, `file://${html}`,
  ], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0 || !fs.existsSync(png)) throw new Error(`chromium failed (${result.status}): ${result.stderr}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const paths = benchPaths();
  requireBuilt([paths.serverMain, path.join(paths.lib, 'autocannon-child.js')], 'docs:dashboard');
  requireTool('prometheus', 'prometheus');
  const chromium = requireTool('chromium', 'chromium');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-render-'));
  const repository = scratchRepository(path.join(paths.root, 'examples', 'model_repository'), { queueDelayUs: 2000 }, ['simple']);
  const servers: ServerChild[] = [];
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    const metricsPorts: number[] = [];
    for (const pod of PODS) {
      const [port, metricsPort] = [await freePort(), await freePort()];
      metricsPorts.push(metricsPort);
      servers.push(await startServerChild({
        name: pod, script: paths.serverMain, cwd: paths.root, port, readyPath: '/v2/health/ready',
        args: [`--model-repository=${repository}`, `--http-port=${port}`, '--grpc-port=0', `--metrics-port=${metricsPort}`,
          '--host=127.0.0.1', '--metrics-interval-ms=1000'],
      }));
    }
    prometheus = await startPrometheus(scratch, PODS.map((pod, i) => ({ pod, port: metricsPorts[i] })));
    console.log(`servers ${servers.map((s) => s.port).join(', ')}, prometheus ${prometheus.port}; ${PHASES.length} phases of ${options.phaseSeconds} s`);
    await sleep(3000);
    const start = Math.floor(Date.now() / 1000);
    const settings = { connections: 1, warmupSeconds: 0, durationSeconds: options.phaseSeconds, wrkThreads: 1 };
    const trickle = failureTrickle(servers.map((s) => s.port), Date.now() + PHASES.length * options.phaseSeconds * 1000);
    const totals = servers.map(() => 0);
    for (const [phase, connections] of PHASES.entries()) {
      const results = await Promise.all([
        ...servers.map((s, i) => runLoad('autocannon', s.port, mlpJsonRequest(phase * 2 + i + 1), { ...settings, connections: connections[i] }, options.phaseSeconds, paths.lib)),
        runLoad('autocannon', servers[0].port, simpleJsonRequest(), settings, options.phaseSeconds, paths.lib),
      ]);
      results.slice(0, servers.length).forEach((r, i) => { totals[i] += r.requests; });
      console.log(`phase ${phase + 1}: mlp ${connections.join(' / ')} connections → ${results.map((r) => r.requestsPerSecond.toFixed(0)).join(' / ')} req/s (last: simple)`);
    }
    const bad = await trickle;
    await sleep(3000);
    const end = Math.floor(Date.now() / 1000);

    fs.mkdirSync(options.out, { recursive: true });
    const caption = `Rendered by npm run docs:dashboard on ${describeMachine(machineInfo())}, ${new Date(start * 1000).toISOString().slice(0, 10)}: `
      + `two servers on 127.0.0.1, mlp with dynamic batching (max_queue_delay 2 ms) at ${PHASES.map((p) => p.join('/')).join(', ')} connections, `
      + `simple at 1, ${bad} malformed requests; Prometheus scraping every second; the dashboard's PromQL, rate window ${RATE_WINDOW}.`;
    for (const row of DASHBOARD_ROWS) {
      const charts: string[] = [];
      for (const panel of row.panels) {
        const series = await panelSeries(prometheus.port, panel, start, end);
        charts.push(svgChart(series, { title: panel.title, unit: panel.unit, ...PANEL, emptyText: 'No data: no GPU on the machine that rendered this' }));
      }
      const slug = row.title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      const html = path.join(scratch, `${slug}.html`);
      fs.writeFileSync(html, rowPage(row, charts, caption));
      const png = path.resolve(options.out, `dashboard-${slug}.png`);
      const rows = Math.ceil(row.panels.length / 2);
      screenshot(chromium, html, png, PANEL.width * 2 + 8 + 24, 12 + 30 + rows * (PANEL.height + 8) + 40);
      console.log(`${path.relative(paths.root, png)} (${(fs.statSync(png).size / 1024).toFixed(0)} KiB)`);
    }
    console.log(`requests: mlp ${totals.join(' + ')}, malformed ${bad}`);
  } finally {
    await prometheus?.stop();
    for (const s of servers) await s.stop();
    fs.rmSync(repository, { recursive: true, force: true });
    if (options.keep) console.log(`scratch kept: ${scratch}`);
    else fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
