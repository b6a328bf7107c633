import type { FastifyInstance } from 'fastify';
import pino, { Logger } from 'pino';
import { OnnxRuntimeBackend } from './backends/onnxruntime/backend';
import type { Backend } from './backends/backend';
import { DEFAULT_PORTS, ModelControlMode, SERVER_DEFAULTS } from './contract';
import { InferenceService } from './core/inference-service';
import { ObserverHub } from './core/observer';
import { buildHttpApp } from './protocol/http/app';
import { ModelManager } from './repository/model-manager';
import { createRepositorySource } from './repository/source';

export interface InferenceServerOptions {
  /** Repository roots (local paths; gs:// later). */
  readonly modelRepositories: readonly string[];
  /** @default 'none' */
  readonly modelControlMode?: ModelControlMode;
  /** Explicit mode: models to load at startup ('*' for all). */
  readonly loadModels?: readonly string[];
  /** @default true */
  readonly strictReadiness?: boolean;
  /** @default true — false is --strict-model-config=true / --disable-auto-complete-config */
  readonly autoCompleteConfig?: boolean;
  /** --backend-config settings, per backend. */
  readonly backendConfig?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** @default true */
  readonly allowHttp?: boolean;
  /** 0 for an ephemeral port. @default 8000 */
  readonly httpPort?: number;
  /** @default '0.0.0.0' */
  readonly host?: string;
  /** @default 64 MiB */
  readonly httpMaxInputSize?: number;
  /** @default SERVER_DEFAULTS.exitTimeoutSecs */
  readonly exitTimeoutSecs?: number;
  /** @default a silent logger */
  readonly logger?: Logger;
}

export interface StartResult {
  readonly httpPort?: number;
  /** Models that failed to load at startup. */
  readonly failedModels: string[];
}

/** The whole server, wired: repository manager → facade → frontends. */
export interface InferenceServerApp {
  readonly service: InferenceService;
  /** Where metrics and other watchers subscribe to request, execution and model events. */
  readonly observers: ObserverHub;
  readonly manager: ModelManager;
  readonly http: FastifyInstance;
  start(): Promise<StartResult>;
  /** Graceful stop: readiness false, refuse new work, finish in-flight requests (bounded), unload models. */
  stop(): Promise<void>;
}

export function createInferenceServer(options: InferenceServerOptions): InferenceServerApp {
  const log = options.logger ?? pino({ level: 'silent' });
  const controlMode = options.modelControlMode ?? SERVER_DEFAULTS.modelControlMode;
  const backends: Backend[] = [new OnnxRuntimeBackend()];
  const observers = new ObserverHub();
  const manager = new ModelManager({
    sources: options.modelRepositories.map(createRepositorySource),
    backends,
    controlMode,
    startupModels: options.loadModels ?? [],
    autoCompleteConfig: options.autoCompleteConfig ?? true,
    backendConfig: options.backendConfig ?? new Map(),
    log,
    observers,
  });
  const service = new InferenceService({
    manager,
    controlMode,
    strictReadiness: options.strictReadiness ?? true,
    observers,
  });
  const http = buildHttpApp(service, {
    bodyLimit: options.httpMaxInputSize ?? SERVER_DEFAULTS.httpMaxInputSizeBytes,
    logger: log,
  });
  const exitTimeoutMs = (options.exitTimeoutSecs ?? SERVER_DEFAULTS.exitTimeoutSecs) * 1000;
  let listening = false;

  return {
    service,
    observers,
    manager,
    http,
    async start(): Promise<StartResult> {
      const failedModels = await manager.start();
      let httpPort: number | undefined;
      if (options.allowHttp ?? true) {
        await http.listen({ port: options.httpPort ?? DEFAULT_PORTS.http, host: options.host ?? '0.0.0.0' });
        listening = true;
        const address = http.server.address();
        httpPort = typeof address === 'object' && address ? address.port : undefined;
        log.info({ port: httpPort }, 'HTTP service started');
      }
      return { httpPort, failedModels };
    },
    async stop(): Promise<void> {
      service.beginShutdown();
      const drained = Promise.all(manager.readyVersions().map((version) => version.scheduler.drain()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, exitTimeoutMs);
      });
      await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (listening) await http.close();
      else await http.close().catch(() => undefined);
      await manager.stop();
    },
  };
}
