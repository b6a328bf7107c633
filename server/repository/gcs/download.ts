import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CRC32C, type File } from '@google-cloud/storage';
import { IntegrityError, StalledDownloadError } from './retry';

/** One object of a model as listed: what to fetch and what its bytes must hash to. */
export interface RemoteObject {
  /** Full object name in the bucket. */
  readonly name: string;
  /** Path below the model's directory, '/'-separated. */
  readonly relative: string;
  readonly generation: string;
  /** Stored size in bytes. */
  readonly size: number;
  /** base64 big-endian CRC32C of the stored bytes (every object has one). */
  readonly crc32c?: string;
  /** base64 MD5 of the stored bytes (absent for composite objects). */
  readonly md5Hash?: string;
  /** 'gzip' when stored gzip-compressed (hashes cover the compressed bytes; the cache keeps them decompressed). */
  readonly contentEncoding?: string;
}

export interface DownloadProgress {
  (bytes: number): void;
}

/**
 * Download one object generation into `temp`, hashing the stored bytes as they stream, and check size, crc32c and md5
 * before returning. A mismatch throws IntegrityError (retryable). Returns the size of the file on disk.
 */
export async function downloadVerified(
  file: File,
  object: RemoteObject,
  temp: string,
  onProgress?: DownloadProgress,
  stallTimeoutMs = 60_000,
): Promise<number> {
  const where = `gs://${file.bucket.name}/${object.name}#${object.generation}`;
  const crc = new CRC32C();
  const md5 = object.md5Hash ? createHash('md5') : undefined;
  let bytes = 0;
  const source = file.createReadStream({ validation: false, decompress: false });
  let watchdog: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(
      () => source.destroy(new StalledDownloadError(`${where}: no data for ${stallTimeoutMs} ms after ${bytes} of ${object.size} bytes`)),
      stallTimeoutMs,
    );
  };
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      crc.update(chunk);
      md5?.update(chunk);
      bytes += chunk.length;
      arm();
      onProgress?.(bytes);
      callback(null, chunk);
    },
  });
  // Our own validation, not the library's: it checks the stored bytes against the listing we pinned the generation from.
  arm();
  try {
    await pipeline(source, hasher, createWriteStream(temp));
  } finally {
    clearTimeout(watchdog);
  }

  if (bytes !== object.size) throw new IntegrityError(`${where}: truncated download, got ${bytes} of ${object.size} bytes`);
  if (object.crc32c !== undefined && crc.toString() !== object.crc32c) {
    throw new IntegrityError(`${where}: crc32c mismatch, expected ${object.crc32c}, got ${crc.toString()}`);
  }
  if (md5 && object.md5Hash !== undefined) {
    const actual = md5.digest('base64');
    if (actual !== object.md5Hash) throw new IntegrityError(`${where}: md5 mismatch, expected ${object.md5Hash}, got ${actual}`);
  }
  if (object.contentEncoding === 'gzip') {
    const plain = `${temp}.gunzip`;
    await pipeline(createReadStream(temp), createGunzip(), createWriteStream(plain));
    await fs.rename(plain, temp);
  }
  return (await fs.stat(temp)).size;
}
