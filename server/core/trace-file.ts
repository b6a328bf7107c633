/**
 * Where a trace setting's collected traces land (Triton's TraceFile): `<file>` gathers everything written without a
 * log frequency (at shutdown, or when the setting changes), `<file>.<index>` gets one JSON array per flush when a
 * log frequency is set or the trace count runs out. Files are written synchronously: flushes are rare and small.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export class TraceFile {
  private nextIndex = 0;
  /** Open descriptor of the main file once the first traces reached it. */
  private fd: number | undefined;
  /** Offset of the closing ']' of the main file: the next traces overwrite it, so the file is always a valid array. */
  private closingAt = 0;

  constructor(
    readonly name: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  /** Write `traces` (serialised JSON objects) as the array `<file>.<index>`, or append them to `<file>`. */
  save(traces: readonly string[], toIndexFile: boolean): void {
    if (traces.length === 0 || this.name === '') return;
    const body = traces.join(',');
    try {
      if (toIndexFile) {
        const fd = openSync(`${this.name}.${this.nextIndex++}`, 'w');
        try {
          writeSync(fd, `[${body}]`);
        } finally {
          closeSync(fd);
        }
        return;
      }
      const first = this.fd === undefined;
      if (first) this.fd = openSync(this.name, 'w');
      const chunk = Buffer.from(`${first ? '[' : ','}${body}]`, 'utf8');
      writeSync(this.fd!, chunk, 0, chunk.length, this.closingAt);
      this.closingAt += chunk.length - 1;
    } catch (error) {
      this.onError(error as Error);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
