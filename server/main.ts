#!/usr/bin/env node
/** The inference-server command: Triton-named flags → the server → frontends; SIGTERM/SIGINT stop it cleanly. */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { createInferenceServer } from './app';
import { GrpcTlsFiles, parseCli, usage } from './cli';
import { USAGE_EXIT_CODE, UsageError, versionLine } from './command-line';
import { createCommandLogger, logRendering, tritonLogFormat } from './log-output';
import { CLI_FLAGS } from './contract';
import type { GrpcTlsOptions } from './protocol/grpc/server';
import { LogSettingsController } from './core/log-settings';

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return USAGE_EXIT_CODE;
    }
    throw error;
  }
  if (cli.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (cli.version) {
    process.stdout.write(versionLine('inference-server'));
    return 0;
  }
  // The logging extension (GET/POST /v2/logging, gRPC LogSettings) changes these settings at run time.
  // LOG_LEVEL (a pino level name) sets the starting point when --log-verbose does not; GET /v2/logging reports it.
  const fromEnv = cli.logVerbose === 0 && process.env.LOG_LEVEL ? LogSettingsController.forLevel(process.env.LOG_LEVEL) : {};
  const logSettings = new LogSettingsController({
    log_verbose_level: cli.logVerbose,
    log_format: tritonLogFormat(cli.logFormat),
    log_info: cli.logInfo,
    log_warning: cli.logWarning,
    log_error: cli.logError,
    log_file: cli.logFile ?? '',
    ...fromEnv,
  });
  let destination;
  try {
    // Written synchronously, as Triton's log file: nothing is lost when the process exits.
    destination = cli.logFile ? pino.destination({ dest: cli.logFile, append: true, sync: true }) : undefined;
  } catch (error) {
    process.stderr.write(`error: ${CLI_FLAGS.logFile}: cannot open '${cli.logFile}': ${(error as Error).message}\n`);
    return 1;
  }
  const pinoOptions = { ...logSettings.pinoOptions(), base: { service: 'inference-server' } };
  const toTerminal = !destination && process.stdout.isTTY === true;
  const logger = createCommandLogger(pinoOptions, logRendering(cli.logFormat, toTerminal), destination, toTerminal, () => logSettings.current().log_format);
  // @grpc/grpc-js writes its own diagnostics to stderr (a failed bind, which the start error reports with the flag
  // that chose the port): they go to the log, at debug level.
  grpc.setLogger({ error: (...args: unknown[]) => logger.debug({ source: '@grpc/grpc-js' }, args.map(String).join(' ')) });
  for (const warning of cli.warnings) logger.warn(warning);
  let grpcTls: GrpcTlsOptions | undefined;
  try {
    grpcTls = cli.grpcTls && readGrpcTls(cli.grpcTls);
  } catch (error) {
    logger.error({ err: (error as Error).message }, 'failed to start');
    return 1;
  }
  const server = createInferenceServer({
    serverId: cli.serverId,
    modelRepositories: cli.modelRepositories,
    modelControlMode: cli.modelControlMode,
    loadModels: cli.loadModels,
    modelConfigName: cli.modelConfigName,
    modelLoadRetryCount: cli.modelLoadRetryCount,
    repositoryPollSecs: cli.repositoryPollSecs,
    strictReadiness: cli.strictReadiness,
    autoCompleteConfig: cli.autoCompleteConfig,
    backendConfig: cli.backendConfig,
    allowHttp: cli.allowHttp,
    httpPort: cli.httpPort,
    host: cli.httpAddress,
    grpcHost: cli.grpcAddress,
    metricsHost: cli.metricsAddress,
    allowClientSharedMemory: cli.allowClientSharedMemory,
    httpRestrictedApis: cli.httpRestrictedApis,
    grpcRestrictedProtocols: cli.grpcRestrictedProtocols,
    grpcTls,
    httpHeaderForwardPattern: cli.httpHeaderForwardPattern,
    grpcHeaderForwardPattern: cli.grpcHeaderForwardPattern,
    modelCacheDir: cli.modelCacheDir,
    httpMaxInputSize: cli.httpMaxInputSize,
    allowGrpc: cli.allowGrpc,
    grpcPort: cli.grpcPort,
    grpcMaxMessageBytes: cli.grpcMaxMessageBytes,
    grpcKeepalive: cli.grpcKeepalive,
    grpcResponseCompressionLevel: cli.grpcResponseCompressionLevel,
    allowMetrics: cli.allowMetrics,
    metricsPort: cli.metricsPort,
    allowGpuMetrics: cli.allowGpuMetrics,
    allowCpuMetrics: cli.allowCpuMetrics,
    metricsIntervalMs: cli.metricsIntervalMs,
    metricsConfig: cli.metricsConfig,
    responseCache: cli.responseCache,
    exitTimeoutSecs: cli.exitTimeoutSecs,
    maxInstancesPerModel: cli.maxInstancesPerModel,
    httpFastInferPath: cli.httpFastInferPath,
    prestartOnnxWorker: true,
    releaseHeapAfterUnload: true,
    trace: cli.trace,
    logger,
    logSettings,
  });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    logger.info({ signal }, 'stopping: finishing in-flight requests');
    stopping = server.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: Error) => {
        logger.error({ err: error.message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    const result = await server.start();
    if (result.failedModels.length > 0 && cli.exitOnError) {
      logger.error(
        { models: result.failedModels },
        `failed to load ${result.failedModels.join(', ')}; exiting (--exit-on-error=true). ` +
          'Check the repository index reasons above, or start with --exit-on-error=false to serve the other models.',
      );
      await server.stop();
      return 1;
    }
    return -1; // keep running
  } catch (error) {
    logger.error({ err: (error as Error).message }, 'failed to start');
    await server.stop().catch(() => undefined);
    return 1;
  }
}

/** The PEM files of --grpc-server-cert, --grpc-server-key and --grpc-root-cert (Triton reads them at startup too). */
function readGrpcTls(files: GrpcTlsFiles): GrpcTlsOptions {
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`${flag}: cannot read '${file}': ${(error as Error).message}`);
    }
  };
  return {
    certChain: read(CLI_FLAGS.grpcServerCert, files.serverCert),
    privateKey: read(CLI_FLAGS.grpcServerKey, files.serverKey),
    ...(files.rootCert !== undefined ? { rootCerts: read(CLI_FLAGS.grpcRootCert, files.rootCert) } : {}),
    mutual: files.mutual,
  };
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: Error) => {
    process.stderr.write(`fatal: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
