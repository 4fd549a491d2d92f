/**
 * Both Hono sites as one Worker, for `workerd serve`: two sockets (one port per site) on
 * one service; the Worker picks the site by the request's host. One in-memory session
 * store and one `memorySharingStore()` for both, at module scope: they live as long as the
 * isolate, which is the whole test. The origins come from the config's `SITES` text binding.
 */
import type { Hono } from 'hono';
import { memorySharingStore } from 'shared-session';
import { byHost, runtimeSite } from './hono-app.ts';
import { MemorySessionStore } from './memory-store.ts';

const store = new MemorySessionStore();
const sharingStore = memorySharingStore();
let route: ((request: Request) => Response | Promise<Response>) | undefined;

export default {
  fetch(request: Request, env: { SITES: string }): Response | Promise<Response> {
    // Built on the first request: the origins are a binding, and bindings reach only handlers.
    if (!route) {
      const sites = JSON.parse(env.SITES) as string[];
      route = byHost(new Map<string, Hono>(sites.map((origin) => [new URL(origin).host, runtimeSite({ origin, sites, store, sharingStore })])));
    }
    return route(request);
  },
};
