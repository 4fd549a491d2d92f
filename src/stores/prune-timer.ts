import type { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { positiveOption } from './callback-store.ts';

/**
 * The prune timers of the stores that keep expired rows or files until they delete them
 * (SQLite, PostgreSQL, files; Redis expires its keys itself): a general prune every
 * `pruneIntervalSeconds`, and a frequent one of the single-use claims alone, which live
 * 20–40 s and are written once per accepted token, so that a burst of tokens does not
 * leave hundreds of thousands of dead claims waiting for the general prune.
 */

/** The prune options of a store that keeps expired records until it deletes them. */
export interface PruneOptions {
  /** How often expired sessions, tombstones, claims and links are deleted. 0 turns the timer off (call `prune()` yourself). Default 600. */
  pruneIntervalSeconds?: number;
  /**
   * How often expired single-use claims (token ids, which live 20–40 s) are deleted, apart
   * from the general prune. 0 turns this timer off (`prune()` deletes them too). Default 5.
   */
  claimPruneIntervalSeconds?: number;
}

/** The prune options, validated: the intervals in milliseconds, 0 for off. */
export interface PruneSettings {
  readonly pruneMs: number;
  readonly claimPruneMs: number;
}

/** Validate the prune options; throws the option error naming the bad one. */
export function pruneSettings(options: PruneOptions): PruneSettings {
  return {
    pruneMs: positiveOption(options.pruneIntervalSeconds, 'pruneIntervalSeconds', 600, true) * 1000,
    claimPruneMs: positiveOption(options.claimPruneIntervalSeconds, 'claimPruneIntervalSeconds', 5, true) * 1000,
  };
}

/** What the timers run: the general prune, and the prune of expired claims alone. */
export interface PruneWork {
  all(): Promise<unknown>;
  claims(): Promise<unknown>;
}

/**
 * The two prune timers of a store. Each run is timed from the end of the one before, so a
 * slow prune (a large backlog, a slow disk) is never stacked on itself; the timers are
 * unref'd, so they never keep a process alive. A failed run goes to `failed` and is tried
 * again at the next interval.
 */
export class PruneTimers {
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(settings: PruneSettings, work: PruneWork, failed: (error: unknown) => void) {
    this.#every(settings.pruneMs, () => work.all(), failed);
    this.#every(settings.claimPruneMs, () => work.claims(), failed);
  }

  /** No further run starts; a running one is stopped by its store (between two batches). */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #every(intervalMs: number, run: () => Promise<unknown>, failed: (error: unknown) => void): void {
    if (intervalMs <= 0) return;
    const schedule = (): void => {
      if (this.#stopped) return;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        run().catch(failed).finally(schedule);
      }, intervalMs);
      timer.unref();
      this.#timers.add(timer);
    };
    schedule();
  }
}

/**
 * The `failed` of a store's prune timers: to the store's 'error' listeners when there are
 * any, else a warning (an 'error' event nobody hears would crash the app).
 */
export function reportPruneFailure(store: EventEmitter, storeName: string): (error: unknown) => void {
  return (error) => {
    if (store.listenerCount('error') > 0) store.emit('error', error);
    else process.emitWarning(`shared-session ${storeName}: pruning failed: ${error instanceof Error ? error.message : 'unknown error'}`);
  };
}

/** Let requests and I/O run between two batches of a prune. */
export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}
