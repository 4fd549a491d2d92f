import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import type { SpecSite } from '../spec/site.ts';
import { koaAdapter } from '../spec/sites/koa.ts';

describe('the spec site on Koa', () => {
  let dir: string;
  let store: SqliteStore;
  const sites: SpecSite[] = [];
  const origins: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-koa-spec-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    origins.push(`http://one.localhost:${await freePort()}`, `http://two.localhost:${await freePort()}`);
    for (const origin of origins) sites.push(await koaAdapter.start({ origin, sites: origins, store }));
  });
  after(async () => {
    await Promise.all(sites.map((site) => site.close()));
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the spec’s routes, and a login on one site is seen on the other after a navigation', async () => {
    const visitor = new Client();
    const [one, two] = origins as [string, string];
    await visitor.navigate(`${one}/`);
    await visitor.navigate(`${two}/`);
    assert.equal((await visitor.fetch(`${one}/add?item=tea`)).body, 'added\n');
    const login = await visitor.post(`${one}/login`, { user: 'ada' });
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    // The browser follows the 303: a page load on the site where the login happened.
    await visitor.navigate(`${one}/`);
    const mine = JSON.parse((await visitor.fetch(`${one}/whoami`)).body) as { id: string | null; user: string | null; cart: string[] };
    assert.deepEqual([mine.user, mine.cart], ['ada', ['tea']]);
    assert.ok(mine.id);
    const page = (await visitor.navigate(`${two}/somewhere`)).at(-1)!;
    assert.match(page.body, /^<!doctype html><title>page<\/title><p>page \/somewhere<\/p>/);
    const there = JSON.parse((await visitor.fetch(`${two}/whoami`)).body) as { id: string | null; user: string | null; cart: string[] };
    assert.deepEqual(there, mine);
    const logout = await visitor.post(`${two}/logout`, {});
    assert.equal(logout.status, 303);
    assert.equal(await store.get(mine.id), null);
    await visitor.navigate(`${two}/`);
    await visitor.navigate(`${one}/`);
    assert.deepEqual(JSON.parse((await visitor.fetch(`${one}/whoami`)).body), { id: null, user: null, cart: [] });
  });
});
