/**
 * The stub's control channel carries JSON messages, each behind a 4-byte little-endian length (stub_channel.py
 * writes and reads the same frames).
 */
export function encodeFrame(message: Record<string, unknown>): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** Reassembles frames from the stream's chunks; a frame that is not JSON makes the channel untrustworthy. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** The complete messages the chunk finishes, in order; 'malformed' when one is not JSON. */
  push(chunk: Buffer): unknown[] | 'malformed' {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: unknown[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + length) break;
      const text = this.pending.toString('utf8', 4, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      try {
        messages.push(JSON.parse(text));
      } catch {
        return 'malformed';
      }
    }
    return messages;
  }
}

/** The last few KiB a stub wrote to stderr, for error messages. */
export class OutputTail {
  private readonly parts: string[] = [];

  remember(text: string): void {
    this.parts.push(text);
    let size = 0;
    for (const part of this.parts) size += part.length;
    while (size > 8192 && this.parts.length > 1) size -= this.parts.shift()!.length;
  }

  /** The last 15 lines. */
  summary(): string {
    return this.parts.join('').trim().split('\n').slice(-15).join('\n');
  }
}
