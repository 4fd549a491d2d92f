import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { scriptSources } from '../helpers/express-site.ts';
import { Client, type Response } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { craftPush, notScriptLoads, scriptLoad, tokenOf } from '../helpers/push.ts';
import { sessionRows, startDemoPair, startSite, waitForLine, type DemoPair, type SiteProcess } from '../helpers/sites.ts';

const VOUCHER = 'shared-session.voucher';

interface Whoami {
  user: string | null;
  sessionId: string | null;
  cart: string[];
}

/** A refusal, as the response names it (`header`, the reason by default) and as the `rejected` event does (`reason`). */
interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly header?: string;
  readonly method?: string;
  /** What was sent, for the assertion messages. */
  readonly label?: string;
  /** The process that answers (and logs the event): blog's own unless said otherwise. */
  readonly site?: SiteProcess;
}

/** Two demo sites in two processes over one SQLite file, and a visitor logged in on shop. */
describe('script push between two processes over one store', () => {
  let pair: DemoPair;
  let shop: string;
  let blog: string;
  let alice: Client;
  let aliceSid: string;
  /** The token for blog in the loader of alice's first linked page on shop: the one a page mints. */
  let pageToken: string;
  let blogTwin: SiteProcess;
  let twinPort: number;

  const whoami = async (client: Client, origin: string): Promise<Whoami> => {
    const { user, sessionId, cart } = JSON.parse((await client.fetch(`${origin}/whoami`)).body) as Whoami;
    return { user, sessionId, cart };
  };

  before(async () => {
    pair = await startDemoPair();
    [shop, blog] = [pair.shop.origin, pair.blog.origin];
    twinPort = await freePort();
    // A second process serving blog's origin (same store), as behind a load balancer.
    blogTwin = await startSite(blog, pair.sites, pair.storePath, {}, ['--listen-port', String(twinPort)]);
    alice = new Client();
    // Alice's browser knows blog already (a first page there): a voucher only saves the hop
    // of a browser the receiving site knows, in the epoch a change elsewhere just ended.
    await alice.navigate(`${blog}/`);
    const login = await alice.post(`${shop}/login`, { username: 'alice', password: 'alice-password' });
    assert.equal(login.status, 303);
    // The next page load links the session (after a hop: the browser is new to both sites);
    // its loader then mints for blog, once: the note records blog as pushed.
    const page = (await alice.navigate(`${shop}/`)).at(-1)!;
    const src = scriptSources(page.body).find((url) => url.startsWith(blog));
    assert.ok(src, 'shop’s page carries a script for blog');
    pageToken = tokenOf(src);
    aliceSid = (await whoami(alice, shop)).sessionId!;
  });

  after(async () => {
    await blogTwin.stop();
    await pair.stop();
  });

  /** A fresh valid token for alice's session, sealed as shop seals one; `overrides` alter its claims. */
  const craft = (overrides: Record<string, unknown> = {}): Promise<string> => craftPush(shop, blog, aliceSid, overrides);

  /** Every row of the session table: any session write shows up here. */
  const storeRows = (): string => sessionRows(pair.storePath);

  /** Resolves once `site` logged a line with `text` after line `from` (a line an earlier test caused never counts). */
  const logged = (site: SiteProcess, from: number, text: string): Promise<string> => waitForLine(site, (line) => line.includes(text), from);

  /** Fetch `token` from blog, by default as shop's page loads it: a cross-site `<script>`. */
  function push(token: string, headers: Record<string, string> = scriptLoad(shop), client = new Client(), method = 'GET'): Promise<Response> {
    return client.fetch(`${blog}/shared-session/${token}.js`, { method, headers });
  }

  /** Send a request that must be refused, and check that the refusal leaves no trace in the store. */
  async function refused(token: string, run: (token: string) => Promise<Response>, refusal: Refusal): Promise<void> {
    const what = refusal.label ?? refusal.reason;
    const rowsBefore = storeRows();
    const site = refusal.site ?? pair.blog;
    const from = site.output.length;
    const response = await run(token);
    assert.equal(storeRows(), rowsBefore, `no store write for ${what}`);
    assert.equal(response.status, refusal.status, `status for ${what}`);
    assert.equal(response.headers['shared-session-reason'], refusal.header ?? refusal.reason, what);
    assert.equal(response.setCookies.length, 0, `no cookie for ${what}`);
    assert.equal(response.body, '');
    assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8');
    // The site logs the rejected event with its exact reason (the demo's listener).
    await logged(site, from, `refused ${refusal.method ?? 'GET'} push: ${refusal.reason}`);
  }

  /** The token works: blog accepts it with a voucher, and nothing else. */
  function assertAccepted(response: Response): void {
    assert.equal(response.status, 200);
    assert.equal(response.headers['shared-session-reason'], 'ACCEPTED');
    assert.deepEqual(response.setCookies.map((cookie) => cookie.name), [VOUCHER]);
  }

  it('accepts a token from shop’s page with a voucher; blog’s next page load shows alice’s session, without a hop', async () => {
    const rowsBefore = storeRows();
    const from = pair.blog.output.length;
    assertAccepted(await push(pageToken, scriptLoad(shop), alice));
    assert.equal(storeRows(), rowsBefore, 'the push itself writes no session');
    assert.equal((await whoami(alice, blog)).user, null, 'a request that is no page load leaves the voucher be');
    assert.deepEqual((await alice.navigate(`${blog}/`)).map((step) => new URL(step.url).pathname), ['/']);
    const me = await whoami(alice, blog);
    assert.deepEqual([me.user, me.sessionId], ['alice', aliceSid]);
    assert.ok(!alice.cookies(blog).has(VOUCHER), 'the voucher is used up');
    await logged(pair.blog, from, `took over the session from ${shop} (push)`);
  });

  it('adopts nothing from a voucher in another browser: a token of someone’s session, loaded as a script anyway (a <link rel=preload as=script> in user content), logs nobody in', async () => {
    for (const victim of [new Client(), await (async () => {
      // A browser blog knows, in an epoch of its own.
      const known = new Client();
      await known.navigate(`${blog}/`);
      return known;
    })()]) {
      assertAccepted(await push(await craft(), scriptLoad(shop), victim));
      await victim.navigate(`${blog}/`);
      assert.equal((await whoami(victim, blog)).user, null);
      assert.ok(!victim.cookies(blog).has(VOUCHER), 'the voucher is used up all the same');
    }
  });

  describe('refusals: a status, a reason, an event; no cookie, no store write', () => {
    it('a token over 2 KB', () => refused('A'.repeat(2100), (t) => push(t), { status: 414, reason: 'TOKEN_TOO_LONG' }));
    it('a token that is not base64url', () => refused('abc%24def', (t) => push(t), { status: 400, reason: 'TOKEN_MALFORMED' }));
    it('a token with one flipped bit', async () => {
      const raw = Buffer.from(await craft(), 'base64url');
      raw[40] = (raw[40] as number) ^ 1;
      await refused(raw.toString('base64url'), (t) => push(t), { status: 403, reason: 'TOKEN_INVALID' });
    });
    it('another site’s token', async () => refused(await craft({ dst: shop, src: blog }), (t) => push(t), { status: 403, reason: 'WRONG_DESTINATION' }));
    it('a token from a site that is not configured', async () => refused(await craft({ src: 'https://evil.example' }), (t) => push(t), { status: 403, reason: 'UNKNOWN_SOURCE' }));
    it('an expired token, which the response does not tell from a used one', async () =>
      refused(await craft({ iat: Date.now() - 31_000 }), (t) => push(t), { status: 403, reason: 'TOKEN_EXPIRED', header: 'TOKEN_REFUSED' }));
    it('a token dated in the future beyond the skew', async () => refused(await craft({ iat: Date.now() + 60_000 }), (t) => push(t), { status: 403, reason: 'TOKEN_FROM_FUTURE' }));
    it('a token embedded by another site’s page (login CSRF), which stays usable by its real page', async () => {
      const token = await craft();
      const { referer: _, ...noReferer } = scriptLoad(shop);
      for (const headers of [{ ...noReferer, referer: 'https://evil.example/' }, { ...noReferer, referer: '' }, noReferer]) {
        await refused(token, (t) => push(t, headers), { status: 403, reason: 'REFERER_MISMATCH' });
      }
      assertAccepted(await push(token));
    });
    it('a token fetched by anything but a cross-site script, which stays usable by a script load', async () => {
      const token = await craft();
      for (const [kind, headers] of Object.entries(notScriptLoads(shop))) {
        await refused(token, (t) => push(t, headers), { status: 403, reason: 'NOT_A_SCRIPT_LOAD', label: kind });
      }
      assertAccepted(await push(token));
    });
    it('a HEAD, which never uses up the token', async () => {
      const token = await craft();
      await refused(token, (t) => push(t, scriptLoad(shop), new Client(), 'HEAD'), { status: 405, reason: 'METHOD_NOT_ALLOWED', method: 'HEAD' });
      assertAccepted(await push(token));
    });
    it('a replayed token, on the same and on the other process', async () => {
      const token = await craft();
      assertAccepted(await push(token));
      const replayed = { status: 403, reason: 'TOKEN_REPLAYED', header: 'TOKEN_REFUSED' };
      await refused(token, (t) => push(t), replayed);
      const viaTwin = (t: string) => new Client().fetch(`http://127.0.0.1:${twinPort}/shared-session/${t}.js`, { headers: { ...scriptLoad(shop), host: new URL(blog).host } });
      await refused(token, viaTwin, { ...replayed, site: blogTwin });
    });
    it('a Host that is not one of the sites', async () => refused(await craft(), (t) => push(t, { ...scriptLoad(shop), host: 'evil.localhost' }), { status: 421, reason: 'UNKNOWN_HOST' }));
    it('no Host at all', async () => {
      const port = Number(new URL(blog).port);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end('GET /shared-session/abc.js HTTP/1.0\r\n\r\n'));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.match(raw, /^HTTP\/1\.1 400 /);
      assert.match(raw, /shared-session-reason: NO_HOST/i);
      assert.doesNotMatch(raw, /set-cookie/i);
    });
  });

  it('accepts a token for a session that is gone (the push reads no session), and its voucher adopts nothing', async () => {
    const visitor = new Client();
    const rowsBefore = storeRows();
    assertAccepted(await push(await craft({ sid: 'no-such-session-id' }), scriptLoad(shop), visitor));
    assert.equal(storeRows(), rowsBefore);
    await visitor.navigate(`${blog}/`);
    assert.ok(!visitor.cookies(blog).has(VOUCHER), 'the voucher is used up');
    assert.deepEqual(await whoami(visitor, blog), { user: null, sessionId: null, cart: [] });
  });

  it('gives exactly one voucher for 100 parallel requests with one token, across two processes', async () => {
    const token = await craft();
    const clients = Array.from({ length: 100 }, () => new Client());
    const responses = await Promise.all(
      clients.map((client, i) =>
        client.fetch(i % 2 === 0 ? `${blog}/shared-session/${token}.js` : `http://127.0.0.1:${twinPort}/shared-session/${token}.js`, {
          headers: { ...scriptLoad(shop), host: new URL(blog).host },
        }),
      ),
    );
    const reasons = responses.map((response) => response.headers['shared-session-reason']);
    assert.equal(reasons.filter((reason) => reason === 'ACCEPTED').length, 1, JSON.stringify(reasons));
    assert.equal(reasons.filter((reason) => reason === 'TOKEN_REFUSED').length, 99);
    assert.equal(responses.filter((response) => response.setCookies.length > 0).length, 1);
  });

  it('keeps the receiving site’s own non-empty session when its next page load takes the voucher', async () => {
    const visitor = new Client();
    await visitor.post(`${blog}/cart`, { item: 'blog-only' });
    const own = await whoami(visitor, blog);
    assertAccepted(await push(await craft(), scriptLoad(shop), visitor));
    await visitor.navigate(`${blog}/`);
    assert.ok(!visitor.cookies(blog).has(VOUCHER), 'the voucher is used up all the same');
    assert.deepEqual(await whoami(visitor, blog), own);
    assert.deepEqual([own.user, own.cart], [null, ['blog-only']]);
  });
});
