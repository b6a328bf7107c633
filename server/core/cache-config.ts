/**
 * Triton's response cache flags: `--cache-config <cache>,<setting>=<value>` (repeatable) and the deprecated
 * `--response-cache-byte-size <bytes>`. Messages are Triton's where it has one.
 */

/** The cache the server runs; absent: no cache. */
export interface ResponseCacheSettings {
  /** Only Triton's `local` cache is implemented (in process, shared by every model). */
  readonly implementation: 'local';
  readonly byteSize: number;
}

export class CacheConfigError extends Error {}

export interface ParsedCacheConfig {
  readonly settings?: ResponseCacheSettings;
  /** Deprecation notices Triton prints to stderr. */
  readonly warnings: string[];
}

export function parseCacheConfig(cacheConfig: readonly string[], responseCacheByteSize: string | undefined): ParsedCacheConfig {
  if (cacheConfig.length > 0 && responseCacheByteSize !== undefined) {
    throw new CacheConfigError(
      'Error: Incompatible flags --response-cache-byte-size and --cache-config both provided. Please provide one or the other.',
    );
  }
  if (responseCacheByteSize !== undefined) {
    const trimmed = responseCacheByteSize.trim();
    if (!/^[0-9]+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
      throw new CacheConfigError(`Bad option: "--response-cache-byte-size".\nInvalid option value. Got ${responseCacheByteSize}`);
    }
    const warnings = [
      "Warning: '--response-cache-byte-size' has been deprecated! This will default to the 'local' cache implementation " +
        "with the provided byte size for its config. Please use '--cache-config' instead. The equivalent --cache-config " +
        `CLI args would be: '--cache-config=local,size=${Number(trimmed)}'`,
    ];
    // Before --cache-config, 0 (the flag's default) meant "no cache"; configurations that pass 0 keep that meaning.
    const byteSize = Number(trimmed);
    return byteSize === 0 ? { warnings } : { settings: { implementation: 'local', byteSize }, warnings };
  }
  if (cacheConfig.length === 0) return { warnings: [] };

  const byCache = new Map<string, Map<string, string>>();
  for (const entry of cacheConfig) {
    const [name, setting, value] = splitEntry(entry);
    const settings = byCache.get(name) ?? new Map<string, string>();
    settings.set(setting, value);
    byCache.set(name, settings);
  }
  if (byCache.size > 1) {
    throw new CacheConfigError(
      `found multiple cache configurations (${[...byCache.keys()].map((n) => `'${n}'`).join(', ')}), ` +
        'but only one cache may be used at a time',
    );
  }
  const [[name, settings]] = [...byCache.entries()];
  if (name !== 'local') {
    throw new CacheConfigError(`unknown cache '${name}': this server implements only the 'local' cache (--cache-config=local,size=<bytes>)`);
  }
  const size = settings.get('size');
  if (size === undefined || !/^[0-9]+$/.test(size.trim()) || !Number.isSafeInteger(Number(size.trim()))) {
    throw new CacheConfigError("Failed to initialize LocalCache: config didn't contain a valid 'size' field.");
  }
  const byteSize = Number(size.trim());
  if (byteSize === 0) throw new CacheConfigError('Failed to initialize LocalCache: size must be greater than 0');
  return { settings: { implementation: 'local', byteSize }, warnings: [] };
}

/** `<cache>,<setting>=<value>` → its three parts, as Triton's ParseCacheConfigOption splits it. */
function splitEntry(entry: string): [string, string, string] {
  const comma = entry.indexOf(',');
  if (comma <= 0) {
    throw new CacheConfigError(`No cache specified. --cache-config option format is <cache name>,<setting>=<value>. Got ${entry}`);
  }
  const equals = entry.indexOf('=', comma + 1);
  const setting = equals < 0 ? '' : entry.slice(comma + 1, equals);
  const value = equals < 0 ? '' : entry.slice(equals + 1);
  if (setting === '' || value === '') {
    throw new CacheConfigError(`--cache-config option format is '<cache name>,<setting>=<value>'. Got ${entry}`);
  }
  return [entry.slice(0, comma), setting, value];
}
