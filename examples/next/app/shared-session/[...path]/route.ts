import { shared, siteRequest } from '../../../shared.ts';

// The library's own routes (/shared-session/…: the push, the hop's steps, the health check).
// A path it does not know passes through: nothing of the app lives here.
async function library(request: Request): Promise<Response> {
  const result = await shared().handle(await siteRequest(request));
  return result.response ?? new Response('not found\n', { status: 404 });
}

export const GET = library;
export const POST = library;
export const HEAD = library;
export const dynamic = 'force-dynamic';
