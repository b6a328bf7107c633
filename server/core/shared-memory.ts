/**
 * Triton's system shared memory extension: the registry of regions clients registered, and positioned I/O on them.
 *
 * A client creates a POSIX shared memory object (shm_open + ftruncate + mmap; on Linux a file under /dev/shm) and
 * registers a window of it (key, offset, byte_size) under a name. Node has no mmap, so we open the /dev/shm file and
 * read and write tensors with positioned fs.readSync / fs.writeSync. On Linux tmpfs those go through the same page
 * cache pages the client's MAP_SHARED mapping points at, so what we write is what the client reads through its
 * mapping, with no copy to disk and no msync needed.
 *
 * Hostile keys: the object opens as glibc's shm_open opens it (O_NOFOLLOW, so a /dev/shm entry linked to another file
 * is refused with ELOOP as Triton refuses it) and must be a regular file. Descriptors: at most `maxOpenDescriptors` stay
 * open between requests (least recently used closed first); a region whose descriptor was closed reopens by key at its
 * next use and must still be the same object (device and inode) it was at register.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Errors } from './errors';

/** Where Linux's shm_open keeps its objects. */
export const SHM_DIRECTORY = '/dev/shm';

/** Triton's kTritonSharedMemoryRegionPrefix: its Python backend's own regions, never registrable by clients. */
export const TRITON_RESERVED_SHM_PREFIX = 'triton_python_backend_shm_region_';

/** Descriptors kept open between requests by default: a few per client covers real setups (4 per `simple` client). */
export const DEFAULT_MAX_OPEN_SHM_DESCRIPTORS = 128;

/** Largest size_t (Triton's SIZE_MAX on 64-bit Linux): offsets and sizes arrive as uint64. */
const SIZE_MAX = (1n << 64n) - 1n;

/** What status reports for one region (Triton's field names). */
export interface SystemSharedMemoryRegionStatus {
  readonly name: string;
  readonly key: string;
  readonly offset: number;
  readonly byte_size: number;
}

interface Region extends SystemSharedMemoryRegionStatus {
  /** The object registered: a reopen must find the same one. */
  readonly dev: number;
  readonly ino: number;
  /** Open descriptor, or undefined while closed to stay under the cap. */
  fd: number | undefined;
  /** In-flight requests using the region. */
  leases: number;
  /** Unregistered while in use: still listed (as in Triton) until the last request is done, then removed. */
  awaitingUnregister: boolean;
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

export interface SystemSharedMemoryRegistryOptions {
  /** Descriptors kept open while no request uses them (default DEFAULT_MAX_OPEN_SHM_DESCRIPTORS). */
  readonly maxOpenDescriptors?: number;
  /**
   * Key prefixes clients may not register (beside Triton's reserved one): the server's own Python backend tensor
   * files, so a client cannot read or write other requests' tensors.
   */
  readonly reservedKeyPrefixes?: readonly string[];
}

/**
 * The file shm_open would open for `key`, as glibc names it: leading '/'s skipped, then a name with no '/' (shm_open
 * refuses any other separator with EINVAL) of at most NAME_MAX - 2 bytes. Undefined when the key is not a valid name.
 */
export function shmPathOfKey(key: string): string | undefined {
  const name = shmNameOfKey(key);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return undefined;
  if (Buffer.byteLength(name) >= 254) return undefined; // glibc: strlen(name) + 1 >= NAME_MAX is EINVAL
  return path.join(SHM_DIRECTORY, name);
}

function shmNameOfKey(key: string): string {
  return key.replace(/^\/+/, '');
}

/** A size as Triton reads it (uint64): a safe integer, or a bigint up to 2^64 - 1. */
export type Uint64 = number | bigint;

const isSize = (value: number) => Number.isSafeInteger(value) && value >= 0;

export class SystemSharedMemoryRegistry {
  private readonly regions = new Map<string, Region>();
  /** Regions with an open descriptor and no request using it, least recently used first. */
  private readonly idle = new Set<Region>();
  private openDescriptors = 0;
  private readonly maxOpenDescriptors: number;
  private readonly reservedPrefixes: readonly string[];

  constructor(options: SystemSharedMemoryRegistryOptions = {}) {
    this.maxOpenDescriptors = options.maxOpenDescriptors ?? DEFAULT_MAX_OPEN_SHM_DESCRIPTORS;
    this.reservedPrefixes = options.reservedKeyPrefixes ?? [];
  }

  /** Open the key's shared memory object and remember the window [offset, offset + byteSize) under `name`. */
  register(name: string, key: string, offset: number, byteSize: number): void {
    // Triton's order: key checks (ValidateSharedMemoryKey), then the name, then open and bounds.
    const shmName = shmNameOfKey(key);
    if (shmName === '') throw Errors.shmInvalidKey(name, key);
    if (shmName.startsWith(TRITON_RESERVED_SHM_PREFIX)) throw Errors.shmReservedKey(name, key, TRITON_RESERVED_SHM_PREFIX);
    const ours = this.reservedPrefixes.find((prefix) => prefix !== '' && shmName.startsWith(prefix));
    if (ours !== undefined) throw Errors.shmReservedKey(name, key, ours);
    if (this.regions.has(name)) throw Errors.shmAlreadyRegistered(name);
    const file = shmPathOfKey(key);
    if (file === undefined) throw Errors.shmOpenFailed(key);
    // Synchronous on purpose: tmpfs opens do not block, and the name check above stays atomic with the insert.
    const fd = openShmObject(file, key);
    let stat: fs.Stats;
    try {
      stat = fs.fstatSync(fd);
      if (!isSize(offset) || !isSize(byteSize) || offset + byteSize > stat.size) throw Errors.shmRegisterInvalidArgs(name);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    const region: Region = { name, key, offset, byte_size: byteSize, dev: stat.dev, ino: stat.ino, fd, leases: 0, awaitingUnregister: false };
    this.regions.set(name, region);
    this.openDescriptors += 1;
    this.makeIdle(region);
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
   * Forget one region (or all): a name that is not registered is no error, as in Triton. A region that requests are
   * still using stays registered (and listed) until the last of them is done, as Triton's awaiting_unregister.
   */
  unregister(name?: string): void {
    const names = name ? [name] : [...this.regions.keys()];
    for (const each of names) {
      const region = this.regions.get(each);
      if (!region) continue;
      if (region.leases > 0) region.awaitingUnregister = true;
      else this.remove(region);
    }
  }

  /** Names of the registered regions. */
  names(): string[] {
    return [...this.regions.keys()];
  }

  /** Open descriptors now (idle and in use). */
  openDescriptorCount(): number {
    return this.openDescriptors;
  }

  /**
   * Shutdown (after the frontends stopped): unregister everything. A request still holding a region (none should) keeps
   * its descriptor until it lets go, so a late write can never land in a reused descriptor number.
   */
  close(): void {
    this.unregister();
  }

  /**
   * Validate a request's window of a region (Triton's GetMemoryInfo checks, order and wording) and hold the region
   * until release(), so an unregister meanwhile cannot remove it under the request.
   */
  acquire(name: string, offset: Uint64, byteSize: Uint64): SharedMemoryLease {
    const region = this.regions.get(name);
    if (!region) throw Errors.shmRegionNotFound(name);
    checkWindow(region, offset, byteSize);
    const [start, size] = [Number(offset), Number(byteSize)];
    const fd = this.descriptorOf(region);
    region.leases += 1;
    this.idle.delete(region);
    const position = region.offset + start;
    let released = false;
    return {
      region: name,
      byteSize: size,
      read: () => readFully(fd, position, size),
      write: (bytes) => writeFully(fd, position, bytes),
      release: () => {
        if (released) return;
        released = true;
        region.leases -= 1;
        if (region.leases > 0) return;
        if (region.awaitingUnregister) this.remove(region);
        else this.makeIdle(region);
      },
    };
  }

  /** The region's descriptor, reopened by key if it was closed to stay under the cap. */
  private descriptorOf(region: Region): number {
    if (region.fd !== undefined) return region.fd;
    const fd = openShmObject(shmPathOfKey(region.key)!, region.key);
    const stat = fs.fstatSync(fd);
    if (stat.dev !== region.dev || stat.ino !== region.ino) {
      fs.closeSync(fd);
      throw Errors.shmRegionReplaced(region.name, region.key);
    }
    region.fd = fd;
    this.openDescriptors += 1;
    return fd;
  }

  /** No request uses the region: its descriptor joins the idle ones, and the least recently used close past the cap. */
  private makeIdle(region: Region): void {
    this.idle.delete(region);
    this.idle.add(region);
    for (const oldest of this.idle) {
      if (this.openDescriptors <= this.maxOpenDescriptors) break;
      this.closeDescriptor(oldest);
      this.idle.delete(oldest);
    }
  }

  private remove(region: Region): void {
    if (this.regions.get(region.name) === region) this.regions.delete(region.name);
    this.idle.delete(region);
    this.closeDescriptor(region);
  }

  private closeDescriptor(region: Region): void {
    if (region.fd === undefined) return;
    try {
      fs.closeSync(region.fd);
    } catch {
      // Already closed: nothing left to release.
    }
    region.fd = undefined;
    this.openDescriptors -= 1;
  }
}

/**
 * Open a shared memory object as glibc's shm_open does (O_RDWR | O_NOFOLLOW | O_CLOEXEC; Node sets O_CLOEXEC itself)
 * and insist on a regular file: a symbolic link (ELOOP), a FIFO (O_NONBLOCK keeps the open from waiting on one), a
 * device or a directory is refused with Triton's "Unable to open" error.
 */
function openShmObject(file: string, key: string): number {
  const { O_RDWR, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    throw Errors.shmOpenFailed(key);
  }
  let regular = false;
  try {
    regular = fs.fstatSync(fd).isFile();
  } finally {
    if (!regular) fs.closeSync(fd);
  }
  if (!regular) throw Errors.shmOpenFailed(key);
  return fd;
}

/** Triton's GetMemoryInfo checks, in its order; numbers (every real request) skip the bigint arithmetic. */
function checkWindow(region: Region, offset: Uint64, byteSize: Uint64): void {
  const { name, byte_size: regionSize } = region;
  // A zero-size window at offset 0 of an empty region is allowed (an empty tensor); Triton refuses any offset >= size.
  if (typeof offset === 'number' && typeof byteSize === 'number') {
    if (offset > 0 && offset >= regionSize) throw Errors.shmInvalidOffset(name);
    if (offset + byteSize > regionSize) throw Errors.shmInvalidOffsetAndSize(name);
    return;
  }
  const [start, size] = [BigInt(offset), BigInt(byteSize)];
  if (start > 0n && start >= BigInt(regionSize)) throw Errors.shmInvalidOffset(name);
  if (size > SIZE_MAX - start) throw Errors.shmIntegerOverflow(name, byteSize, offset, SIZE_MAX);
  if (start + size > BigInt(regionSize)) throw Errors.shmInvalidOffsetAndSize(name);
}

function statusOf(region: Region): SystemSharedMemoryRegionStatus {
  return { name: region.name, key: region.key, offset: region.offset, byte_size: region.byte_size };
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
