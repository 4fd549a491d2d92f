/**
 * Nothing acknowledged is lost: the Express adapter saves a changed session before the
 * response starts, so a save that fails becomes the app's 503, never a 200.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ErrorRequestHandler } from 'express';
import { SqliteStore } from 'shared-session/sqlite';
import { startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';

describe('saving before responding', () => {
  let dir: string;
  let site: ExpressSite;
  let store: SqliteStore;
  let reader: SqliteStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-save-first-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    reader = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    const origins = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
    site = await startExpressSite({
      origin: origins[0]!,
      sites: origins,
      store,
      routes: (app) => {
        // The store goes away while the request runs, after the handler changed the session.
        app.get('/add-then-lose-the-store', (req, res) => {
          req.session.cart = ['lost?'];
          store.close();
          res.type('text').send('added\n');
        });
        const errors: ErrorRequestHandler = (error: { status?: number }, _req, res, _next) => {
          res.status(error.status ?? 500).type('text').send(`error ${error.status ?? 500}\n`);
        };
        app.use(errors);
      },
    });
  });
  after(async () => {
    await site.close();
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the change in the store by the time the response arrives', async () => {
    const visitor = new Client();
    await visitor.fetch(`${site.origin}/add?item=tea`);
    const { id } = JSON.parse((await visitor.fetch(`${site.origin}/whoami`)).body) as { id: string };
    const response = await visitor.fetch(`${site.origin}/add?item=milk`);
    assert.equal(response.status, 200);
    const stored = await new Promise<{ cart?: string[] } | null>((resolve) => reader.get(id, (_error, session) => resolve(session as { cart?: string[] } | null)));
    assert.deepEqual(stored?.cart, ['tea', 'milk']);
  });

  it('answers 503, not 200, when the changed session cannot be saved', async () => {
    const response = await new Client().fetch(`${site.origin}/add-then-lose-the-store`);
    assert.equal(response.status, 503);
    assert.equal(response.body, 'error 503\n');
    assert.equal(response.setCookies.length, 0, 'no cookie for a session that is not stored');
  });
});
