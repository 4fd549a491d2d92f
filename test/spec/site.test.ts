/**
 * The spec site itself, on every adapter: the routes, bodies and cookie that
 * test/spec/site.ts promises and every other case relies on. A failure here is a defect
 * of the adapter's spec site (or of its framework glue), found before it shows as a
 * puzzling failure of a sharing case.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client } from '../helpers/http.ts';
import { describeMatrix } from './adapters.ts';
import { add, login, logout, whoami } from './browser.ts';

describeMatrix(
  'the spec site',
  (ctx) => {
    it('serves /add, /whoami and pages as site.ts says, with the session cookie <label>.sid, SameSite=Lax, HttpOnly, no Secure, an hour', async () => {
      const { a } = ctx;
      const browser = new Client();
      assert.deepEqual(await whoami(browser, a.origin), { id: null, user: null, cart: [] });
      const added = await add(browser, a.origin, 'tea');
      const cookie = added.setCookies.find((entry) => entry.name === 'a.sid');
      assert.ok(cookie, 'the session cookie is a.sid');
      assert.equal(cookie.sameSite, 'lax');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.secure, undefined);
      assert.equal(cookie.path, '/');
      assert.equal(cookie.domain, undefined);
      const lifetime = cookie.maxAge !== undefined ? cookie.maxAge * 1000 : cookie.expires!.getTime() - Date.now();
      assert.ok(Math.abs(lifetime - 3_600_000) < 5_000, `an hour: ${lifetime} ms`);
      await add(browser, a.origin, 'sencha');
      const me = await whoami(browser, a.origin);
      assert.deepEqual([me.user, me.cart], [null, ['tea', 'sencha']]);
      assert.equal(typeof me.id, 'string');
      const page = (await browser.navigate(`${a.origin}/some/page`)).at(-1)!;
      assert.equal(new URL(page.url).pathname, '/some/page');
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.ok(page.body.startsWith('<!doctype html><title>page</title><p>page /some/page</p>'), page.body);
    });

    it('logs in with a new id keeping the cart, and logs out destroying the session in the store', async () => {
      const { a } = ctx;
      const browser = new Client();
      await add(browser, a.origin, 'tea');
      const anonymous = await whoami(browser, a.origin);
      await login(browser, a.origin, 'alice');
      const me = await whoami(browser, a.origin);
      assert.deepEqual([me.user, me.cart], ['alice', ['tea']]);
      assert.notEqual(me.id, anonymous.id, 'a new id');
      // The live sessions, as the store lists them (tombstones are no sessions).
      const stored = async (): Promise<string[]> => Object.keys(await ctx.store.all());
      assert.deepEqual(await stored(), [me.id], 'the old id is destroyed');
      await logout(browser, a.origin);
      assert.deepEqual(await whoami(browser, a.origin), { id: null, user: null, cart: [] });
      assert.deepEqual(await stored(), [], 'the session is gone from the store');
    });
  },
  { pairs: false },
);

describeMatrix(
  'the spec site with maxAgeMs',
  (ctx) => {
    it('gives the session cookie the lifetime asked for', async () => {
      const added = await add(new Client(), ctx.a.origin, 'tea');
      const cookie = added.setCookies.find((entry) => entry.name === 'a.sid');
      assert.ok(cookie);
      const lifetime = cookie.maxAge !== undefined ? cookie.maxAge * 1000 : cookie.expires!.getTime() - Date.now();
      assert.ok(Math.abs(lifetime - 120_000) < 5_000, `two minutes: ${lifetime} ms`);
    });
  },
  { pairs: false, site: { maxAgeMs: 120_000 } },
);
