/**
 * Hostile shared memory keys and descriptor exhaustion: a /dev/shm entry linked to another file, a FIFO, a directory
 * are refused as glibc's shm_open (O_NOFOLLOW) and Triton refuse them; registrations cannot pin more than the cap of
 * descriptors; whatever key a client sends, nothing outside /dev/shm is ever opened.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { InferenceError } from '../../server/core/errors';
import { SHM_DIRECTORY, shmPathOfKey, SystemSharedMemoryRegistry } from '../../server/core/shared-memory';
import { createShmFile, fileOf, openDescriptorsOf, removeCreatedShmFiles, uniqueKey } from './fixture';

const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-secret-'));
const secret = path.join(secretDir, 'secret.txt');
fs.writeFileSync(secret, 'top secret contents, not shared memory');
const extraEntries: string[] = [];

/** A /dev/shm entry made by `make`, removed after the suite. */
function shmEntry(make: (file: string) => void): string {
  const key = uniqueKey('cdk8s_shm_hostile');
  const file = fileOf(key);
  make(file);
  extraEntries.push(file);
  return key;
}

afterAll(() => {
  for (const entry of extraEntries) fs.rmSync(entry, { recursive: true, force: true });
  fs.rmSync(secretDir, { recursive: true, force: true });
  removeCreatedShmFiles();
});

describe('keys open as shm_open opens them: regular files under /dev/shm, never through a link', () => {
  it('a /dev/shm entry that is a symbolic link to another file is refused (ELOOP), and nothing is read or written', () => {
    const key = shmEntry((file) => fs.symlinkSync(secret, file));
    const registry = new SystemSharedMemoryRegistry();
    expect(() => registry.register('link', key, 0, 4)).toThrow(`Unable to open shared memory region: '${key}'`);
    expect(registry.status()).toEqual([]);
    expect(openDescriptorsOf(secret)).toBe(0);
    expect(fs.readFileSync(secret, 'utf8')).toBe('top secret contents, not shared memory');
  });

  it('a link to a real shared memory object is refused too (shm_open would refuse it)', () => {
    const target = createShmFile(16);
    const key = shmEntry((file) => fs.symlinkSync(target.file, file));
    expect(() => new SystemSharedMemoryRegistry().register('link', key, 0, 16)).toThrow(InferenceError);
  });

  it('a FIFO is refused without blocking the server, a directory is refused', () => {
    const fifo = shmEntry((file) => execFileSync('mkfifo', [file]));
    const dir = shmEntry((file) => fs.mkdirSync(file));
    const registry = new SystemSharedMemoryRegistry();
    expect(() => registry.register('fifo', fifo, 0, 0)).toThrow(`Unable to open shared memory region: '${fifo}'`);
    expect(() => registry.register('dir', dir, 0, 0)).toThrow(`Unable to open shared memory region: '${dir}'`);
  });

  it('random keys: a path under /dev/shm with no separator, or no path at all', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('/../etc/passwd', '/./x', '//..', '/dev/shm/../../etc/passwd', '/\u0000x')), (key) => {
        const file = shmPathOfKey(key);
        if (file === undefined) return;
        expect(path.dirname(file)).toBe(SHM_DIRECTORY);
        expect(['.', '..', '']).not.toContain(path.basename(file));
        expect(path.resolve(file)).toBe(file);
      }),
      { numRuns: 500 },
    );
  });

  it('random spellings of a linked key never reach the file behind the link', () => {
    const key = shmEntry((file) => fs.symlinkSync(secret, file));
    const name = key.replace(/^\/+/, '');
    const registry = new SystemSharedMemoryRegistry();
    fc.assert(
      fc.property(fc.nat({ max: 4 }), fc.constantFrom('', '/', '/.', '/../' + path.basename(SHM_DIRECTORY) + '/'), (slashes, infix) => {
        const spelled = `${'/'.repeat(slashes)}${infix}${name}`;
        expect(() => registry.register('n', spelled, 0, 1)).toThrow(InferenceError);
        expect(openDescriptorsOf(secret)).toBe(0);
      }),
      { numRuns: 50 },
    );
  });
});

describe('descriptors are capped', () => {
  it('registering many regions keeps at most the cap open; every region still works (reopened by key)', () => {
    const file = createShmFile(64);
    file.write(0, Buffer.from('0123456789abcdef'));
    const registry = new SystemSharedMemoryRegistry({ maxOpenDescriptors: 4 });
    for (let i = 0; i < 50; i++) registry.register(`r${i}`, file.key, i % 16, 1);
    expect(registry.status()).toHaveLength(50);
    expect(openDescriptorsOf(file.file)).toBe(4);
    expect(registry.openDescriptorCount()).toBe(4);
    for (let i = 0; i < 50; i++) {
      const lease = registry.acquire(`r${i}`, 0, 1);
      expect(lease.read().toString()).toBe('0123456789abcdef'[i % 16]);
      lease.release();
    }
    expect(openDescriptorsOf(file.file)).toBe(4);
    registry.close();
    expect(openDescriptorsOf(file.file)).toBe(0);
  });

  it('regions in use stay open past the cap, and close down to it when released', () => {
    const file = createShmFile(8);
    const registry = new SystemSharedMemoryRegistry({ maxOpenDescriptors: 1 });
    for (const name of ['a', 'b', 'c']) registry.register(name, file.key, 0, 8);
    const leases = ['a', 'b', 'c'].map((name) => registry.acquire(name, 0, 8));
    expect(openDescriptorsOf(file.file)).toBe(3);
    for (const lease of leases) lease.release();
    expect(openDescriptorsOf(file.file)).toBe(1);
    registry.close();
  });

  it('a region whose object was replaced after register is refused at its next use, not silently switched', () => {
    const file = createShmFile(8);
    const registry = new SystemSharedMemoryRegistry({ maxOpenDescriptors: 1 });
    registry.register('old', file.key, 0, 8);
    registry.register('other', createShmFile(8).key, 0, 8); // pushes 'old' out of the open descriptors
    file.remove();
    fs.writeFileSync(file.file, Buffer.alloc(8));
    extraEntries.push(file.file);
    expect(() => registry.acquire('old', 0, 8)).toThrow(
      `shared memory region 'old': the object '${file.key}' was removed or replaced since it was registered; register it again`,
    );
    registry.close();
  });

  it('4000 registrations of one object stay under the cap (the issue: they used to exhaust the descriptors)', () => {
    const file = createShmFile(8);
    const registry = new SystemSharedMemoryRegistry();
    for (let i = 0; i < 4000; i++) registry.register(`many${i}`, file.key, 0, 8);
    expect(openDescriptorsOf(file.file)).toBeLessThanOrEqual(128);
    registry.close();
    expect(openDescriptorsOf(file.file)).toBe(0);
  });
});

describe('uint64 windows, as Triton checks them', () => {
  const registry = new SystemSharedMemoryRegistry();
  const file = createShmFile(64);
  registry.register('w', file.key, 0, 64);

  it('offset past the region, overflow of offset + size, window past the region', () => {
    expect(() => registry.acquire('w', 2n ** 64n - 32n, 64)).toThrow("Invalid offset for shared memory region: 'w'");
    expect(() => registry.acquire('w', 32, 2n ** 64n - 32n)).toThrow(
      "Integer overflow detected: byte_size (18446744073709551584) + offset (32) exceeds maximum value (18446744073709551615) for region 'w'",
    );
    expect(() => registry.acquire('w', 1, 2n ** 60n)).toThrow("Invalid offset + byte size for shared memory region: 'w'");
  });

  const uint64 = fc.oneof(fc.bigInt({ min: 0n, max: 80n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));

  it('random uint64 windows: a lease exactly when the window fits, else one of the three errors', () => {
    fc.assert(
      fc.property(uint64, uint64, (offset, size) => {
        const fits = (offset === 0n || offset < 64n) && offset + size <= 64n;
        try {
          registry.acquire('w', offset, size).release();
          expect(fits).toBe(true);
        } catch (error) {
          expect(fits).toBe(false);
          expect((error as Error).message).toMatch(/^(Invalid offset|Integer overflow detected)/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
