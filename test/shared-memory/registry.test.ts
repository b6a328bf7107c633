/**
 * The registry's descriptor lifecycle, watched through /proc/self/fd: unregister while idle closes at once, while a
 * request holds the region it closes when the request lets go, and stopping the server closes every descriptor.
 */
import { createInferenceServer } from '../../server/app';
import { InferenceError } from '../../server/core/errors';
import { shmPathOfKey, SystemSharedMemoryRegistry } from '../../server/core/shared-memory';
import { httpRequest, MODEL_REPOSITORY } from '../http/helpers';
import { createShmFile, openDescriptorsOf, removeCreatedShmFiles } from './fixture';

afterAll(() => removeCreatedShmFiles());

describe('SystemSharedMemoryRegistry', () => {
  it('unregister while idle closes the descriptor at once', () => {
    const file = createShmFile(32);
    const registry = new SystemSharedMemoryRegistry();
    registry.register('idle', file.key, 0, 32);
    expect(openDescriptorsOf(file.file)).toBe(1);
    registry.unregister('idle');
    expect(openDescriptorsOf(file.file)).toBe(0);
    expect(registry.status()).toEqual([]);
  });

  it('unregister while a request holds the region: still listed (as in Triton) and removed when the request is done', () => {
    const file = createShmFile(32);
    file.write(8, Buffer.from('payload!'));
    const registry = new SystemSharedMemoryRegistry();
    registry.register('busy', file.key, 0, 32);
    const lease = registry.acquire('busy', 8, 8);
    registry.unregister('busy');
    expect(registry.status()).toEqual([{ name: 'busy', key: file.key, offset: 0, byte_size: 32 }]);
    expect(() => registry.register('busy', file.key, 0, 8)).toThrow("shared memory region 'busy' already in manager");
    expect(openDescriptorsOf(file.file)).toBe(1);
    expect(lease.read().toString()).toBe('payload!');
    lease.release();
    lease.release(); // twice is harmless
    expect(registry.status()).toEqual([]);
    expect(openDescriptorsOf(file.file)).toBe(0);
    registry.register('busy', file.key, 0, 8); // the name is free again
    registry.close();
  });

  it('unregister-all while two requests hold a region waits for both', () => {
    const file = createShmFile(16);
    const registry = new SystemSharedMemoryRegistry();
    registry.register('a', file.key, 0, 16);
    registry.register('b', file.key, 0, 16);
    const first = registry.acquire('a', 0, 4);
    const second = registry.acquire('a', 4, 4);
    registry.unregister();
    expect(registry.names()).toEqual(['a']);
    first.release();
    expect(registry.names()).toEqual(['a']);
    second.release();
    expect(registry.names()).toEqual([]);
    expect(openDescriptorsOf(file.file)).toBe(0);
  });

  it('writes land in the object at region offset + tensor offset', async () => {
    const file = createShmFile(64);
    const registry = new SystemSharedMemoryRegistry();
    registry.register('w', file.key, 16, 32);
    const lease = registry.acquire('w', 4, 4);
    await lease.write(Buffer.from('abcd'));
    lease.release();
    registry.close();
    expect(file.read(20, 4).toString()).toBe('abcd');
  });

  it('a failed register leaves no descriptor behind', () => {
    const file = createShmFile(8);
    const registry = new SystemSharedMemoryRegistry();
    expect(() => registry.register('big', file.key, 0, 9)).toThrow(InferenceError);
    expect(openDescriptorsOf(file.file)).toBe(0);
    expect(registry.status()).toEqual([]);
  });

  it.each([
    ['/name', '/dev/shm/name'],
    ['name', '/dev/shm/name'],
    ['/a/b', undefined],
    ['//name', '/dev/shm/name'], // glibc skips every leading '/'
    ['/..', undefined],
    ['/', undefined],
    ['/nul\0x', undefined],
    [`/${'x'.repeat(253)}`, `/dev/shm/${'x'.repeat(253)}`],
    [`/${'x'.repeat(254)}`, undefined],
  ])('shm_open name rules: %j → %s', (key, expected) => {
    expect(shmPathOfKey(key)).toBe(expected);
  });
});

describe('server shutdown', () => {
  it('stopping the server closes every shared memory descriptor', async () => {
    const file = createShmFile(64);
    const app = createInferenceServer({ modelRepositories: [MODEL_REPOSITORY], modelControlMode: 'explicit', httpPort: 0, host: '127.0.0.1', allowGrpc: false, allowClientSharedMemory: true });
    const port = (await app.start()).httpPort!;
    for (const name of ['s1', 's2']) {
      const response = await httpRequest(port, {
        method: 'POST',
        url: `/v2/systemsharedmemory/region/${name}/register`,
        payload: JSON.stringify({ key: file.key, offset: 0, byte_size: 64 }),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.statusCode).toBe(200);
    }
    expect(openDescriptorsOf(file.file)).toBe(2);
    await app.stop();
    expect(openDescriptorsOf(file.file)).toBe(0);
  });
});
