#!/usr/bin/env node
/**
 * inference-perf: measures throughput and latency of a model served over HTTP or gRPC, like Triton's perf_analyzer.
 *   inference-perf -m mlp -u localhost:8001 -i grpc --concurrency-range 1:64:2 --measurement-interval 3000
 */
import { writeFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { USAGE_EXIT_CODE, versionLine } from '../../server/command-line';
import { parsePerfArgs, PERF_USAGE, PerfUsageError } from './options';
import { runProfile } from './profiler';
import { htmlReport } from './html-report';
import { delayedWarning, resultLine, summaryTable, toCsv, unstableVerdict, windowLine } from './report';

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write(versionLine('inference-perf'));
    return 0;
  }
  let options;
  try {
    options = parsePerfArgs(argv);
  } catch (error) {
    if (error instanceof PerfUsageError) {
      const hint = error.message.includes('--help') ? '' : ' (inference-perf --help lists every option)';
      process.stderr.write(`error: ${error.message}${hint}\n`);
      return USAGE_EXIT_CODE;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(PERF_USAGE);
    return 0;
  }
  const out = (text: string) => {
    if (!options.json) process.stdout.write(`${text}\n`);
  };
  out(`*** Measurement Settings ***`);
  out(`  Model: ${options.model}${options.version ? ` version ${options.version}` : ''}, ${options.protocol} at ${options.url}, batch size ${options.batchSize}`);
  out(`  Measurement window: ${options.measurementIntervalMs} ms, stability ${options.stabilityPercentage}% over 3 windows, at most ${options.maxTrials} windows`);
  if (options.requestRates) out(`  Request Rate: ${options.requestRates.join(', ')} requests/s, ${options.requestDistribution} distribution\n`);
  else out(`  Concurrency: ${options.concurrency.join(', ')}\n`);

  // A bar on a terminal; elsewhere (CI logs, pipes) a line per measurement window, which a log keeps readable.
  const bar = options.progress && process.stderr.isTTY
    ? new SingleBar({
        format: '{level} | window {trial}/{maxTrials} |{bar}| {percentage}%',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined;
  let barStarted = false;
  try {
    const results = await runProfile(options, {
      onWindow(window, trial, level) {
        if (options.progress && !bar) process.stderr.write(`${windowLine(level, trial, options.maxTrials, window)}\n`);
      },
      onTick(fraction, trial, level) {
        if (!bar) return;
        const payload = { level, trial, maxTrials: options.maxTrials };
        if (!barStarted) {
          bar.start(100, 0, payload);
          barStarted = true;
        }
        bar.update(Math.round(fraction * 100), payload);
      },
      onResult(result) {
        if (bar && barStarted) {
          bar.stop();
          barStarted = false;
        }
        out(resultLine(result));
        // perf_analyzer prints this one on stderr, so it shows with --json too.
        const warning = delayedWarning(result);
        if (warning) process.stderr.write(`${warning}\n`);
        const verdict = unstableVerdict(result, options);
        if (verdict) process.stderr.write(`${verdict}\n`);
      },
    });
    if (options.json) process.stdout.write(`${JSON.stringify({ model: options.model, protocol: options.protocol, results }, null, 2)}\n`);
    else out(`\n*** Summary (latencies in microseconds) ***\n${summaryTable(results)}`);
    if (options.csvFile) writeFileSync(options.csvFile, toCsv(results));
    if (options.reportFile) {
      writeFileSync(options.reportFile, htmlReport(results, options));
      process.stderr.write(`report: ${options.reportFile}\n`);
    }
    return 0;
  } catch (error) {
    if (bar && barStarted) bar.stop();
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`fatal: ${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}
