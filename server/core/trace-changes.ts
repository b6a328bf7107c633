/**
 * A trace settings update as Triton reads it (http_server.cc HandleTrace, grpc TraceSetting): each named setting is
 * set, or cleared (null over HTTP, an empty value list over gRPC) so that it follows the global setting again.
 * Numbers are read the way std::stoi reads them (leading blanks, a sign, the leading digits).
 */
import { Errors } from './errors';
import type { TraceLevel } from './trace-setting';
import { UNLIMITED_TRACE_COUNT } from './trace-setting';

/** A change per setting name: the value list (trace_level may hold several), or null to clear it. */
export type TraceSettingChanges = Readonly<Record<string, readonly string[] | null>>;

/** What an update sets or clears; a field left undefined (and not cleared) keeps its current value. */
export interface TraceUpdate {
  readonly levels?: readonly TraceLevel[];
  readonly rate?: number;
  readonly count?: number;
  readonly logFrequency?: number;
  readonly clear: ReadonlySet<'level' | 'rate' | 'count' | 'logFrequency'>;
}

const UINT32_MAX = 0xffff_ffff;
const INT32_MAX = 0x7fff_ffff;
const INT32_MIN = -0x8000_0000;

const has = (changes: TraceSettingChanges, name: string) => Object.prototype.hasOwnProperty.call(changes, name);

/** Validate in Triton's order (file, level, rate, count, log_frequency); the first bad one fails the update. */
export function parseTraceChanges(changes: TraceSettingChanges): TraceUpdate {
  if (has(changes, 'trace_file')) throw Errors.traceFileNotUpdatable();
  const clear = new Set<'level' | 'rate' | 'count' | 'logFrequency'>();
  let levels: TraceLevel[] | undefined;
  if (has(changes, 'trace_level')) {
    const values = changes.trace_level;
    if (values === null || values.length === 0) clear.add('level');
    else levels = parseLevels(values);
  }
  const rate = numberSetting(changes, 'trace_rate', 'rate', clear, (text) => unsigned('trace_rate', text));
  const count = numberSetting(changes, 'trace_count', 'count', clear, parseCount);
  const logFrequency = numberSetting(changes, 'log_frequency', 'logFrequency', clear, (text) => unsigned('log_frequency', text));
  return {
    ...(levels !== undefined ? { levels } : {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(logFrequency !== undefined ? { logFrequency } : {}),
    clear,
  };
}

/** OFF alone turns tracing off; TIMESTAMPS and TENSORS combine; other names are ignored, as Triton ignores them. */
function parseLevels(values: readonly string[]): TraceLevel[] | undefined {
  let set: Set<TraceLevel> | undefined;
  for (const value of values) {
    if (value === 'OFF') {
      if (values.length !== 1) throw Errors.traceOffNotAlone();
      return [];
    }
    if (value === 'TIMESTAMPS' || value === 'TENSORS') (set ??= new Set()).add(value);
  }
  if (!set) return undefined;
  return (['TIMESTAMPS', 'TENSORS'] as const).filter((level) => set.has(level));
}

function numberSetting(
  changes: TraceSettingChanges,
  name: string,
  field: 'rate' | 'count' | 'logFrequency',
  clear: Set<'level' | 'rate' | 'count' | 'logFrequency'>,
  parse: (text: string) => number,
): number | undefined {
  if (!has(changes, name)) return undefined;
  const values = changes[name];
  if (values === null || values.length === 0) {
    clear.add(field);
    return undefined;
  }
  return parse(values[0]);
}

/** std::stoi: undefined when no digits lead the text, else the (possibly huge) integer they spell. */
export function stoi(text: string): bigint | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(text);
  return match ? BigInt(match[1]) : undefined;
}

/** Triton reads these with std::stoi (an int) into a uint32 and names the uint32 range when stoi overflows. */
function unsigned(name: string, text: string): number {
  const value = stoi(text);
  if (value === undefined) throw Errors.traceNotParsable(name, text);
  // A negative value would wrap around in Triton; it is refused here with the same message.
  if (value < 0n || value > BigInt(INT32_MAX)) throw Errors.traceOutOfRange(name, 0, UINT32_MAX, text);
  return Number(value);
}

function parseCount(text: string): number {
  const value = stoi(text);
  if (value === undefined) throw Errors.traceNotParsable('trace_count', text);
  if (value < BigInt(INT32_MIN) || value > BigInt(INT32_MAX)) {
    throw Errors.traceOutOfRange('trace_count', UNLIMITED_TRACE_COUNT, INT32_MAX, text);
  }
  if (value < BigInt(UNLIMITED_TRACE_COUNT)) throw Errors.traceCountTooSmall(UNLIMITED_TRACE_COUNT, text);
  return Number(value);
}

const NUMBER_SETTINGS = ['trace_rate', 'trace_count', 'log_frequency'];

/**
 * An HTTP request body as changes: null clears a setting, trace_level is an array of strings (an empty one changes
 * nothing, as in Triton), the numbers are strings; trace_file is kept so that it is refused; other names are ignored.
 */
export function traceChangesFromJson(body: Readonly<Record<string, unknown>>): TraceSettingChanges {
  const changes: Record<string, readonly string[] | null> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === 'trace_file') {
      changes[name] = [];
    } else if (name === 'trace_level') {
      if (value === null) changes[name] = null;
      else if (!Array.isArray(value)) throw Errors.traceJsonType('array');
      else if (value.some((level) => typeof level !== 'string')) throw Errors.traceJsonType('string');
      else if (value.length > 0) changes[name] = value as string[];
    } else if (NUMBER_SETTINGS.includes(name)) {
      if (value === null) changes[name] = null;
      else if (typeof value !== 'string') throw Errors.traceJsonType('string');
      else changes[name] = [value];
    }
  }
  return changes;
}
