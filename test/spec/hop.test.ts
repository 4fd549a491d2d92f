/**
 * The top-level hop on every adapter and every pair: a browser's session follows it from
 * site to site through a redirect via the hub, and once the sites know it, nothing hops.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client } from '../helpers/http.ts';
import { describeMatrix } from './adapters.ts';
import { HOP, add, login, logout, origins, paths, whoami } from './browser.ts';

describeMatrix('hop', (ctx) => {
  it('hops an unknown browser’s first page to the hub and back, then never again; no session id in any URL', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    const first = await visitor.navigate(`${b.origin}/`);
    assert.deepEqual(paths(first), HOP);
    assert.deepEqual(origins(first), [b.origin, a.origin, b.origin, b.origin]);
    for (const step of first.slice(0, -1)) {
      assert.equal(step.status, 303, step.url);
      assert.equal(step.headers['cache-control'], 'no-store', step.url);
      assert.equal(step.headers['referrer-policy'], 'no-referrer', step.url);
    }
    assert.equal(first.at(-1)!.status, 200);
    assert.match(first.at(-1)!.body, /^<!doctype html><title>page<\/title><p>page \/<\/p>/);
    // The steady state: neither site sends a redirect any more.
    assert.deepEqual(paths(await visitor.navigate(`${b.origin}/`)), ['/']);
    assert.deepEqual(paths(await visitor.navigate(`${a.origin}/`)), ['/']);
    assert.deepEqual(paths(await visitor.navigate(`${b.origin}/other`)), ['/other']);

    await add(visitor, a.origin, 'tea');
    await login(visitor, a.origin, 'alice');
    const me = await whoami(visitor, a.origin);
    const onB = await visitor.navigate(`${b.origin}/`);
    for (const step of onB) {
      assert.ok(!step.url.includes(me.id!), 'no session id in a URL');
      assert.ok(!(step.headers.location ?? '').includes(me.id!), 'no session id in a Location');
    }
  });

  it('shows a login and a cart made on A on B after one navigation, then settles', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    await visitor.navigate(`${a.origin}/`);
    await visitor.navigate(`${b.origin}/`);
    await add(visitor, a.origin, 'tea');
    await login(visitor, a.origin, 'alice');
    const me = await whoami(visitor, a.origin);
    assert.equal(me.user, 'alice');
    assert.deepEqual(me.cart, ['tea'], 'the login keeps the cart');
    assert.equal((await whoami(visitor, b.origin)).user, null, 'no page load of B yet');
    await visitor.navigate(`${b.origin}/`);
    assert.deepEqual(await whoami(visitor, b.origin), me);
    // A cart change on B (same session id) is on A without any hop.
    await add(visitor, b.origin, 'sencha');
    assert.deepEqual(paths(await visitor.navigate(`${a.origin}/`)), ['/']);
    assert.deepEqual((await whoami(visitor, a.origin)).cart, ['tea', 'sencha']);
    assert.deepEqual(paths(await visitor.navigate(`${b.origin}/`)), ['/']);
  });

  it('shows a login made on B (not the hub) on A', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    await visitor.navigate(`${b.origin}/`);
    await login(visitor, b.origin, 'bob');
    const me = await whoami(visitor, b.origin);
    await visitor.navigate(`${a.origin}/`);
    assert.deepEqual(await whoami(visitor, a.origin), me);
  });

  it('carries an anonymous cart from B to A', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    await visitor.navigate(`${b.origin}/`);
    await add(visitor, b.origin, 'rooibos');
    await visitor.navigate(`${b.origin}/`);
    await visitor.navigate(`${a.origin}/`);
    const onA = await whoami(visitor, a.origin);
    assert.deepEqual(onA.cart, ['rooibos']);
    assert.equal(onA.id, (await whoami(visitor, b.origin)).id);
  });

  it('ends the session on B with a logout on A, and shares the next login again', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    await visitor.navigate(`${a.origin}/`);
    await login(visitor, a.origin, 'alice');
    await visitor.navigate(`${b.origin}/`);
    const first = await whoami(visitor, b.origin);
    assert.equal(first.user, 'alice');

    await logout(visitor, a.origin);
    assert.deepEqual(await whoami(visitor, a.origin), { id: null, user: null, cart: [] });
    // The store no longer holds the session: B shows nobody at once, before any navigation.
    assert.deepEqual(await whoami(visitor, b.origin), { id: null, user: null, cart: [] });
    await visitor.navigate(`${a.origin}/`);
    await visitor.navigate(`${b.origin}/`);
    assert.equal((await whoami(visitor, b.origin)).user, null);
    assert.deepEqual(paths(await visitor.navigate(`${b.origin}/`)), ['/'], 'settled after the logout');

    await login(visitor, a.origin, 'carol');
    const again = await whoami(visitor, a.origin);
    assert.notEqual(again.id, first.id);
    await visitor.navigate(`${b.origin}/`);
    assert.deepEqual(await whoami(visitor, b.origin), again);
    assert.deepEqual(paths(await visitor.navigate(`${b.origin}/`)), ['/']);
    assert.deepEqual(paths(await visitor.navigate(`${a.origin}/`)), ['/']);
  });

  it('sends no redirect to a crawler, a script, a POST or a fetch()', async () => {
    const { b } = ctx;
    const records = await ctx.records();
    // Each a browser's navigation but for one header: what makes it no top-level page load of a person.
    const requests: Record<string, Record<string, string>> = {
      'a crawler': { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)' },
      'no user agent': { 'user-agent': '' },
      'a fetch()': { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
      'a prefetch': { 'sec-purpose': 'prefetch' },
      'an iframe': { 'sec-fetch-dest': 'iframe' },
    };
    for (const [what, headers] of Object.entries(requests)) {
      const steps = await new Client().navigate(`${b.origin}/`, { headers });
      assert.deepEqual(paths(steps), ['/'], what);
      assert.equal(steps[0]!.setCookies.length, 0, what);
    }
    const post = await new Client().fetch(`${b.origin}/logout`, { method: 'POST', headers: { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    assert.equal(post.status, 303);
    assert.equal(post.headers.location, '/');
    assert.deepEqual(await ctx.records(), records, 'none of them wrote to the store');
  });
});
