import type { SpecAdapter, SpecEvent, SpecSite, SpecSiteOptions } from '../site.ts';
import { startFastifySite } from '../../helpers/fastify-site.ts';

/** The spec site on Fastify 5, @fastify/cookie, @fastify/session and shared-session/fastify. */
export const fastifyAdapter: SpecAdapter = {
  name: 'fastify',
  async start(options: SpecSiteOptions): Promise<SpecSite> {
    const events: SpecEvent[] = [];
    const site = await startFastifySite({
      origin: options.origin,
      sites: options.sites,
      store: options.store,
      shared: options.shared ?? {},
      session: { cookie: { secure: 'auto', sameSite: 'lax', httpOnly: true, maxAge: options.maxAgeMs ?? 3_600_000 } },
    });
    // The framework's request is left out: a spec case compares events across adapters.
    site.shared.on('rejected', ({ request: _request, ...event }) => events.push({ name: 'rejected', event }));
    site.shared.on('sessionReplaced', ({ request: _request, ...event }) => events.push({ name: 'sessionReplaced', event }));
    site.shared.on('warning', (event) => events.push({ name: 'warning', event }));
    return { origin: options.origin, events, close: () => site.close() };
  },
};
