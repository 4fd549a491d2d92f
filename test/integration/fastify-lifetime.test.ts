import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { startFastifySite, type FastifySite } from '../helpers/fastify-site.ts';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';

interface Lifetime {
  expires: string | null;
  originalMaxAge: number | null;
}

describe('Fastify adapter: a stored browser-session cookie stays one', () => {
  let dir: string;
  let store: SqliteStore;
  let site: FastifySite;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-lifetime-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    const origin = `http://a.localhost:${await freePort()}`;
    site = await startFastifySite({
      origin,
      sites: [origin, `http://b.localhost:${await freePort()}`],
      store,
      session: { rolling: true },
      routes: (app) => {
        // The app's decision: this session's cookie ends with the browser session.
        app.get('/browser-session', async (request, reply) => {
          request.session.cart = ['tea'];
          request.session.cookie.expires = null;
          request.session.cookie.originalMaxAge = null;
          return reply.send('ok');
        });
        app.get('/lifetime', (request, reply) => {
          const { expires, originalMaxAge } = request.session.cookie;
          return reply.send({ expires: expires ? expires.toISOString() : null, originalMaxAge } satisfies Lifetime);
        });
      },
    });
  });

  after(async () => {
    await site.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads it without the site’s maxAge, sends it without Expires, and stores it so again', async () => {
    const visitor = new Client();
    const first = await visitor.fetch(`${site.origin}/browser-session`);
    const sent = first.setCookies.find((cookie) => cookie.name === 'a.sid');
    assert.ok(sent, 'the session cookie is sent');
    assert.equal(sent.expires, undefined, 'a browser-session cookie at first');
    const loaded = await visitor.fetch(`${site.origin}/lifetime`);
    assert.deepEqual(JSON.parse(loaded.body) as Lifetime, { expires: null, originalMaxAge: null }, 'loaded as a browser-session cookie, not with the site’s maxAge');
    const rolled = loaded.setCookies.find((cookie) => cookie.name === 'a.sid');
    assert.ok(rolled, 'rolling sends the cookie again');
    assert.equal(rolled.expires, undefined, 'still a browser-session cookie');
    await visitor.fetch(`${site.origin}/add?item=milk`);
    const again = await visitor.fetch(`${site.origin}/lifetime`);
    assert.deepEqual(JSON.parse(again.body) as Lifetime, { expires: null, originalMaxAge: null }, 'a later save keeps it');
  });
});
