/**
 * The gRPC client's per-call shortcuts (client/grpc.ts): the stack-trace limit it lowers around a call is always
 * restored, and successful and failed calls answer as before.
 */
import { InferenceServerClient, InferInput } from '../../client';
import { startServer, StartedServer } from '../grpc/helpers';

let server: StartedServer;
let client: InferenceServerClient;

beforeAll(async () => {
  server = await startServer();
  client = new InferenceServerClient({ url: `127.0.0.1:${server.grpcPort}`, protocol: 'grpc' });
});

afterAll(async () => {
  await client.close();
  await server.app.stop();
});

const inputs = () => [
  InferInput.fromTypedArray('INPUT0', Int32Array.from({ length: 16 }, (_, i) => i), [1, 16]),
  InferInput.fromTypedArray('INPUT1', new Int32Array(16).fill(2), [1, 16]),
];

describe('gRPC client calls', () => {
  it('answers and leaves Error.stackTraceLimit as it found it', async () => {
    const limit = Error.stackTraceLimit;
    const result = await client.infer('simple', inputs());
    expect(Array.from(result.asTypedArray('OUTPUT0') as Int32Array)).toEqual(Array.from({ length: 16 }, (_, i) => i + 2));
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('fails with the server\'s code and message, with a stack of its own, and restores the limit', async () => {
    const limit = Error.stackTraceLimit;
    const error = await client.infer('no_such_model', inputs()).then(
      () => undefined,
      (e: Error & { grpcCode?: unknown }) => e,
    );
    expect(error?.message).toMatch(/no_such_model/);
    expect(error?.grpcCode).toBe(5); // NOT_FOUND
    expect(error?.stack).toContain('at ');
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('restores the limit when the call cannot even start', async () => {
    const closed = new InferenceServerClient({ url: `127.0.0.1:${server.grpcPort}`, protocol: 'grpc' });
    await closed.close();
    const limit = Error.stackTraceLimit;
    await expect(closed.infer('simple', inputs())).rejects.toThrow();
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
