import type { Handle } from '@sveltejs/kit/hooks';
import { shared } from './shared.ts';

// The library answers its own routes (and a hop's first step) itself; every other request
// reaches the routes with its session in `event.locals`.
export const handle: Handle = async ({ event, resolve }) => {
  const result = await shared.handle(event.request);
  if (result.response) return result.response;
  event.locals.session = result.session;
  event.locals.loader = (options) => result.loader(options);
  // Saves the session when it changed and adds its cookie, the library's cookies and headers.
  return result.finish(await resolve(event));
};
