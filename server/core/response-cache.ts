/**
 * Triton's response cache (the `local` cache implementation): inference results by request hash, bounded by bytes,
 * least recently used entries evicted first. Shared by every model whose config says `response_cache { enable: true }`.
 */
import { isBytesData, Tensor } from './tensor';

/** Which loaded model version an entry belongs to; a reload makes a new owner, and the old one's entries go. */
export interface CacheOwner {
  readonly model: string;
  readonly version: string;
  /** Identity of the loaded version (a reloaded version has a new token even with the same number). */
  readonly token: object;
}

/** Cache-wide counters, Triton's nv_cache_* families (durations in nanoseconds). */
export interface ResponseCacheStats {
  readonly byteSize: number;
  readonly bytesUsed: number;
  readonly entries: number;
  readonly lookups: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly lookupNs: number;
  readonly insertionNs: number;
}

export type InsertOutcome = 'inserted' | 'exists' | 'too_large';

/** What the facade needs from a cache implementation (Triton's TRITONCACHE lookup / insert). */
export interface ResponseCache {
  /** The stored outputs, or undefined; a hit becomes the most recently used entry. */
  lookup(key: string, owner: CacheOwner): readonly Tensor[] | undefined;
  /** Store a copy of `outputs`, evicting least recently used entries to make room. */
  insert(key: string, owner: CacheOwner, outputs: readonly Tensor[]): InsertOutcome;
  /** Drop every entry of a model version (it was unloaded). */
  removeVersion(model: string, version: string): void;
  stats(): ResponseCacheStats;
}

interface Entry {
  readonly owner: CacheOwner;
  readonly outputs: readonly Tensor[];
  readonly bytes: number;
}

/**
 * The `local` cache: a Map kept in recency order (re-inserted on every hit, so the first key is the least recently
 * used). Entries are copies, detached from worker buffers; hits hand out the same read-only tensors to every request.
 */
export class LocalResponseCache implements ResponseCache {
  private readonly entries = new Map<string, Entry>();
  /** Keys per `model\0version`, with the owner that inserted them, so unload and reload find them without a scan. */
  private readonly partitions = new Map<string, { token: object; keys: Set<string> }>();
  private bytesUsed = 0;
  private counters = { lookups: 0, hits: 0, misses: 0, evictions: 0, lookupNs: 0, insertionNs: 0 };

  /** `warn` hears of results not stored because they are larger than the whole cache (Triton logs those). */
  constructor(
    readonly byteSize: number,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  lookup(key: string, owner: CacheOwner): readonly Tensor[] | undefined {
    const started = process.hrtime.bigint();
    this.counters.lookups += 1;
    let entry = this.entries.get(key);
    if (entry && entry.owner.token !== owner.token) {
      // Left by an earlier load of this version: the reloaded model may answer differently.
      this.dropPartition(owner.model, owner.version);
      entry = undefined;
    }
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.counters.hits += 1;
    } else {
      this.counters.misses += 1;
    }
    this.counters.lookupNs += Number(process.hrtime.bigint() - started);
    return entry?.outputs;
  }

  insert(key: string, owner: CacheOwner, outputs: readonly Tensor[]): InsertOutcome {
    const started = process.hrtime.bigint();
    try {
      const bytes = entryByteSize(outputs);
      if (bytes > this.byteSize) {
        this.warn(
          `Failed to insert response of model '${owner.model}' version ${owner.version} into the response cache: ` +
            `its ${bytes} bytes exceed the cache size of ${this.byteSize} bytes`,
        );
        return 'too_large';
      }
      const partitionKey = partitionOf(owner.model, owner.version);
      let partition = this.partitions.get(partitionKey);
      if (partition && partition.token !== owner.token) {
        this.dropPartition(owner.model, owner.version);
        partition = undefined;
      }
      // Two identical requests that both missed: the first answer stays (Triton refuses the second insert).
      if (this.entries.has(key)) return 'exists';
      while (this.bytesUsed + bytes > this.byteSize) this.evictLeastRecentlyUsed();
      if (!partition) {
        partition = { token: owner.token, keys: new Set() };
        this.partitions.set(partitionKey, partition);
      }
      this.entries.set(key, { owner, outputs: outputs.map(copyTensor), bytes });
      partition.keys.add(key);
      this.bytesUsed += bytes;
      return 'inserted';
    } finally {
      this.counters.insertionNs += Number(process.hrtime.bigint() - started);
    }
  }

  removeVersion(model: string, version: string): void {
    this.dropPartition(model, version);
  }

  stats(): ResponseCacheStats {
    return { byteSize: this.byteSize, bytesUsed: this.bytesUsed, entries: this.entries.size, ...this.counters };
  }

  private evictLeastRecentlyUsed(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done) return;
    this.remove(oldest.value);
    this.counters.evictions += 1;
  }

  private dropPartition(model: string, version: string): void {
    const partitionKey = partitionOf(model, version);
    const partition = this.partitions.get(partitionKey);
    if (!partition) return;
    for (const key of partition.keys) this.remove(key);
    this.partitions.delete(partitionKey);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytesUsed -= entry.bytes;
    this.partitions.get(partitionOf(entry.owner.model, entry.owner.version))?.keys.delete(key);
  }
}

function partitionOf(model: string, version: string): string {
  return `${model}\u0000${version}`;
}

/**
 * Bytes an entry takes, counted as Triton's cache entry serialises a response: per output its name, datatype and
 * shape (8 bytes a dimension) and its data (BYTES elements with their 4-byte length prefix).
 */
export function entryByteSize(outputs: readonly Tensor[]): number {
  let total = 0;
  for (const output of outputs) {
    total += Buffer.byteLength(output.name) + output.datatype.length + 8 * output.shape.length;
    if (isBytesData(output.data)) {
      total += output.data.byteLength;
    } else {
      total += output.data.byteLength;
    }
  }
  return total;
}

/** A tensor with its own buffers: what the cache stores, and what each hit hands out. */
export function copyTensor(tensor: Tensor): Tensor {
  const data = tensor.data.slice();
  return { name: tensor.name, datatype: tensor.datatype, shape: [...tensor.shape], data };
}
