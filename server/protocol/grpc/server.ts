/**
 * The gRPC frontend: inference.GRPCInferenceService, grpc.health.v1.Health (reflecting the facade's readiness) and
 * server reflection, on one @grpc/grpc-js server with Triton's message-size and keepalive settings.
 */
import type { EventEmitter } from 'node:events';
import { constants as http2Constants, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, ServingStatus } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { RestrictedFeatures } from '../../core/restricted-features';
import type { InferenceServiceApi } from '../../core/service-api';
import { DEFAULT_MAX_CONCURRENT_INFLATE, InflateSlots } from '../http/compression';
import { DEFAULT_INFLATE_HOLD_MS, type InflateHold } from './inflate-gate';
import { InflateGates } from './inflate-gates';
import { withInferWire } from './infer-wire';
import { leanInferStreamHandler, MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from './lean-infer';
import { inferencePackageDefinition, inferenceServiceDefinition, SERVICE_NAME } from './proto';
import { restrictionInterceptor } from './restricted';
import { createInferHandlers, createServiceImplementation, InferHandlers } from './service';

/** Triton's default: INT32_MAX bytes each way. */
export const DEFAULT_GRPC_MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/** Triton's levels ('medium'; 'med' is kept as an alias). */
export type GrpcCompressionLevel = 'none' | 'low' | 'med' | 'medium' | 'high';

/** Triton's --grpc-use-ssl / --grpc-use-ssl-mutual, with the PEM contents of its certificate flags. */
export interface GrpcTlsOptions {
  /** --grpc-server-cert: the server's certificate chain (PEM). */
  readonly certChain: Buffer;
  /** --grpc-server-key: its private key (PEM). */
  readonly privateKey: Buffer;
  /** --grpc-root-cert: CA certificates that sign client certificates (PEM); required when mutual. */
  readonly rootCerts?: Buffer;
  /** --grpc-use-ssl-mutual: clients must present a certificate signed by rootCerts. @default false */
  readonly mutual?: boolean;
}

/** Triton's --grpc-keepalive-* and --grpc-http2-* settings (milliseconds where a time). */
export interface GrpcKeepaliveOptions {
  /** @default 7200000 */
  readonly keepaliveTimeMs?: number;
  /** @default 20000 */
  readonly keepaliveTimeoutMs?: number;
  /** @default false */
  readonly keepalivePermitWithoutCalls?: boolean;
  /** @default 2 */
  readonly http2MaxPingsWithoutData?: number;
  /** @default 300000 */
  readonly http2MinRecvPingIntervalWithoutDataMs?: number;
  /** @default 2 */
  readonly http2MaxPingStrikes?: number;
  /** --grpc-max-connection-age: a connection is closed (GOAWAY) after this long. @default no limit */
  readonly maxConnectionAgeMs?: number;
  /** --grpc-max-connection-age-grace: how long calls on an aged connection may still run. @default no limit */
  readonly maxConnectionAgeGraceMs?: number;
}

export const GRPC_KEEPALIVE_DEFAULTS: Required<Omit<GrpcKeepaliveOptions, 'maxConnectionAgeMs' | 'maxConnectionAgeGraceMs'>> = {
  keepaliveTimeMs: 7_200_000,
  keepaliveTimeoutMs: 20_000,
  keepalivePermitWithoutCalls: false,
  http2MaxPingsWithoutData: 2,
  http2MinRecvPingIntervalWithoutDataMs: 300_000,
  http2MaxPingStrikes: 2,
};

export interface GrpcFrontendOptions {
  /** Largest message received or sent. @default DEFAULT_GRPC_MAX_MESSAGE_BYTES */
  readonly maxMessageBytes?: number;
  readonly keepalive?: GrpcKeepaliveOptions;
  /**
   * Triton's --grpc-infer-response-compression-level. Requests compressed with gzip or deflate are always accepted;
   * @grpc/grpc-js 1.14 cannot compress responses, so any level other than 'none' is logged and answered uncompressed.
   * @default 'none'
   */
  readonly responseCompressionLevel?: GrpcCompressionLevel;
  /** @default true */
  readonly reflection?: boolean;
  /** --grpc-restricted-protocol: groups of RPCs that require a metadata entry. @default none restricted */
  readonly restrictedProtocols?: RestrictedFeatures;
  /** --grpc-header-forward-pattern (see core/header-forwarding.ts). @default none forwarded */
  readonly headerForwardPattern?: RegExp;
  /** Serve over TLS (--grpc-use-ssl). @default plaintext */
  readonly tls?: GrpcTlsOptions;
  /**
   * Serve ModelInfer / ModelStreamInfer on the lean node:http2 path (lean-infer.ts) rather than through grpc-js.
   * Off by default: on a quiet machine it was no cheaper than grpc-js per call (bench/README.md, bench:grpc), so the
   * well-kept library serves everything; kept as an option for the benchmark's side-by-side rows. Concurrent inflation
   * is bounded either way.
   * @default false
   */
  readonly leanInfer?: boolean;
  /**
   * How long a unary call's compressed message may hold its inflate slot waiting for the client's half-close before
   * the call ends with RESOURCE_EXHAUSTED (default DEFAULT_INFLATE_HOLD_MS; inflate-gate.ts, docs/request-costs.md).
   */
  readonly inflateHoldMs?: number;
  /**
   * Compressed messages inflated (or inflating) and not yet taken by their handler, each up to maxMessageBytes: this
   * many for ModelInfer / ModelStreamInfer and as many for all other methods together. @default 4
   */
  readonly maxConcurrentInflate?: number;
  /** How often Health/Watch streams see readiness changes. @default 1000 */
  readonly healthPollMs?: number;
  readonly logger?: Logger;
}

/** grpc-js channel options for the settings (unknown keys are ignored by grpc-js, kept for parity with Triton). */
export function grpcServerChannelOptions(options: GrpcFrontendOptions): grpc.ChannelOptions {
  const keepalive = { ...GRPC_KEEPALIVE_DEFAULTS, ...options.keepalive };
  const maxMessage = options.maxMessageBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES;
  return {
    'grpc.max_receive_message_length': maxMessage,
    'grpc.max_send_message_length': maxMessage,
    'grpc.keepalive_time_ms': keepalive.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': keepalive.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': keepalive.keepalivePermitWithoutCalls ? 1 : 0,
    'grpc.http2.max_pings_without_data': keepalive.http2MaxPingsWithoutData,
    'grpc.http2.min_ping_interval_without_data_ms': keepalive.http2MinRecvPingIntervalWithoutDataMs,
    'grpc.http2.max_ping_strikes': keepalive.http2MaxPingStrikes,
    ...(keepalive.maxConnectionAgeMs !== undefined ? { 'grpc.max_connection_age_ms': keepalive.maxConnectionAgeMs } : {}),
    ...(keepalive.maxConnectionAgeGraceMs !== undefined ? { 'grpc.max_connection_age_grace_ms': keepalive.maxConnectionAgeGraceMs } : {}),
    // Channelz bookkeeping (call counters, timestamps per message) costs CPU on every call, and nothing serves it:
    // no channelz service is registered. Measured in bench/README.md "bench:grpc".
    'grpc.enable_channelz': 0,
  };
}

/** Plaintext, or Triton's SslServerCredentials: mutual TLS requires and verifies client certificates. */
export function grpcServerCredentials(tls: GrpcTlsOptions | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.rootCerts ?? null, [{ private_key: tls.privateKey, cert_chain: tls.certChain }], tls.mutual === true);
}

/** A call whose messages may come compressed (grpc-encoding other than identity). */
function isCompressedCall(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['grpc-encoding'];
  return encoding !== undefined && encoding !== 'identity';
}

/**
 * grpc-js's server, with every registered service's handlers telling the inflate gates (inflate-gates.ts) when they
 * have taken a compressed message: health and reflection, which register themselves, included.
 */
class GatedGrpcServer extends grpc.Server {
  constructor(
    private readonly gates: InflateGates,
    options: grpc.ServerOptions,
  ) {
    super(options);
  }

  override addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    super.addService(service, this.gates.wrapImplementation(service, implementation));
  }
}

function bindAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class GrpcFrontend {
  readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  private readonly healthStatus = new Map<string, ServingStatus>();
  private healthTimer: NodeJS.Timeout | undefined;
  private port: number | undefined;
  private readonly inferHandlers: InferHandlers;
  /** Compressed ModelInfer / ModelStreamInfer messages inflating now and waiting (for tests). */
  readonly inflateSlots: InflateSlots;
  /** The same bound for compressed calls of every other method. */
  readonly otherInflateSlots: InflateSlots;
  /** The bound on a unary message's wait for half-close while it holds a slot, both paths (tests shorten it). */
  readonly inflateHold: InflateHold;
  /** The gates of compressed calls grpc-js serves now (for tests). */
  readonly inflateGates: InflateGates;
  /** Whether ModelInfer / ModelStreamInfer are served on the lean path (set once listening). */
  leanInferActive = false;
  /** The open HTTP/2 connections: close() destroys them once its grace is over (see there). */
  private readonly sessions = new Set<Http2Session>();

  constructor(
    private readonly service: InferenceServiceApi,
    private readonly options: GrpcFrontendOptions = {},
  ) {
    const restriction = restrictionInterceptor(options.restrictedProtocols ?? new Map());
    this.inflateHold = { limitMs: options.inflateHoldMs ?? DEFAULT_INFLATE_HOLD_MS };
    this.inflateGates = new InflateGates(this.inflateHold);
    this.server = new GatedGrpcServer(this.inflateGates, { ...grpcServerChannelOptions(options), ...(restriction ? { interceptors: [restriction] } : {}) });
    // ModelInfer / ModelStreamInfer (de)serialize through infer-wire.ts, the rest through proto-loader.
    const serviceOptions = { logger: options.logger, headerForwardPattern: options.headerForwardPattern };
    this.inferHandlers = createInferHandlers(service, serviceOptions);
    this.inflateSlots = new InflateSlots(options.maxConcurrentInflate ?? DEFAULT_MAX_CONCURRENT_INFLATE);
    this.otherInflateSlots = new InflateSlots(options.maxConcurrentInflate ?? DEFAULT_MAX_CONCURRENT_INFLATE);
    this.server.addService(withInferWire(inferenceServiceDefinition()) as grpc.ServiceDefinition, createServiceImplementation(service, serviceOptions, this.inferHandlers));

    // Health: refresh the statuses from the facade before every call, and on a timer for Watch streams.
    this.health.addToServer({
      addService: (definition: ServiceDefinition, implementation: grpc.UntypedServiceImplementation) => {
        const wrapped: grpc.UntypedServiceImplementation = {};
        for (const [name, handler] of Object.entries(implementation)) {
          wrapped[name] = ((call: unknown, callback: unknown) => {
            this.refreshHealth();
            (handler as (call: unknown, callback: unknown) => void)(call, callback);
          }) as grpc.UntypedHandleCall;
        }
        this.server.addService(definition as grpc.ServiceDefinition, wrapped);
      },
    });

    if (options.reflection ?? true) new ReflectionService(inferencePackageDefinition()).addToServer(this.server);
    const level = options.responseCompressionLevel ?? 'none';
    if (level !== 'none') {
      options.logger?.warn({ level }, 'gRPC response compression is not available in @grpc/grpc-js; responses are sent uncompressed');
    }
  }

  /** Set the health statuses from the facade's readiness ('' and the inference service). */
  refreshHealth(): void {
    const status: ServingStatus = this.service.isReady() ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', SERVICE_NAME]) {
      if (this.healthStatus.get(name) !== status) {
        this.healthStatus.set(name, status);
        this.health.setStatus(name, status);
      }
    }
  }

  /** Bind and start serving; resolves to the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(bindAddress(host, port), grpcServerCredentials(this.options.tls), (error, bound) => {
        if (error) {
          reject(error);
          return;
        }
        this.port = bound;
        this.installStreamFront();
        this.refreshHealth();
        this.healthTimer = setInterval(() => this.refreshHealth(), this.options.healthPollMs ?? 1000);
        this.healthTimer.unref();
        resolve(bound);
      });
    });
  }

  /**
   * Put a front in front of grpc-js's 'stream' listener on each HTTP/2 server grpc-js bound: each message of a
   * compressed call waits for an inflate slot before grpc-js reads it (inflate-gate.ts), and with `leanInfer` the inference calls are served on the lean path;
   * every other stream goes to grpc-js's listener unchanged. grpc-js exposes no hook for
   * this, so its (private) map of HTTP/2 servers is read; should a grpc-js release rename it, everything is served by
   * grpc-js as before and a warning says so (test/grpc/lean-infer.test.ts fails on such an upgrade; package.json
   * pins grpc-js to 1.14.x so an upgrade is a deliberate step).
   */
  private installStreamFront(): void {
    const http2Servers = (this.server as unknown as { http2Servers?: Map<EventEmitter, unknown> }).http2Servers;
    const streamListeners = http2Servers instanceof Map ? [...http2Servers.keys()].map((server) => [server, server.listeners('stream')] as const) : [];
    if (streamListeners.length === 0 || streamListeners.some(([, listeners]) => listeners.length !== 1)) {
      this.options.logger?.warn('gRPC: grpc-js internals changed; compressed calls are inflated without the concurrency bound (and leanInfer is off)');
      return;
    }
    const restriction = this.options.restrictedProtocols?.get('inference');
    const lean = this.options.leanInfer
      ? leanInferStreamHandler({
          handlers: this.inferHandlers,
          maxMessageBytes: this.options.maxMessageBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES,
          inflateSlots: this.inflateSlots,
          inflateHold: this.inflateHold,
          ...(restriction ? { restriction } : {}),
        })
      : undefined;
    for (const [server, [grpcListener]] of streamListeners) {
      server.on('session', (session: Http2Session) => {
        this.sessions.add(session);
        session.once('close', () => this.sessions.delete(session));
      });
      server.removeListener('stream', grpcListener as (...args: unknown[]) => void);
      server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
        InflateGates.stripClientToken(headers);
        if (lean?.(stream, headers)) return;
        const toGrpcJs = () => (grpcListener as (...args: unknown[]) => void).call(server, stream, headers, ...rest);
        if (!isCompressedCall(headers)) toGrpcJs();
        else {
          const path = headers[':path'];
          const inference = path === MODEL_INFER_PATH || path === MODEL_STREAM_INFER_PATH;
          this.inflateGates.admit(inference ? this.inflateSlots : this.otherInflateSlots, stream, headers, toGrpcJs);
        }
      });
    }
    this.leanInferActive = lean !== undefined;
  }

  get boundPort(): number | undefined {
    return this.port;
  }

  /** Stop accepting calls, let running ones finish for up to `graceMs`, then cancel what is left. */
  async close(graceMs = 5000): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus(SERVICE_NAME, 'NOT_SERVING');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        // grpc-js 1.14 destroys only the sessions it tracks for channelz, none with channelz off (as here): the
        // connections, and calls still open on them (holding inflate slots), would outlive the server.
        for (const session of this.sessions) session.destroy(undefined, http2Constants.NGHTTP2_CANCEL);
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
