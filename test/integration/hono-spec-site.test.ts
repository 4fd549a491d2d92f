import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import type { SpecSite } from '../spec/site.ts';
import { hono } from '../spec/sites/hono.ts';

describe(`the spec site of the '${hono.name}' adapter`, () => {
  let dir: string;
  let store: SqliteStore;
  let a: SpecSite;
  let b: SpecSite;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-hono-spec-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    const sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
    a = await hono.start({ origin: sites[0]!, sites, store });
    b = await hono.start({ origin: sites[1]!, sites, store, maxAgeMs: 600_000 });
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the spec’s routes: a login on one site is seen on the other after a navigation', async () => {
    const visitor = new Client();
    assert.deepEqual(JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body), { id: null, user: null, cart: [] });
    assert.equal((await visitor.fetch(`${a.origin}/add?item=tea`)).body, 'added\n');
    const login = await visitor.post(`${a.origin}/login`, { user: 'ann' });
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    const cookie = login.setCookies.find((entry) => entry.name === 'a.sid');
    assert.equal(cookie?.sameSite, 'lax');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.secure, undefined);
    const onA = JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body) as { id: string; user: string; cart: string[] };
    assert.deepEqual([onA.user, onA.cart], ['ann', ['tea']]);
    const steps = await visitor.navigate(`${b.origin}/somewhere`);
    assert.ok(steps.length > 1, 'b’s first page load hops');
    const page = steps.at(-1)!;
    assert.equal(page.status, 200);
    assert.ok(page.body.startsWith('<!doctype html><title>page</title><p>page /somewhere</p>'), page.body);
    assert.deepEqual(JSON.parse((await visitor.fetch(`${b.origin}/whoami`)).body), onA);
    // b adopts the session with its own cookie settings but the session's own lifetime
    // (a's one hour, not b's ten minutes for new sessions).
    const adopted = steps.flatMap((step) => step.setCookies).find((entry) => entry.name === 'b.sid');
    assert.ok(adopted, 'b sends its own cookie');
    assert.ok(Math.abs((adopted.expires?.getTime() ?? 0) - (Date.now() + 3_600_000)) < 60_000, String(adopted.expires));
    assert.ok(b.events.some((entry) => entry.name === 'sessionReplaced'));
    assert.equal((await visitor.post(`${b.origin}/logout`, {})).status, 303);
    assert.equal(await store.get(onA.id), null);
    assert.deepEqual(JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body), { id: null, user: null, cart: [] });
  });
});
