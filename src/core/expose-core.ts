import type { SharedSession } from './shared-session.ts';

type Events = Pick<SharedSession<never>, 'on' | 'once' | 'off'>;

/**
 * Give an adapter's entry point (a middleware, a plugin) what every adapter shows of the core:
 * `core` (read-only) and `on` / `once` / `off`, which register on `events` (the core, or a
 * layer that forwards to it) and return the entry point, so that calls chain.
 */
export function exposeCore(target: object, core: object, events: object = core): void {
  const source = events as Events;
  Object.defineProperty(target, 'core', { value: core, enumerable: true });
  for (const method of ['on', 'once', 'off'] as const) {
    Object.defineProperty(target, method, {
      value: function delegate(this: unknown, event: never, listener: never): unknown {
        source[method](event, listener);
        return this;
      },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}
