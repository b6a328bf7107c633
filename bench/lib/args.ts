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
    const [key, value] = arg.replace(/^--/, '').split('=', 2);
    const number = () => {
      const n = Number(value);
      if (positive ? !(n > 0) : !(n >= 0)) throw new Error(`--${key} needs a ${positive ? 'positive' : 'non-negative'} number, got '${value}'`);
      return n;
    };
    return { arg, key, value, number };
  });
}
