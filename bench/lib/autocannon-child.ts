/**
 * autocannon in a process of its own (bench/lib/loadgen.ts starts it): one run, whose result is printed as one JSON
 * line (a LoadResult).
 * Usage: node dist/bench/lib/autocannon-child.js '<AutocannonChildConfig JSON>'
 */
import * as fs from 'node:fs';
import type { AutocannonChildConfig, LoadResult } from './loadgen';

interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>, callback: (error: Error | null, result: AutocannonResult) => void) => unknown;

// autocannon ships no type declarations: the two calls used here are typed above.
const autocannon = require('autocannon') as Autocannon;

function run(config: AutocannonChildConfig, body: Buffer, seconds: number): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: config.url, method: config.method, headers: config.headers, body, connections: config.connections, duration: seconds },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as AutocannonChildConfig;
  const body = fs.readFileSync(config.bodyFile);
  const result = await run(config, body, config.durationSeconds);
  const output: LoadResult = {
    tool: 'autocannon',
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    seconds: result.duration,
    failures: result.non2xx + result.errors + result.timeouts,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
