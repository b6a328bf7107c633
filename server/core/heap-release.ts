/**
 * A full garbage collection of the event loop's heap shortly after models are unloaded, so that what their loads and
 * requests left in V8's old generation goes back to the OS at unload, as Triton's memory does, rather than at V8's
 * next full collection (with no traffic, possibly never). bench:memory, image settings, RSS after unloading every
 * model over the RSS before the first load: on Node 24 1.14–1.19 × without it, 0.96–0.98 × with it; on Node 20, where
 * V8 has no memory-reducing collection to ask for, a few MiB less, 1.05–1.16 × (bench/README.md, memory section).
 *
 * Node has no API for a collection: `--expose-gc` is set at run time and `gc` is taken from a fresh context (the flag
 * installs `gc` in contexts created after it is set), so no `gc` appears in the server's own global scope.
 * Hand-written: the npm package that does the same (expose-gc) is these few lines.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { InferenceObserver } from './observer';

/** After the last unload of a burst (a repository poll or a shutdown unloads several at once). */
const SETTLE_MS = 100;

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let collect: (() => void) | undefined;

/**
 * A full, blocking collection, taken once, then reused. V8 12 and 13 (Node 22 and 24; the image runs 24) take the "last
 * resort" flavour: collections repeated until nothing more is freed, memory-reducing (the young generation and pooled
 * pages given back too; ~2 full collections, tens of ms for the server's ~25 MiB heap; `--trace-gc` shows them as
 * "Mark-Compact (reduce)" on both). V8 11 (Node 20) knows no flavours: one plain full collection (~15 ms).
 */
function fullCollection(): () => void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as Gc;
    const flavours = Number(process.versions.v8.split('.')[0]) >= 12;
    collect = flavours ? () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }) : () => gc();
  }
  return collect;
}

/** Observes unloads and runs one full collection SETTLE_MS after the last; `close` cancels a pending one. */
export class HeapRelease implements InferenceObserver {
  private timer: NodeJS.Timeout | undefined;
  /** Collections run so far (for tests). */
  collections = 0;

  constructor(private readonly settleMs = SETTLE_MS) {}

  onModelUnload(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fullCollection()();
      this.collections += 1;
    }, this.settleMs);
    // Never what keeps a stopping process alive.
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
