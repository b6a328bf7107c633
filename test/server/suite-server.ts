/**
 * One server per test file: started on ephemeral loopback ports (HTTP and gRPC) before the file's tests, with a raw
 * gRPC client to it, and both stopped after them. Registers the jest hooks itself; read the fields inside tests or
 * hooks (they exist once the server has started).
 */
import type { InferenceServerApp, InferenceServerOptions } from '../../server/app';
import { rawClient, RawClient, startServer, StartedServer } from '../grpc/helpers';

export interface SuiteServer {
  readonly app: InferenceServerApp;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly client: RawClient;
}

/**
 * `options` as for startServer (every model of examples/model_repository in explicit mode unless they say otherwise);
 * a function when they depend on something made in an earlier beforeAll (a temporary folder, a captured logger).
 */
export function serverForSuite(options: Partial<InferenceServerOptions> | (() => Partial<InferenceServerOptions>) = {}): SuiteServer {
  let started: StartedServer | undefined;
  let client: RawClient | undefined;
  beforeAll(async () => {
    started = await startServer(typeof options === 'function' ? options() : options);
    client = rawClient(started.grpcPort);
  });
  afterAll(async () => {
    client?.close();
    await started?.app.stop();
  });
  const ready = (): StartedServer => {
    if (!started) throw new Error("the suite's server is used before it started (read it inside a test or hook)");
    return started;
  };
  return {
    get app() {
      return ready().app;
    },
    get httpPort() {
      const { httpPort } = ready();
      if (httpPort === undefined) throw new Error("the suite's server has no HTTP frontend");
      return httpPort;
    },
    get grpcPort() {
      return ready().grpcPort;
    },
    get client() {
      ready();
      return client!;
    },
  };
}
