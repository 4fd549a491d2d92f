import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import type { SpecSite } from '../spec/site.ts';
import { fastifyAdapter } from '../spec/sites/fastify.ts';

describe('the spec site on Fastify', () => {
  let dir: string;
  let store: SqliteStore;
  let a: SpecSite;
  let b: SpecSite;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-spec-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    const sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
    a = await fastifyAdapter.start({ origin: sites[0]!, sites, store });
    b = await fastifyAdapter.start({ origin: sites[1]!, sites, store });
  });
  after(async () => {
    await a.close();
    await b.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is named fastify, and a login on one site is seen on the other after a navigation', async () => {
    assert.equal(fastifyAdapter.name, 'fastify');
    const visitor = new Client();
    await visitor.navigate(`${a.origin}/`);
    assert.equal((await visitor.fetch(`${a.origin}/add?item=tea`)).body, 'added\n');
    const login = await visitor.post(`${a.origin}/login`, { user: 'ada' });
    assert.equal(login.status, 303);
    const onA = JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body) as { id: string; user: string; cart: string[] };
    assert.deepEqual([onA.user, onA.cart], ['ada', ['tea']]);
    await visitor.navigate(`${a.origin}/`);
    const page = (await visitor.navigate(`${b.origin}/somewhere`)).at(-1)!;
    assert.match(page.body, /^<!doctype html><title>page<\/title><p>page \/somewhere<\/p>/);
    const onB = JSON.parse((await visitor.fetch(`${b.origin}/whoami`)).body) as { id: string; user: string; cart: string[] };
    assert.deepEqual(onB, onA);
    const cookie = (await visitor.fetch(`${b.origin}/add?item=milk`)).setCookies.find((c) => c.name === 'b.sid');
    assert.equal(cookie?.sameSite, 'lax');
    assert.equal(cookie?.httpOnly, true);
    assert.notEqual(cookie?.secure, true);
    assert.deepEqual(a.events.filter((e) => e.name !== 'sessionReplaced'), []);
    // A logout on b ends the session on a too, after a navigation there.
    assert.equal((await visitor.post(`${b.origin}/logout`, {})).status, 303);
    assert.equal(await new Promise((resolve) => store.get(onA.id, (_e, found) => resolve(found ?? null))), null, 'destroyed in the store');
    await visitor.navigate(`${b.origin}/`);
    await visitor.navigate(`${a.origin}/`);
    assert.deepEqual(JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body), { id: null, user: null, cart: [] });
  });
});
