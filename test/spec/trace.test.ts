/**
 * What the library may leave behind, on every adapter: its own routes answer without a
 * session cookie or a store write (no save, no touch) unless they adopt a session, and
 * requests without cookies (a bot, a script) write nothing at all.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client, NAVIGATION_HEADERS, type Response } from '../helpers/http.ts';
import { craftPush, scriptLoad } from '../helpers/push.ts';
import { describeMatrix, type SpecContext } from './adapters.ts';
import { add, copyOf, login, whoami } from './browser.ts';

/** The library's routes on `origin`, each as something other than a browser's hop or push would request it. */
function libraryRequests(client: Client, origin: string, other: string, sid: string): Record<string, () => Promise<Response>> {
  return {
    'the health check': () => client.fetch(`${origin}/shared-session/health`),
    'a HEAD of the health check': () => client.fetch(`${origin}/shared-session/health`, { method: 'HEAD' }),
    'a hop query without q': () => client.fetch(`${origin}/shared-session/hop`, { headers: NAVIGATION_HEADERS }),
    'a forged hop query': () => client.fetch(`${origin}/shared-session/hop?q=AAAA`, { headers: NAVIGATION_HEADERS }),
    'a return without an answer': () => client.fetch(`${origin}/shared-session/hop/return`, { headers: NAVIGATION_HEADERS }),
    'a forged return': () => client.fetch(`${origin}/shared-session/hop/return?a=AAAA`, { headers: NAVIGATION_HEADERS }),
    'a hop step fetched as an image': () => client.fetch(`${origin}/shared-session/hop?q=AAAA`, { headers: { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors' } }),
    'a push refused (navigation)': async () => client.fetch(`${origin}/shared-session/${await craftPush(other, origin, sid)}.js`, { headers: NAVIGATION_HEADERS }),
    'a push of a garbage token': () => client.fetch(`${origin}/shared-session/garbage.js`, { headers: scriptLoad(other) }),
  };
}

function noTrace(ctx: SpecContext): void {
    it('answers its own routes without a cookie of the session or a store write, for a browser with and without a session', async () => {
      const { a, b } = ctx;
      const browser = new Client();
      await login(browser, a.origin, 'alice');
      await browser.navigate(`${b.origin}/`);
      const { id } = await whoami(browser, b.origin);
      const records = await ctx.records();
      for (const withSession of [false, true]) {
        // The same requests from a copy of the logged-in browser's cookies: no touch, no save of its session either.
        const client = withSession ? copyOf(browser, [a.origin, b.origin]) : new Client();
        for (const [what, send] of Object.entries(libraryRequests(client, b.origin, a.origin, id!))) {
          const label = `${what}${withSession ? ', with the session cookie' : ''}`;
          const response = await send();
          assert.notEqual(response.status, 500, label);
          assert.ok(response.status < 500 || response.status === 503, `${label}: ${response.status}`);
          assert.deepEqual(
            response.setCookies.filter((cookie) => cookie.name === 'b.sid'),
            [],
            `${label}: no session cookie`,
          );
          assert.deepEqual(await ctx.records(), records, `${label}: no store write`);
        }
      }
      assert.equal((await whoami(browser, b.origin)).user, 'alice');
    });

    it('writes nothing for a bot’s requests without cookies, on pages, the library’s routes and the app’s own', async () => {
      const { a, b } = ctx;
      const records = await ctx.records();
      const bot = new Client({ cookieless: true });
      const headers = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)', accept: 'text/html' };
      for (const origin of [a.origin, b.origin]) {
        for (const path of ['/', '/some/page', '/whoami', '/shared-session/health', '/shared-session/hop', '/shared-session/x.js']) {
          const response = await bot.fetch(`${origin}${path}`, { headers });
          assert.ok(response.status < 500, `${origin}${path}: ${response.status}`);
          assert.equal(response.setCookies.length, 0, `${origin}${path}: no cookie`);
        }
        // A cookie-less logout destroys nothing that exists: no tombstone either.
        assert.equal((await bot.fetch(`${origin}/logout`, { method: 'POST', headers })).status, 303);
      }
      assert.deepEqual(await ctx.records(), records);
    });

    it('writes no session and no link for a browser with cookies off, however often it comes; a hop’s single-use claim at most', async () => {
      const { a, b } = ctx;
      const before = await ctx.records();
      for (let i = 0; i < 5; i++) {
        for (const origin of [a.origin, b.origin]) {
          // Without its state cookie the hop's return is refused (403, and a page that goes on without it).
          for (const step of await new Client({ cookieless: true }).navigate(`${origin}/`)) assert.ok(step.status < 500, `${step.url}: ${step.status}`);
        }
      }
      const added = (await ctx.records()).filter((row) => !before.includes(row));
      assert.deepEqual(
        added.filter((row) => !row.startsWith('claims ')),
        [],
        'no session, link or tombstone',
      );
      assert.ok(added.length <= 10, `${added.length} claims for 10 page loads`);
    });

  it('writes one link epoch per session, however often a script that keeps only its session cookie loads pages', async () => {
    const { a, b } = ctx;
    const script = new Client();
    await add(script, a.origin, 'tea');
    const links = async (): Promise<number> => (await ctx.records()).filter((row) => row.startsWith('links ')).length;
    const before = await links();
    for (let i = 0; i < 20; i++) {
      for (const origin of [a.origin, b.origin]) for (const name of [...script.cookies(origin).keys()]) if (name.startsWith('shared-session.')) script.cookies(origin).delete(name);
      await script.navigate(`${a.origin}/`);
    }
    const written = (await links()) - before;
    assert.ok(written <= 2, `${written} link records for 20 page loads`);
  });
}

describeMatrix('no trace', noTrace, { pairs: false });
// Redis: its keys, read with redis-cli, are what "no store write" is checked against.
describeMatrix('no trace on Redis', noTrace, { pairs: false, store: 'redis' });
