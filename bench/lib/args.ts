/** One `--key=value` argument of a bench's command line (`--flag` alone: value undefined). */
export interface BenchArg {
  readonly arg: string;
  readonly key: string;
  readonly value: string;
  /** The value as a number, checked as the bench asks; throws a message naming the flag. */
  readonly number: () => number;
}

/** Split a bench's arguments; numbers must be ≥ 0, or > 0 with `positive`. */
export function benchArgs(argv: readonly string[], { positive = false } = {}): BenchArg[] {
  return argv.map((arg) => {
    // Split at the first '=' only: a value may hold one (--node-args="--initial-old-space-size=64").
    const body = arg.replace(/^--/, '');
    const equals = body.indexOf('=');
    const [key, value] = equals < 0 ? [body, undefined as unknown as string] : [body.slice(0, equals), body.slice(equals + 1)];
    const number = () => {
      const n = Number(value);
      if (positive ? !(n > 0) : !(n >= 0)) throw new Error(`--${key} needs a ${positive ? 'positive' : 'non-negative'} number, got '${value}'`);
      return n;
    };
    return { arg, key, value, number };
  });
}
