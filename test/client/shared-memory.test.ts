/** The client's system shared memory API over HTTP and gRPC against the real server. */
import { InferenceServerClient, InferenceServerError, InferInput, Protocol } from '../../client';
import { startServer, StartedServer } from '../grpc/helpers';
import { createShmFile, DIFFERENCES, int32Bytes, int32sOf, ONES_16, RANGE_16, removeCreatedShmFiles, SUMS } from '../shared-memory/fixture';

let server: StartedServer;
const clients: Partial<Record<Protocol, InferenceServerClient>> = {};

beforeAll(async () => {
  server = await startServer({ allowClientSharedMemory: true });
  clients.http = new InferenceServerClient({ url: `127.0.0.1:${server.httpPort}` });
  clients.grpc = new InferenceServerClient({ url: `127.0.0.1:${server.grpcPort}`, protocol: 'grpc' });
});

afterAll(async () => {
  for (const client of Object.values(clients)) await client?.close();
  await server?.app.stop();
  removeCreatedShmFiles();
});

describe.each(['http', 'grpc'] as const)('%s', (protocol) => {
  const client = () => clients[protocol]!;

  it('register, status, infer through regions, unregister', async () => {
    const file = createShmFile(256);
    file.write(0, int32Bytes(RANGE_16));
    file.write(64, int32Bytes(ONES_16));
    await client().registerSystemSharedMemory(`${protocol}_in`, file.key, 128);
    await client().registerSystemSharedMemory(`${protocol}_out`, file.key, 128, 128);
    expect(await client().systemSharedMemoryStatus(`${protocol}_out`)).toEqual([
      { name: `${protocol}_out`, key: file.key, offset: 128, byte_size: 128 },
    ]);

    const result = await client().infer(
      'simple',
      [
        InferInput.fromSharedMemory('INPUT0', 'INT32', [1, 16], { region: `${protocol}_in`, byteSize: 64 }),
        InferInput.fromSharedMemory('INPUT1', 'INT32', [1, 16], { region: `${protocol}_in`, byteSize: 64, offset: 64 }),
      ],
      { outputs: [{ name: 'OUTPUT0', sharedMemory: { region: `${protocol}_out`, byteSize: 64 } }, 'OUTPUT1'] },
    );
    expect(result.output('OUTPUT0')).toMatchObject({ datatype: 'INT32', shape: [1, 16], sharedMemory: { region: `${protocol}_out`, byteSize: 64 } });
    expect(() => result.asTypedArray('OUTPUT0')).toThrow('shared memory');
    expect(Array.from(result.asTypedArray('OUTPUT1') as Int32Array)).toEqual(DIFFERENCES);
    expect(int32sOf(file.read(128, 64))).toEqual(SUMS);

    await client().unregisterSystemSharedMemory(`${protocol}_in`);
    expect((await client().systemSharedMemoryStatus()).map((r) => r.name)).toEqual([`${protocol}_out`]);
    await client().unregisterSystemSharedMemory();
    expect(await client().systemSharedMemoryStatus()).toEqual([]);
  });

  it('errors reach the caller as InferenceServerError with Triton’s message', async () => {
    const error = await client().registerSystemSharedMemory('x', '/cdk8s_client_absent', 8).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceServerError);
    expect((error as InferenceServerError).message).toBe("Unable to open shared memory region: '/cdk8s_client_absent'");
  });
});
