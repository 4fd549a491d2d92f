/**
 * Issue 10: nothing that mints or opens tokens is reachable from the public API. Walks
 * every object and function an app can reach from what `sharedSession(...)` (and
 * `new SharedSession(...)`) return: own and inherited properties, getters called as an app
 * would call them, accessor functions themselves, prototypes. Private (`#`) fields are not
 * reachable, so they are not walked. The sealer and the keys are found by identity: their
 * classes' methods and instances, and every function of the modules that seal or open.
 * (A closure that seals would not be found by identity: the façade keeps the config and
 * the mechanisms' context in private fields and exposes no such closure; this walk catches
 * a config, a sealer, a key or a mechanism made reachable again.)
 */
import assert from 'node:assert/strict';
import { KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import * as hop from '../../src/core/hop.ts';
import * as keys from '../../src/core/keys.ts';
import * as linkCookie from '../../src/core/link-cookie.ts';
import * as link from '../../src/core/link.ts';
import * as messages from '../../src/core/messages.ts';
import * as push from '../../src/core/push.ts';
import * as token from '../../src/core/token.ts';
import { sharedSession } from '../../src/express/index.ts';
import { sharedSession as honoSharedSession } from '../../src/hono/index.ts';
import { sharedSessionHandler } from '../../src/web/index.ts';
import { SharedSession, resolveOptions } from '../../src/index.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

const SITES = ['https://example.com', 'https://example.de'];

/** Shared by every object and none of ours: not expanded (they lead only to other built-ins). */
const BUILT_INS = new Set<object>([Object.prototype, Function.prototype, Array.prototype, Promise.prototype]);

/** Every object and function reachable from `root` through properties an app can read. */
function reachable(root: unknown): Set<object> {
  const seen = new Set<object>();
  const queue: unknown[] = [root];
  while (queue.length > 0) {
    const value = queue.pop();
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) continue;
    seen.add(value);
    assert.ok(seen.size < 10_000, 'the walk ends');
    if (BUILT_INS.has(value)) continue;
    for (let holder: object | null = value; holder !== null && !BUILT_INS.has(holder); holder = Object.getPrototypeOf(holder) as object | null) {
      queue.push(holder);
      for (const key of Reflect.ownKeys(holder)) {
        const descriptor = Object.getOwnPropertyDescriptor(holder, key)!;
        // The value, or the getter and setter functions themselves.
        queue.push(...(Object.values(descriptor) as unknown[]));
        if ('value' in descriptor) continue;
        try {
          queue.push(Reflect.get(value, key)); // as `value[key]` reads it
        } catch {
          // a getter for another receiver (a prototype's, read on the prototype itself)
        }
      }
    }
  }
  return seen;
}

/** Functions that seal or open, and classes whose instances do: by identity, not by name. */
function tokenMachinery(): { functions: Map<unknown, string>; instances: [string, (value: object) => boolean][] } {
  const functions = new Map<unknown, string>();
  for (const [name, module] of Object.entries({ token, keys, messages, linkCookie, link, hop, push })) {
    for (const [exported, value] of Object.entries(module)) if (typeof value === 'function') functions.set(value, `${name}.${exported}`);
  }
  for (const [name, cls] of [['Sealer', token.Sealer], ['SecretKey', keys.SecretKey]] as const) {
    for (const key of Reflect.ownKeys(cls.prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, key)!;
      for (const fn of Object.values(descriptor) as unknown[]) if (typeof fn === 'function') functions.set(fn, `${name}.prototype.${String(key)}`);
    }
  }
  return {
    functions,
    instances: [
      ['Sealer', (value) => value instanceof token.Sealer],
      ['SecretKey', (value) => value instanceof keys.SecretKey],
      ['KeyObject', (value) => value instanceof KeyObject],
    ],
  };
}

/** What of the token machinery `root` lets an app reach. */
function leaks(root: unknown): string[] {
  const { functions, instances } = tokenMachinery();
  const found: string[] = [];
  for (const value of reachable(root)) {
    const name = functions.get(value);
    if (name) found.push(name);
    for (const [className, is] of instances) if (is(value)) found.push(`a ${className}`);
  }
  return found;
}

describe('the public object graph (issue 10)', () => {
  it('reaches nothing that seals or opens tokens from the Express middleware', () => {
    const middleware = sharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    const graph = reachable(middleware);
    // The walk did go through the façade: its methods and accessors are there.
    assert.ok(graph.has(middleware.core));
    assert.ok(graph.has(Object.getOwnPropertyDescriptor(SharedSession.prototype, 'handle')!.value as object) && graph.has(middleware.core.sites));
    assert.deepEqual(leaks(middleware), []);
  });

  it('reaches nothing that seals or opens tokens from the fetch handler and the Hono middleware', () => {
    // The session layer only needs an object with the promise API to be built; nothing is stored here.
    const store = { get: () => Promise.resolve(null), set: () => Promise.resolve(), destroy: () => Promise.resolve() };
    const session = { store, secret: 'a-session-secret-of-at-least-32-characters' };
    const handler = sharedSessionHandler({ sites: SITES, secret: SHARED_SECRET, hubProbe: false, session });
    const middleware = honoSharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false, session });
    for (const root of [handler, middleware]) {
      assert.ok(reachable(root).has(root.core));
      assert.deepEqual(leaks(root), []);
    }
  });

  it('reaches nothing that seals or opens tokens from the core itself', () => {
    const core = new SharedSession({ sites: SITES, secret: [SHARED_SECRET, Buffer.from(`${SHARED_SECRET}2`)] });
    assert.deepEqual(leaks(core), []);
    assert.equal('config' in core, false);
  });

  it('shows the configured origins, frozen, and nothing else of the config', () => {
    const core = new SharedSession({ sites: SITES, secret: SHARED_SECRET, hubProbe: false });
    assert.deepEqual(core.sites, SITES);
    assert.ok(Object.isFrozen(core.sites));
    assert.equal(core.sites, core.sites, 'the same array each time');
  });

  it('would find a sealer that became reachable (the walk itself is tested)', () => {
    const config = resolveOptions({ sites: SITES, secret: SHARED_SECRET });
    const found = leaks({ nested: [{ config }] });
    assert.ok(found.includes('a Sealer') && found.includes('Sealer.prototype.seal') && found.includes('Sealer.prototype.open'), found.join(', '));
  });
});
