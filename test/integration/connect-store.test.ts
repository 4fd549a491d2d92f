/**
 * A connect store users already have keeps working: the demo's sessions in connect-redis
 * 10, with a RedisStore on the same server as the sharing store (token ids, links).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { createClient } from 'redis';
import type { RejectedEvent, WarningEvent } from 'shared-session';
import { startExpressSite } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { craftPush, scriptLoad } from '../helpers/push.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startSite, type SiteProcess } from '../helpers/sites.ts';

describe('a connect store users already have: connect-redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  describe('the demo on connect-redis, with a RedisStore as the sharing store', () => {
    const sites: SiteProcess[] = [];
    let shop: string;
    let blog: string;
    before(async () => {
      const origins = [`http://shop.localhost:${await freePort()}`, `http://blog.localhost:${await freePort()}`];
      [shop, blog] = origins as [string, string];
      for (const origin of origins) sites.push(await startSite(origin, origins, `connect-redis+${redis.url}`));
    });
    after(() => Promise.all(sites.map((site) => site.stop())));

    it('shares a login between the sites through the hop, and a logout', async () => {
      const visitor = new Client();
      await visitor.navigate(`${shop}/`);
      assert.equal((await visitor.post(`${shop}/login`, { username: 'alice', password: 'alice-password' })).status, 303);
      await visitor.navigate(`${shop}/`);
      const steps = await visitor.navigate(`${blog}/`);
      assert.equal(steps.length, 4, 'one hop');
      const me = JSON.parse((await visitor.fetch(`${blog}/whoami`)).body) as { user: string };
      assert.equal(me.user, 'alice');
      // The sessions really are connect-redis records: one JSON string under its `sess:` prefix.
      const client = createClient({ url: redis.url });
      await client.connect();
      const keys = await client.keys('sess:*');
      await client.quit();
      assert.ok(keys.some((key) => /^sess:[A-Za-z0-9_-]{32}$/.test(key)), keys.join(', '));
      await visitor.post(`${blog}/logout`, {});
      await visitor.navigate(`${shop}/`);
      assert.equal((JSON.parse((await visitor.fetch(`${shop}/whoami`)).body) as { user: string | null }).user, null);
    });
  });

  it('warns when there is no shared place for token ids and links, and still works in one process', async () => {
    const client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    const origins = [`http://hub.localhost:${await freePort()}`, `http://other.localhost:${await freePort()}`];
    const store = new ConnectRedisStore({ client, prefix: 'warn:' });
    // Push only: the crafted voucher below is taken without an epoch to bind it to.
    const site = await startExpressSite({ origin: origins[1]!, sites: origins, store, shared: { hubProbe: false, hop: false } });
    const warnings: WarningEvent[] = [];
    const rejected: RejectedEvent[] = [];
    site.shared.on('warning', (event) => warnings.push(event));
    site.shared.on('rejected', (event) => rejected.push(event));
    try {
      // connect-redis 10's methods return promises (the callback is optional).
      await store.set('shared-one', { cookie: { maxAge: 60_000 } as never, cart: ['tea'] } as never);
      // The first use of the sharing store, a valid push, says where token ids are kept.
      const token = await craftPush(origins[0]!, origins[1]!, 'shared-one');
      const push = (visitor: Client) => visitor.fetch(`${origins[1]}/shared-session/${token}.js`, { headers: scriptLoad(origins[0]!) });
      const visitor = new Client();
      assert.equal((await push(visitor)).headers['shared-session-reason'], 'ACCEPTED');
      assert.equal((await push(new Client())).headers['shared-session-reason'], 'TOKEN_REFUSED', 'single use within the process');
      assert.deepEqual(rejected.map((event) => event.reason), ['TOKEN_REPLAYED']);
      // The voucher's page load finds the session in connect-redis and adopts it.
      await visitor.fetch(`${origins[1]}/`, { headers: NAVIGATION_HEADERS });
      assert.deepEqual(JSON.parse((await visitor.fetch(`${origins[1]}/whoami`)).body), { id: 'shared-one', cart: ['tea'] });
      assert.deepEqual(
        warnings.map((warning) => warning.code),
        ['MEMORY_SHARING_STORE'],
      );
    } finally {
      await site.close();
      await client.quit();
    }
  });
});
