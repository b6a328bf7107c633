/** Shared by the shared memory suites: /dev/shm objects made by the test (TS-only or by a python3 process), cleaned up. */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const RANGE_16 = Array.from({ length: 16 }, (_, i) => i);
export const ONES_16: number[] = new Array<number>(16).fill(1);
export const SUMS = RANGE_16.map((v) => v + 1);
export const DIFFERENCES = RANGE_16.map((v) => v - 1);

let counter = 0;
const created = new Set<string>();

/** A key nobody else uses: /<prefix>_<pid>_<n>. */
export function uniqueKey(prefix = 'cdk8s_shm_test'): string {
  counter += 1;
  return `/${prefix}_${process.pid}_${counter}`;
}

export function fileOf(key: string): string {
  return path.join('/dev/shm', key.replace(/^\//, ''));
}

/** A shared memory object of `size` zero bytes, written directly as a /dev/shm file (what shm_open + ftruncate make). */
export function createShmFile(size: number, key = uniqueKey()): ShmFile {
  const file = fileOf(key);
  fs.writeFileSync(file, Buffer.alloc(size));
  created.add(file);
  return new ShmFile(key, file);
}

export class ShmFile {
  constructor(
    readonly key: string,
    readonly file: string,
  ) {}

  write(offset: number, bytes: Uint8Array): void {
    const fd = fs.openSync(this.file, 'r+');
    try {
      fs.writeSync(fd, bytes, 0, bytes.byteLength, offset);
    } finally {
      fs.closeSync(fd);
    }
  }

  read(offset: number, length: number): Buffer {
    return fs.readFileSync(this.file).subarray(offset, offset + length);
  }

  remove(): void {
    fs.rmSync(this.file, { force: true });
    created.delete(this.file);
  }
}

/** Remove every /dev/shm file this process's tests created (afterAll). */
export function removeCreatedShmFiles(): void {
  for (const file of created) fs.rmSync(file, { force: true });
  created.clear();
}

export function int32Bytes(values: number[]): Buffer {
  return Buffer.from(Int32Array.from(values).buffer);
}

export function int32sOf(bytes: Uint8Array): number[] {
  const copy = new Uint8Array(bytes);
  return Array.from(new Int32Array(copy.buffer, 0, copy.length / 4));
}

/** Open /dev/shm descriptors of this process that point at `file` (to see that the server closed them). */
export function openDescriptorsOf(file: string): number {
  let count = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) count += 1;
    } catch {
      // closed while listing
    }
  }
  return count;
}

/**
 * The client side as Triton clients do it, in another process: python3 shm_open-equivalent (create the /dev/shm
 * object, ftruncate, mmap MAP_SHARED), the `simple` inputs written through the mapping. `collect()` then reads the
 * outputs back through that same mapping and unlinks the object.
 */
const PYTHON_CLIENT = `
import mmap, os, struct, sys, json
name, size, out_offset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open('/dev/shm/' + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
os.ftruncate(fd, size)
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.close(fd)
m[0:64] = struct.pack('<16i', *range(16))
m[64:128] = struct.pack('<16i', *([1] * 16))
print('ready', flush=True)
sys.stdin.readline()
out0 = list(struct.unpack('<16i', m[out_offset:out_offset + 64]))
out1 = list(struct.unpack('<16i', m[out_offset + 64:out_offset + 128]))
m.close()
os.unlink('/dev/shm/' + name)
print(json.dumps({'OUTPUT0': out0, 'OUTPUT1': out1}), flush=True)
`;

export interface PythonShmClient {
  readonly key: string;
  readonly outputOffset: number;
  /** Tell python to read the outputs through its mapping; resolves to what it read. */
  collect(): Promise<{ OUTPUT0: number[]; OUTPUT1: number[] }>;
  /** Stop python (if it has not exited) and wait until it has: no child outlives the test file. */
  close(): Promise<void>;
}

/** Inputs at 0 (INPUT0) and 64 (INPUT1), outputs at 128 (OUTPUT0) and 192 (OUTPUT1): 256 bytes in all. */
export async function startPythonShmClient(): Promise<PythonShmClient> {
  const key = uniqueKey('cdk8s_shm_py');
  created.add(fileOf(key));
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', PYTHON_CLIENT, key.slice(1), '256', '128']);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = readline.createInterface({ input: child.stdout });
  // The end of stdout, not the process's exit, means no line is coming: python prints its last line and exits, and
  // 'exit' may come before that line is read.
  let ended = false;
  lines.once('close', () => (ended = true));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      if (ended) return reject(new Error(`python's output ended: ${stderr}`));
      const onClose = () => reject(new Error(`python's output ended: ${stderr}`));
      lines.once('close', onClose);
      lines.once('line', (line: string) => {
        lines.off('close', onClose);
        resolve(line);
      });
    });
  const ready = await next();
  if (ready !== 'ready') throw new Error(`python said ${ready}: ${stderr}`);
  return {
    key,
    outputOffset: 128,
    async collect() {
      const result = next();
      child.stdin.write('go\n');
      return JSON.parse(await result) as { OUTPUT0: number[]; OUTPUT1: number[] };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
