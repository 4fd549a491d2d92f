/**
 * An event map: each event's name and the arguments its listeners receive, as in
 * `{ rejected: [event: RejectedEvent] }`.
 */
export type EventMap<Events> = { readonly [E in keyof Events]: readonly unknown[] };

export type Listener<Args extends readonly unknown[]> = (...args: Args) => void;

interface Registration {
  /** A `Listener` of the event's arguments; compared by identity, called with them. */
  readonly listener: unknown;
  readonly once: boolean;
}

/**
 * A small typed event emitter for the core, in place of `node:events` (which a
 * runtime-neutral core cannot import). It keeps what callers rely on from `node:events`:
 * listeners run synchronously in the order they were added, with `this` set to the
 * emitting object; `once` listeners are removed before they run; `off` removes the latest
 * registration of a listener, a `once` one included; an emit runs the listeners registered
 * when it started.
 *
 * It differs on purpose in two ways. No event has a special meaning (`node:events` throws
 * when `'error'` has no listener): emitting any event without listeners does nothing. And a
 * listener that throws stops neither the other listeners nor the caller of `emit`, which is
 * the core in the middle of a request: its error goes to `onListenerError`.
 *
 * The owner keeps the emitter private and exposes `on`/`off`/`once` only, so that nothing
 * outside the core can emit.
 *
 * @example
 * ```ts
 * const events = new Emitter<{ tick: [count: number] }>({ onListenerError: (error) => console.error(error) });
 * events.on('tick', (count) => console.log(count));
 * events.emit('tick', 1);
 * ```
 */
export class Emitter<Events extends EventMap<Events>> {
  // Each event's registrations, replaced on every change (never changed in place), so an
  // emit in progress keeps the array it started with.
  readonly #registrations = new Map<keyof Events, readonly Registration[]>();
  readonly #target: unknown;
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;

  /**
   * @param options.target `this` of every listener (the object users registered them on).
   * @param options.onListenerError where the error of a listener that threw goes.
   */
  constructor(options: { readonly target?: unknown; readonly onListenerError: (error: unknown, event: keyof Events) => void }) {
    this.#target = options.target ?? this;
    this.#onListenerError = options.onListenerError;
  }

  /** Call `listener` on every `event` from now on. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, false);
  }

  /** Call `listener` on the next `event` only. */
  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, true);
  }

  /** Remove the latest registration of `listener` for `event` (by `on` or `once`); nothing when there is none. */
  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const registrations = this.#registrations.get(event) ?? [];
    const index = registrations.findLastIndex((registration) => registration.listener === listener);
    if (index !== -1) this.#set(event, registrations.toSpliced(index, 1));
    return this;
  }

  /** How many registrations `event` has. */
  listenerCount(event: keyof Events): number {
    return this.#registrations.get(event)?.length ?? 0;
  }

  /** Run the listeners of `event` with `args`; whether there were any. Never throws. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const registrations = this.#registrations.get(event);
    if (!registrations) return false;
    for (const registration of registrations) {
      if (registration.once) {
        const current = this.#registrations.get(event) ?? [];
        const index = current.indexOf(registration);
        // Already run by an emit from inside another listener of this event.
        if (index === -1) continue;
        this.#set(event, current.toSpliced(index, 1));
      }
      try {
        Reflect.apply(registration.listener as (...args: readonly unknown[]) => void, this.#target, args);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
    return true;
  }

  #add<E extends keyof Events>(event: E, listener: Listener<Events[E]>, once: boolean): this {
    if (typeof listener !== 'function') throw new TypeError(`The listener of '${String(event)}' must be a function, not ${typeof listener}`);
    this.#set(event, [...(this.#registrations.get(event) ?? []), { listener, once }]);
    return this;
  }

  #set(event: keyof Events, registrations: readonly Registration[]): void {
    if (registrations.length === 0) this.#registrations.delete(event);
    else this.#registrations.set(event, registrations);
  }
}
