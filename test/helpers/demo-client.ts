import assert from 'node:assert/strict';
import type { Client, Step } from './http.ts';

/** What the demo's `/whoami` says, without the site's own name (to compare sites). */
export interface Whoami {
  user: string | null;
  sessionId: string | null;
  cart: string[];
}

export async function whoami(client: Client, origin: string): Promise<Whoami> {
  const { user, sessionId, cart } = JSON.parse((await client.fetch(`${origin}/whoami`)).body) as Whoami;
  return { user, sessionId, cart };
}

/** Log in on a demo site as a browser does: its page, the form post, the page it redirects to. Resolves that last navigation's steps. */
export async function loginOn(client: Client, origin: string, user: string): Promise<Step[]> {
  await client.navigate(`${origin}/`);
  assert.equal((await client.post(`${origin}/login`, { username: user, password: `${user}-password` })).status, 303);
  return client.navigate(`${origin}/`);
}

/** Log out on a demo site, and load the page it redirects to. */
export async function logoutOn(client: Client, origin: string): Promise<void> {
  assert.equal((await client.post(`${origin}/logout`, {})).status, 303);
  await client.navigate(`${origin}/`);
}

/** The path of each step of a navigation. */
export const paths = (steps: readonly Step[]): string[] => steps.map((step) => new URL(step.url).pathname);
