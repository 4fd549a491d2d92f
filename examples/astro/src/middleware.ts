import type { MiddlewareHandler } from 'astro';
import { shared } from './shared.ts';

// First in the chain: the library answers its own routes (and a hop's first step) itself;
// every other request reaches the page or endpoint with its session in `locals`.
export const onRequest: MiddlewareHandler = async (context, next) => {
  const result = await shared.handle(context.request);
  if (result.response) return result.response;
  context.locals.session = result.session;
  context.locals.loader = (options) => result.loader(options);
  // Saves the session when it changed and adds its cookie, the library's cookies and headers.
  return result.finish(await next());
};
