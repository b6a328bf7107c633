/**
 * Triton's trace flags: `--trace-config [triton,]<setting>=<value>` (level, rate, count, mode; triton,file and
 * triton,log-frequency) and the deprecated --trace-file/-level/-rate/-count/-log-frequency, which --trace-config
 * overrides. Level OFF given anywhere turns tracing off. Messages follow Triton's command_line_parser.cc.
 */
import { CLI_FLAGS } from './contract';
import type { TraceLevel, TraceValues } from './core/trace-setting';
import { DEFAULT_TRACE_VALUES } from './core/trace-manager';

export class TraceFlagError extends Error {}

/** The flags' values as parseArgs gave them. */
export interface TraceFlagValues {
  readonly config: readonly string[];
  readonly file?: string;
  readonly levels: readonly string[];
  readonly rate?: string;
  readonly count?: string;
  readonly logFrequency?: string;
}

const INT32_MAX = 0x7fff_ffff;

export function parseTraceFlags(flags: TraceFlagValues): TraceValues {
  const levels = new Set<TraceLevel>();
  let off = false;
  const addLevel = (raw: string) => {
    const level = parseLevel(raw);
    if (level === 'OFF') off = true;
    else levels.add(level);
  };
  for (const raw of flags.levels) addLevel(raw);
  let rate = optionalInt(CLI_FLAGS.traceRate, flags.rate, 0) ?? DEFAULT_TRACE_VALUES.rate;
  let count = optionalInt(CLI_FLAGS.traceCount, flags.count, -1) ?? DEFAULT_TRACE_VALUES.count;
  let logFrequency = optionalInt(CLI_FLAGS.traceLogFrequency, flags.logFrequency, 0) ?? DEFAULT_TRACE_VALUES.logFrequency;
  let file = flags.file ?? DEFAULT_TRACE_VALUES.file;

  for (const entry of flags.config) {
    const { mode, setting, value } = splitConfig(entry);
    const where = `Bad option: "${CLI_FLAGS.traceConfig} ${mode ? `${mode},` : ''}${setting}".\n`;
    try {
      if (mode === '') {
        if (setting === 'rate') rate = int(value, 0);
        else if (setting === 'count') count = int(value, -1);
        else if (setting === 'level') addLevel(value);
        else if (setting === 'mode') parseMode(value);
      } else if (setting === 'file') {
        file = value;
      } else if (setting === 'log-frequency' || setting === 'log_frequency') {
        logFrequency = int(value, 0);
      }
    } catch (error) {
      throw new TraceFlagError(`${where}${(error as Error).message}`);
    }
  }
  const ordered = (['TIMESTAMPS', 'TENSORS'] as const).filter((level) => levels.has(level));
  return { levels: off ? [] : ordered, rate, count, logFrequency, file };
}

/** Triton's ParseTraceConfigOption: `<mode>,<setting>=<value>` or `<setting>=<value>`. */
function splitConfig(entry: string): { mode: string; setting: string; value: string } {
  const comma = entry.indexOf(',');
  const equals = entry.indexOf('=', comma + 1);
  if (comma === 0) {
    throw new TraceFlagError(
      `No trace mode specified. ${CLI_FLAGS.traceConfig} option format is <trace mode>,<setting>=<value> or <setting>=<value>. Got ${entry}`,
    );
  }
  const format = () => new TraceFlagError(`${CLI_FLAGS.traceConfig} option format is '<trace mode>,<setting>=<value>'. Got ${entry}`);
  if (equals < 0) throw format();
  let mode = '';
  if (comma > 0) {
    mode = entry.slice(0, comma);
    try {
      parseMode(mode);
    } catch (error) {
      throw new TraceFlagError((error as Error).message);
    }
  }
  const setting = entry.slice(comma + 1, equals);
  const value = entry.slice(equals + 1);
  if (setting === '' || value === '') throw format();
  return { mode: mode.toLowerCase(), setting, value };
}

function parseMode(raw: string): 'triton' {
  const mode = raw.toLowerCase();
  if (mode === 'triton') return 'triton';
  if (mode === 'opentelemetry') throw new TraceFlagError('trace mode opentelemetry is not supported by this server');
  throw new TraceFlagError(`invalid value for trace mode option: ${raw}. Available options are "triton" and "opentelemetry"`);
}

/** Triton's ParseTraceLevelOption. */
function parseLevel(raw: string): TraceLevel | 'OFF' {
  const level = raw.toLowerCase();
  if (level === 'false' || level === 'off') return 'OFF';
  if (['true', 'on', 'min', 'max', 'timestamps'].includes(level)) return 'TIMESTAMPS';
  if (level === 'tensors') return 'TENSORS';
  throw new TraceFlagError(`invalid value for trace level option: ${raw}`);
}

function int(raw: string, min: number): number {
  if (!/^-?[0-9]+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > INT32_MAX) {
    throw new TraceFlagError(`expects an integer between ${min} and ${INT32_MAX}, got '${raw}'`);
  }
  return Number(raw);
}

function optionalInt(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  try {
    return int(raw, min);
  } catch (error) {
    throw new TraceFlagError(`${flag} ${(error as Error).message}`);
  }
}
