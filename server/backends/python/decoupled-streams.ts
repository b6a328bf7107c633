import type { InferenceError } from '../../core/errors';
import type { ResponseSink, StreamedResponse } from '../../core/streaming';

/** One decoupled request of an execute: its responses go to its sink until its final flag. */
export interface DecoupledStream {
  /** Resolves at the request's final flag; rejects when the stub dies first. */
  readonly done: Promise<void>;
  /** Whether the final flag came. */
  readonly ended: boolean;
  /** Stop routing responses to it (its request is over, whichever way); settles `done` if still open. */
  close(): void;
}

interface Entry {
  readonly sink: ResponseSink;
  ended: boolean;
  finish(): void;
  fail(error: InferenceError): void;
}

/**
 * The decoupled requests a stub is running, by execute id and index in that execute's `requests` list: several
 * requests of one execute (a dynamic batch) each have their own response sender, so a response names both.
 */
export class DecoupledStreams {
  private readonly open = new Map<string, Entry>();

  /** Route responses of request `index` of execute `id` to `sink`. */
  add(id: number, index: number, sink: ResponseSink): DecoupledStream {
    const key = streamKey(id, index);
    let finish!: () => void;
    let fail!: (error: InferenceError) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    done.catch(() => undefined);
    const entry: Entry = { sink, ended: false, finish, fail };
    this.open.set(key, entry);
    return {
      done,
      get ended() {
        return entry.ended;
      },
      close: () => {
        finish();
        if (this.open.get(key) === entry) this.open.delete(key);
      },
    };
  }

  /** A response from the model; one for a request already over (its execute raised) has nowhere to go. */
  deliver(id: number, index: number, response: StreamedResponse | undefined, final: boolean): void {
    const entry = this.open.get(streamKey(id, index));
    if (!entry || entry.ended) return;
    if (final) entry.ended = true;
    entry.sink(response, final);
    if (final) entry.finish();
  }

  /** The stub died: every request still streaming fails. */
  failAll(error: InferenceError): void {
    for (const entry of this.open.values()) if (!entry.ended) entry.fail(error);
  }
}

function streamKey(id: number, index: number): string {
  return `${id}/${index}`;
}
