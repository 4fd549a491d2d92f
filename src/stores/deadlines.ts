/**
 * Time limits for many operations at once, with one timer: each operation records its
 * deadline, and a sweep every `stepMs` fails those that are late. A timer per operation
 * (setTimeout, clearTimeout, Promise.race) cost more than a Redis GET itself in the
 * store benchmark; a limit of seconds needs no millisecond precision.
 */
export class Deadlines {
  readonly #pending = new Set<{ readonly at: number; readonly expire: () => void }>();
  readonly #stepMs: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(stepMs: number) {
    this.#stepMs = stepMs;
  }

  /** Settle with `work`, or call `expire` (once, instead) when `work` runs past `limitMs`. */
  run<T>(work: Promise<T>, limitMs: number, expire: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { at: performance.now() + limitMs, expire: () => reject(expire()) };
      this.#pending.add(entry);
      this.#sweeper ??= setInterval(() => this.#sweep(), this.#stepMs).unref();
      work.then(
        (value) => {
          if (this.#pending.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.#pending.delete(entry)) reject(error instanceof Error ? error : new Error('store operation failed', { cause: error }));
        },
      );
    });
  }

  /** Stop the sweeps (pending operations are left to finish by themselves). */
  stop(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    // A monotonic clock: a wall-clock step (NTP) must not fail or stretch every pending operation.
    const now = performance.now();
    for (const entry of this.#pending) {
      if (entry.at <= now) {
        this.#pending.delete(entry);
        entry.expire();
      }
    }
    if (this.#pending.size === 0) this.stop();
  }
}
