/**
 * Triton's system shared memory extension: the registry of regions clients registered, and positioned I/O on them.
 *
 * A client creates a POSIX shared memory object (shm_open + ftruncate + mmap; on Linux a file under /dev/shm) and
 * registers a window of it (key, offset, byte_size) under a name. Node has no mmap, so at register we open the
 * /dev/shm file and keep its descriptor; inference reads and writes tensors with positioned fs.readSync / fs.writeSync.
 * On Linux tmpfs those go through the same page cache pages the client's MAP_SHARED mapping points at, so what we
 * write is what the client reads through its mapping, with no copy to disk and no msync needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Errors } from './errors';

/** Where Linux's shm_open keeps its objects. */
export const SHM_DIRECTORY = '/dev/shm';

/** What status reports for one region (Triton's field names). */
export interface SystemSharedMemoryRegionStatus {
  readonly name: string;
  readonly key: string;
  readonly offset: number;
  readonly byte_size: number;
}

interface Region extends SystemSharedMemoryRegionStatus {
  readonly fd: number;
  /** In-flight requests using the region; the descriptor closes when it reaches 0 after unregister. */
  leases: number;
  unregistered: boolean;
}

/** A validated window of a region held by one request: released (once) when the request is done with it. */
export interface SharedMemoryLease {
  readonly region: string;
  /** Byte size of the window the request asked for. */
  readonly byteSize: number;
  read(): Buffer;
  write(bytes: Uint8Array): void;
  release(): void;
}

/**
 * The file shm_open would open for `key`: one optional leading '/', then a name with no '/' (shm_open refuses
 * any other separator with EINVAL). Undefined when the key is not a valid shared memory object name.
 */
export function shmPathOfKey(key: string): string | undefined {
  const name = key.startsWith('/') ? key.slice(1) : key;
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return undefined;
  if (Buffer.byteLength(name) > 255) return undefined; // NAME_MAX
  return path.join(SHM_DIRECTORY, name);
}

const isSize = (value: number) => Number.isSafeInteger(value) && value >= 0;

export class SystemSharedMemoryRegistry {
  private readonly regions = new Map<string, Region>();

  /** Open the key's shared memory object and remember the window [offset, offset + byteSize) under `name`. */
  register(name: string, key: string, offset: number, byteSize: number): void {
    if (this.regions.has(name)) throw Errors.shmAlreadyRegistered(name);
    if (!isSize(offset) || !isSize(byteSize)) throw Errors.shmRegisterInvalidArgs(name);
    const file = shmPathOfKey(key);
    if (file === undefined) throw Errors.shmInvalidKey(key);
    let fd: number;
    try {
      // Synchronous on purpose: tmpfs opens do not block, and the name check above stays atomic with the insert.
      fd = fs.openSync(file, 'r+');
    } catch {
      throw Errors.shmOpenFailed(key);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw Errors.shmOpenFailed(key);
      if (offset + byteSize > stat.size) throw Errors.shmRegisterInvalidArgs(name);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    this.regions.set(name, { name, key, offset, byte_size: byteSize, fd, leases: 0, unregistered: false });
  }

  /** Every region, or the named one (NOT_FOUND when it is not registered). */
  status(name?: string): SystemSharedMemoryRegionStatus[] {
    if (name) {
      const region = this.regions.get(name);
      if (!region) throw Errors.shmStatusNotFound(name);
      return [statusOf(region)];
    }
    return [...this.regions.values()].map(statusOf);
  }

  /**
   * Forget one region (or all): a name that is not registered is no error, as in Triton. A region that requests
   * are still using keeps its descriptor open until the last of them is done.
   */
  unregister(name?: string): void {
    const names = name ? [name] : [...this.regions.keys()];
    for (const each of names) {
      const region = this.regions.get(each);
      if (!region) continue;
      this.regions.delete(each);
      region.unregistered = true;
      if (region.leases === 0) closeQuietly(region.fd);
    }
  }

  /** Names of the registered regions. */
  names(): string[] {
    return [...this.regions.keys()];
  }

  /** Shutdown: unregister everything, closing every descriptor no request holds. */
  close(): void {
    this.unregister();
  }

  /**
   * Validate a request's window of a region (Triton's GetMemoryInfo checks and wording) and hold the region until
   * release(), so an unregister meanwhile cannot close the descriptor under it.
   */
  acquire(name: string, offset: number, byteSize: number): SharedMemoryLease {
    const region = this.regions.get(name);
    if (!region) throw Errors.shmRegionNotFound(name);
    if (!isSize(offset) || (offset > 0 && offset >= region.byte_size)) throw Errors.shmInvalidOffset(name);
    if (!isSize(byteSize) || offset + byteSize > region.byte_size) throw Errors.shmInvalidOffsetAndSize(name);
    region.leases += 1;
    const position = region.offset + offset;
    let released = false;
    return {
      region: name,
      byteSize,
      read: () => readFully(region.fd, position, byteSize),
      write: (bytes) => writeFully(region.fd, position, bytes),
      release: () => {
        if (released) return;
        released = true;
        region.leases -= 1;
        if (region.unregistered && region.leases === 0) closeQuietly(region.fd);
      },
    };
  }
}

function statusOf(region: Region): SystemSharedMemoryRegionStatus {
  return { name: region.name, key: region.key, offset: region.offset, byte_size: region.byte_size };
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed: nothing left to release.
  }
}

/**
 * Positioned reads and writes are synchronous on purpose: on tmpfs they are a memcpy, and doing them inline keeps a
 * request's shared memory work atomic with its lease (no I/O still queued when the lease, and maybe the fd, is
 * released) and keeps requests in arrival order (a sequence's next request cannot overtake one reading its inputs).
 */
function readFully(fd: number, position: number, byteSize: number): Buffer {
  const buffer = Buffer.allocUnsafe(byteSize);
  let done = 0;
  while (done < byteSize) {
    let count: number;
    try {
      count = fs.readSync(fd, buffer, done, byteSize - done, position + done);
    } catch (error) {
      throw Errors.shmIoFailed((error as Error).message);
    }
    // The client shrank the object below the registered window: the rest reads as nothing.
    if (count === 0) throw Errors.shmIoFailed('the shared memory object is smaller than the registered region');
    done += count;
  }
  return buffer;
}

function writeFully(fd: number, position: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    try {
      done += fs.writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
    } catch (error) {
      throw Errors.shmIoFailed((error as Error).message);
    }
  }
}
