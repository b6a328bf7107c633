import type { Logger } from 'pino';
import type { RepositorySource } from './source';

/** What the poller sees of the model lifecycle (repository/model-manager.ts). */
export interface PolledLifecycle {
  /** The models the server holds a record of, with the source's fingerprint of the files last loaded. */
  readonly models: ReadonlyMap<string, { readonly fingerprint?: string }>;
  /** Model name → the source holding it; throws when the repositories cannot be scanned. */
  discover(): Promise<ReadonlyMap<string, RepositorySource>>;
  /** Load or reload a model. */
  load(name: string): Promise<void>;
  /** Unload a model that left the repository and forget it. */
  remove(name: string): Promise<unknown>;
}

/**
 * Triton's poll control mode (--repository-poll-secs): rescan the repositories every interval, load new models,
 * reload the ones whose files changed (the source's fingerprint) and unload the ones removed.
 */
export class RepositoryPoller {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly lifecycle: PolledLifecycle,
    private readonly log: Logger,
  ) {}

  /** Poll every interval from now on (once started, later calls change nothing). */
  start(intervalMs: number): void {
    if (this.timer || intervalMs <= 0) return;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  /** One poll pass (also what the timer runs); concurrent calls share the pass in progress. */
  poll(): Promise<void> {
    if (!this.polling) {
      this.polling = this.pollOnce().finally(() => {
        this.polling = undefined;
      });
    }
    return this.polling;
  }

  /** No more passes; resolves once the pass in progress, if any, is over. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  private async pollOnce(): Promise<void> {
    let available: ReadonlyMap<string, RepositorySource>;
    try {
      available = await this.lifecycle.discover();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'repository poll failed; keeping the models served');
      return;
    }
    const work: Promise<unknown>[] = [];
    for (const name of [...this.lifecycle.models.keys()]) {
      if (available.has(name)) continue;
      this.log.info({ model: name }, 'model removed from the repository: unloading');
      // A failed unload must not reject the poll (a rejection in a timer's poll would end the process).
      work.push(this.lifecycle.remove(name).catch((error: Error) => this.log.error({ model: name, err: error.message }, 'failed to unload model')));
    }
    for (const [name, source] of available) {
      const record = this.lifecycle.models.get(name);
      let fingerprint: string | undefined;
      try {
        fingerprint = await source.fingerprint?.(name);
      } catch (error) {
        this.log.warn({ model: name, err: (error as Error).message }, 'could not check the model for changes');
        continue;
      }
      const changed = !record || (fingerprint !== undefined && fingerprint !== record.fingerprint);
      if (!changed) continue;
      this.log.info({ model: name }, record ? 'model changed: reloading' : 'new model: loading');
      work.push(
        this.lifecycle.load(name).catch((error: Error) => this.log.error({ model: name, err: error.message }, 'failed to load model')),
      );
    }
    await Promise.all(work);
  }
}
