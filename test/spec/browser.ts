/**
 * A browser's steps on spec sites, through the routes of test/spec/site.ts only: what every
 * case does the same way whatever framework serves the site.
 */
import assert from 'node:assert/strict';
import { Client, type Response, type Step } from '../helpers/http.ts';

export interface Whoami {
  readonly id: string | null;
  readonly user: string | null;
  readonly cart: string[];
}

/** The session a site shows this browser (a plain fetch: no page load, no hop). */
export async function whoami(client: Client, origin: string): Promise<Whoami> {
  const response = await client.fetch(`${origin}/whoami`);
  assert.equal(response.status, 200, `GET ${origin}/whoami`);
  return JSON.parse(response.body) as Whoami;
}

/** A form post that answers 303 to `/`, and the page load the browser then makes (where the session is linked). */
async function postThenLoad(client: Client, origin: string, path: string, form: Record<string, string>): Promise<Step[]> {
  const response = await client.post(`${origin}${path}`, form);
  assert.equal(response.status, 303, `POST ${origin}${path}`);
  const location = new URL(response.headers.location ?? '', origin);
  assert.equal(location.href, `${origin}/`, `POST ${origin}${path} redirects to /`);
  return client.navigate(location.href);
}

/** Log in on `origin` as `user` with its form, and follow the redirect as a browser does. */
export function login(client: Client, origin: string, user: string): Promise<Step[]> {
  return postThenLoad(client, origin, '/login', { user });
}

/** Log out on `origin`, and follow the redirect as a browser does. */
export function logout(client: Client, origin: string): Promise<Step[]> {
  return postThenLoad(client, origin, '/logout', {});
}

/** Put `item` in the cart on `origin` (a fetch, no page load). */
export async function add(client: Client, origin: string, item: string): Promise<Response> {
  const response = await client.fetch(`${origin}/add?item=${encodeURIComponent(item)}`);
  assert.equal(response.status, 200, `GET ${origin}/add`);
  assert.equal(response.body, 'added\n');
  return response;
}

/** The paths of a navigation's steps: `['/']` is a page with no hop. */
export const paths = (steps: readonly Step[]): string[] => steps.map((step) => new URL(step.url).pathname);

/** The origins of a navigation's steps. */
export const origins = (steps: readonly Step[]): string[] => steps.map((step) => new URL(step.url).origin);

/** A navigation to `/` that hops through the other site and back. */
export const HOP = ['/', '/shared-session/hop', '/shared-session/hop/return', '/'];

/** A browser's copy of `from`'s cookies for `sites` as they are now (a thief's, or a shared computer's). */
export function copyOf(from: Client, sites: readonly string[]): Client {
  const copy = new Client();
  for (const origin of sites) for (const [name, value] of from.cookies(origin)) copy.cookies(origin).set(name, value);
  return copy;
}
