import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, NAVIGATION_HEADERS } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { craftPush, scriptLoad } from '../helpers/push.ts';
import { startDemoPair, startSite, waitForLine, type DemoPair, type SiteProcess } from '../helpers/sites.ts';

describe('each demo site as two processes behind one store', () => {
  let pair: DemoPair;
  const twins: SiteProcess[] = [];
  let balance: Record<string, number[]>;

  before(async () => {
    pair = await startDemoPair();
    const [shopTwin, blogTwin] = [await freePort(), await freePort()];
    twins.push(
      await startSite(pair.shop.origin, pair.sites, pair.storePath, {}, ['--listen-port', String(shopTwin)]),
      await startSite(pair.blog.origin, pair.sites, pair.storePath, {}, ['--listen-port', String(blogTwin)]),
    );
    balance = {
      [new URL(pair.shop.origin).host]: [Number(new URL(pair.shop.origin).port), shopTwin],
      [new URL(pair.blog.origin).host]: [Number(new URL(pair.blog.origin).port), blogTwin],
    };
  });
  after(async () => {
    await Promise.all(twins.map((twin) => twin.stop()));
    await pair.stop();
  });

  const whoami = async (client: Client, origin: string) => {
    const { user, sessionId, cart } = JSON.parse((await client.fetch(`${origin}/whoami`)).body) as { user: string | null; sessionId: string | null; cart: string[] };
    return { user, sessionId, cart };
  };

  it('keeps one session for a visitor bouncing between all four processes', async () => {
    const visitor = new Client({ balance });
    const { shop, blog } = { shop: pair.shop.origin, blog: pair.blog.origin };
    await visitor.navigate(`${shop}/`);
    assert.equal((await visitor.post(`${shop}/login`, { username: 'alice', password: 'alice-password' })).status, 303);
    await visitor.navigate(`${shop}/`);
    const me = await whoami(visitor, shop);
    assert.equal(me.user, 'alice');
    // The hop itself crosses processes: blog#1 → shop#2 → blog#2 → blog#1…
    await visitor.navigate(`${blog}/`);
    await visitor.post(`${blog}/cart`, { item: 'matcha' });
    for (let round = 0; round < 4; round++) {
      for (const origin of [shop, blog]) {
        await visitor.navigate(`${origin}/`);
        assert.deepEqual(await whoami(visitor, origin), { ...me, cart: ['matcha'] }, `round ${round} on ${origin}`);
      }
    }
    const processes = new Set(visitor.served);
    assert.equal(processes.size, 4, `served by ${[...processes].join(', ')}`);
  });

  it('accepts a token once across the processes of a site', async () => {
    const visitor = new Client({ balance });
    const { shop, blog } = { shop: pair.shop.origin, blog: pair.blog.origin };
    await visitor.post(`${shop}/cart`, { item: 'sencha' });
    const { sessionId } = await whoami(visitor, shop);
    const token = await craftPush(shop, blog, sessionId!);
    const results = [];
    const pushes = new Client({ balance });
    for (let i = 0; i < 4; i++) {
      const response = await pushes.fetch(`${blog}/shared-session/${token}.js`, { headers: scriptLoad(shop) });
      results.push(response.headers['shared-session-reason']);
    }
    // The header does not say why (replayed and expired read alike); the event does.
    assert.deepEqual(results, ['ACCEPTED', 'TOKEN_REFUSED', 'TOKEN_REFUSED', 'TOKEN_REFUSED']);
    assert.equal(new Set(pushes.served).size, 2, `served by ${pushes.served.join(', ')}`);

    // A hop answer too: used on one blog process, replayed on the other with its state cookie kept.
    const fresh = new Client({ balance });
    const start = await fresh.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    const state = start.setCookies.find((cookie) => cookie.name.startsWith('shared-session.hop.'))!;
    const answered = await fresh.fetch(start.headers.location!, { headers: NAVIGATION_HEADERS });
    const returnUrl = answered.headers.location!;
    assert.equal((await fresh.fetch(returnUrl, { headers: NAVIGATION_HEADERS })).status, 303);
    fresh.cookies(blog).set(state.name, state.value!);
    const blogProcesses = [pair.blog, twins[1] as SiteProcess];
    const from = blogProcesses.map((site) => site.output.length);
    const replay = await fresh.fetch(returnUrl, { headers: NAVIGATION_HEADERS });
    assert.notEqual(fresh.served.at(-1), fresh.served.at(-2), 'the replay reached the other process');
    assert.equal(replay.status, 403);
    assert.equal(replay.headers['shared-session-reason'], 'TOKEN_REFUSED');
    // The event keeps the exact reason; the process that refused it logs it.
    const replayedOn = fresh.served.at(-1) === `${new URL(blog).host}@${new URL(blog).port}` ? 0 : 1;
    await waitForLine(blogProcesses[replayedOn] as SiteProcess, (line) => line.includes('refused GET hop: TOKEN_REPLAYED'), from[replayedOn]);
  });
});
