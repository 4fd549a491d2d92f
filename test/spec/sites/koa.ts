/**
 * The spec site (test/spec/site.ts) on Koa: koa-session with `koaStore(store)` and
 * shared-session/koa, serving exactly the routes that file describes.
 */
import { startKoaSite } from '../../helpers/koa-site.ts';
import type { SpecAdapter } from '../site.ts';

export const koaAdapter: SpecAdapter = {
  name: 'koa',
  async start(options) {
    const site = await startKoaSite(options);
    return { origin: site.origin, events: site.events, close: () => site.close() };
  },
};
