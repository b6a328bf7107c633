/**
 * The command-line conventions every command of this package follows (inference-server, inference-perf and the
 * Kubeflow deploy entry): node:util parseArgs underneath, so `--flag=value` and `--flag value` both work, as in
 * Triton; true/false flags may be given bare (`--dry-run`); a mistyped flag is one line naming the closest known flag
 * (exit 2); `--version`; `-h`/`--help` grouped by topic with each value's type.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { distance } from 'fastest-levenshtein';

/** node:util parseArgs' option table: long name (without `--`) → its kind. */
export type OptionsConfig = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Exit status of a command given a bad command line (as getopt-style tools and Triton's parser use). */
export const USAGE_EXIT_CODE = 2;

/** A command line that cannot be run: one line (or Triton's two-line `Bad option`), printed before exiting 2. */
export class UsageError extends Error {}

/** The words a true/false value may be (Triton's ParseBoolOption). */
export const BOOL_WORDS: readonly string[] = ['true', 'on', '1', 'false', 'off', '0'];

export interface ParseFlagsOptions {
  /** The command's name, for the pointer to --help in error lines. */
  readonly program: string;
  /**
   * String-typed flags whose value is true/false: written bare (next argument absent, another flag, or not a
   * true/false word) they mean true, so `--dry-run`, `--dry-run=true` and `--dry-run false` all work.
   */
  readonly trueWhenBare?: Iterable<string>;
}

/** Parse argv against the option table; every problem is a one-line UsageError. */
export function parseFlags(argv: readonly string[], options: OptionsConfig, settings: ParseFlagsOptions): ParsedValues {
  const args = expandBareBooleans(argv, new Set(settings.trueWhenBare ?? []));
  const unknown = firstUnknownArgument(args, options);
  if (unknown?.kind === 'positional') {
    throw new UsageError(`unexpected argument '${unknown.text}': options start with -- (${settings.program} --help lists every option)`);
  }
  if (unknown) {
    const suggestion = closestFlag(unknown.text, Object.keys(options));
    throw new UsageError(
      `unknown option '${unknown.text}'${suggestion ? `; did you mean ${suggestion}?` : ''} (${settings.program} --help lists every option)`,
    );
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as ParsedValues;
  } catch (error) {
    // parseArgs' messages are several lines ("argument is ambiguous. Did you forget ..."): its first line says it.
    const message = (error as Error).message.split('\n')[0].replace(/\.$/, '');
    throw new UsageError(`${message} (${settings.program} --help lists every option)`);
  }
}

/** `--name` of a true/false flag, when not followed by a true/false word, becomes `--name=true`. */
function expandBareBooleans(argv: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const bare = arg.startsWith('--') && !arg.includes('=') && names.has(arg.slice(2));
    const next = argv[i + 1];
    out.push(bare && (next === undefined || !BOOL_WORDS.includes(next.toLowerCase())) ? `${arg}=true` : arg);
  }
  return out;
}

/** The first option (as written) that is not in the table, or the first positional argument (none is taken). */
function firstUnknownArgument(args: string[], options: OptionsConfig): { kind: 'option' | 'positional'; text: string } | undefined {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option' && !(token.name in options)) return { kind: 'option', text: token.rawName };
    if (token.kind === 'positional') return { kind: 'positional', text: token.value };
  }
  return undefined;
}

/**
 * The known flag a mistyped one most likely meant (edit distance, `_` read as `-`), or undefined when none is close.
 */
export function closestFlag(written: string, known: readonly string[]): string | undefined {
  const name = written.replace(/^-+/, '').split('=')[0].replace(/_/g, '-').toLowerCase();
  if (name === '') return undefined;
  let best: { flag: string; cost: number } | undefined;
  for (const candidate of known) {
    const cost = candidate.startsWith(name) ? 1 : distance(name, candidate);
    if (!best || cost < best.cost) best = { flag: candidate, cost };
  }
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  return best && best.cost <= tolerance ? `--${best.flag}` : undefined;
}

/** One flag in --help: its names, the value it takes (`<integer>`; none for a bare switch) and what it does. */
export interface HelpEntry {
  readonly flag: string;
  readonly short?: string;
  readonly value?: string;
  readonly help: string;
}

export interface HelpGroup {
  readonly title: string;
  readonly entries: readonly HelpEntry[];
}

const HELP_WIDTH = 100;
const FLAG_COLUMN = 34;

/** Usage line, then each topic's flags: `  -h, --flag <type>   text`, wrapped; a long flag puts its text below it. */
export function formatHelp(usageLine: string, groups: readonly HelpGroup[], footer: readonly string[] = []): string {
  const lines = [usageLine];
  for (const group of groups) {
    if (group.entries.length === 0) continue;
    lines.push('', `${group.title}:`);
    for (const entry of group.entries) {
      const names = `${entry.short ? `-${entry.short}, ` : '    '}${entry.flag}${entry.value ? ` ${entry.value}` : ''}`;
      const text = wrap(entry.help, HELP_WIDTH - FLAG_COLUMN);
      if (names.length + 2 < FLAG_COLUMN - 2) {
        lines.push(`  ${names.padEnd(FLAG_COLUMN - 2)}${text[0] ?? ''}`);
        text.slice(1).forEach((line) => lines.push(`${' '.repeat(FLAG_COLUMN)}${line}`));
      } else {
        lines.push(`  ${names}`);
        text.forEach((line) => lines.push(`${' '.repeat(FLAG_COLUMN)}${line}`));
      }
    }
  }
  if (footer.length > 0) lines.push('', ...footer);
  return `${lines.join('\n')}\n`;
}

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** This package's version, from the package.json above this file (source tree or dist/). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cdk8s-inference-server' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** What `<program> --version` prints. */
export function versionLine(program: string): string {
  return `${program} ${packageVersion()}\n`;
}
