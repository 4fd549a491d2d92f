import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { loginOn, logoutOn, whoami } from '../helpers/demo-client.ts';
import { Client, type Step } from '../helpers/http.ts';
import { startDemoSites, type DemoSites } from '../helpers/sites.ts';

/**
 * Browsers delete the hub's cookies when they see the hop as bounce tracking (Chromium
 * with third-party cookies blocked, Firefox strict, Safari's ITP): the hub then forgets
 * the browser while every other site remembers it. Three demo sites in three processes;
 * the purge is the deletion of every cookie of the hub from the browser's jar.
 */
describe('sharing survives a purge of the hub’s cookies', () => {
  let demo: DemoSites<'shop' | 'blog' | 'news'>;
  let shop: string;
  let blog: string;
  let news: string;

  before(async () => {
    demo = await startDemoSites(['shop', 'blog', 'news']);
    [shop, blog, news] = demo.sites as [string, string, string];
  });
  after(() => demo.stop());

  const user = async (client: Client, origin: string): Promise<string | null> => (await whoami(client, origin)).user;
  const session = async (client: Client, origin: string): Promise<string | null> => (await whoami(client, origin)).sessionId;
  const visit = (client: Client, origin: string): Promise<Step[]> => client.navigate(`${origin}/`);
  const login = async (client: Client, origin: string, name: string): Promise<void> => void (await loginOn(client, origin, name));
  const logout = logoutOn;
  const purgeHub = (client: Client): void => client.cookies(shop).clear();
  /** Live sessions in the store that belong to a logged-in user. */
  const liveLogins = (): string[] => {
    const db = new DatabaseSync(demo.storePath, { readOnly: true });
    try {
      const rows = db.prepare('SELECT data FROM shared_session_sessions WHERE expires > ?').all(Date.now()) as { data: string }[];
      return rows.map((row) => (JSON.parse(row.data) as { user?: string }).user).filter((name): name is string => typeof name === 'string');
    } finally {
      db.close();
    }
  };

  it('sites that know the browser keep sharing; the hub learns it back on its next page; logins and logouts anywhere reach every site', async () => {
    const visitor = new Client();
    await login(visitor, shop, 'alice');
    for (const origin of [blog, news]) {
      await visit(visitor, origin);
      assert.equal(await user(visitor, origin), 'alice');
    }

    purgeHub(visitor);
    // The sites that know the browser keep sharing: a logout and a login between them, without the hub.
    await logout(visitor, blog);
    await visit(visitor, news);
    assert.equal(await user(visitor, news), null);
    await login(visitor, news, 'bob');
    await visit(visitor, blog);
    assert.equal(await user(visitor, blog), 'bob');
    // The hub's next page load asks the others and is logged in as bob again, with the same session.
    await visit(visitor, shop);
    assert.equal(await user(visitor, shop), 'bob');
    assert.equal(await session(visitor, shop), await session(visitor, blog));

    // A logout made on the hub after a purge logs out every site.
    purgeHub(visitor);
    await visit(visitor, shop);
    assert.equal(await user(visitor, shop), 'bob');
    await logout(visitor, shop);
    for (const origin of [blog, news]) {
      await visit(visitor, origin);
      assert.equal(await user(visitor, origin), null, origin);
    }

    // A login on the hub after a purge reaches every site, and leaves one live session for it.
    await login(visitor, blog, 'carol');
    purgeHub(visitor);
    await login(visitor, shop, 'alice');
    for (const origin of [blog, news]) {
      await visit(visitor, origin);
      assert.equal(await user(visitor, origin), 'alice', origin);
    }
    assert.deepEqual(liveLogins().filter((name) => name === 'alice' || name === 'carol'), ['alice']);
  });
});
