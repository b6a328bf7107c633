/**
 * HeapRelease: one full collection after a burst of unloads, none after close; the collection is a real, forced,
 * full V8 collection, and no `gc` appears in the global scope.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { HeapRelease } from '../../server/core/heap-release';

afterEach(() => jest.useRealTimers());

it('runs one collection after the last unload of a burst', () => {
  jest.useFakeTimers();
  const release = new HeapRelease(100);
  release.onModelUnload();
  jest.advanceTimersByTime(60);
  release.onModelUnload(); // a second version, or model, of the same burst
  jest.advanceTimersByTime(60);
  expect(release.collections).toBe(0);
  jest.advanceTimersByTime(40);
  expect(release.collections).toBe(1);
  jest.advanceTimersByTime(1000);
  expect(release.collections).toBe(1);
});

it('runs none once closed (the shutdown unloads every model)', () => {
  jest.useFakeTimers();
  const release = new HeapRelease(100);
  release.onModelUnload();
  release.close();
  jest.advanceTimersByTime(1000);
  expect(release.collections).toBe(0);
});

it('forces a full V8 collection, without exposing gc globally', async () => {
  const forcedMajor: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind: number; flags: number } }).detail;
      if (detail && detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR && detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) forcedMajor.push(entry);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    const release = new HeapRelease(0);
    release.onModelUnload();
    while (release.collections === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // GC entries are delivered in a later task.
    while (forcedMajor.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(forcedMajor).toHaveLength(1);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  } finally {
    observer.disconnect();
  }
});
