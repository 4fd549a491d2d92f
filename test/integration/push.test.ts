import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, Sealer } from '../../src/core/token.ts';
import { scriptSources } from '../helpers/express-site.ts';
import { Client, type Response } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { SHARED_SECRET, sessionRows, startDemoPair, startSite, type DemoPair, type SiteProcess } from '../helpers/sites.ts';

const sealer = new Sealer(deriveKeys(SHARED_SECRET));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two demo sites in two processes over one SQLite file, and a visitor logged in on shop. */
describe('script push between two processes over one store', () => {
  let pair: DemoPair;
  let alice: Client;
  let aliceSid: string;
  let blogTwin: SiteProcess;
  let twinPort: number;

  before(async () => {
    pair = await startDemoPair();
    twinPort = await freePort();
    // A second process serving blog's origin (same store), as behind a load balancer.
    blogTwin = await startSite(pair.blog.origin, pair.sites, pair.storePath, {}, ['--listen-port', String(twinPort)]);
    alice = new Client();
    const login = await alice.post(`${pair.shop.origin}/login`, { username: 'alice', password: 'alice-password' });
    assert.equal(login.status, 303);
    aliceSid = (JSON.parse((await alice.fetch(`${pair.shop.origin}/whoami`)).body) as { sessionId: string }).sessionId;
  });

  after(async () => {
    await blogTwin.stop();
    await pair.stop();
  });

  /** A token from shop's page for blog, as the browser would fetch it. */
  async function tokenFromPage(client: Client): Promise<string> {
    const page = await client.fetch(`${pair.shop.origin}/`);
    const src = scriptSources(page.body).find((url) => url.startsWith(pair.blog.origin));
    assert.ok(src, 'shop’s page carries a script for blog');
    return new URL(src).pathname.split('/').pop()!.slice(0, -3);
  }

  /**
   * A fresh valid token for alice's session. Once blog holds her session shop's pages
   * rightly mint nothing more, so later tests seal tokens with the shared secret, as shop does.
   */
  function tokenForBlog(): Promise<string> {
    return Promise.resolve(craft({}));
  }

  function craft(overrides: Record<string, unknown>): string {
    return sealer.seal(Purpose.push, { sid: aliceSid, src: pair.shop.origin, dst: pair.blog.origin, iat: Date.now(), jti: `crafted-${Math.random()}`, ...overrides });
  }

  function push(token: string, headers: Record<string, string> = {}, client = new Client()): Promise<Response> {
    return client.fetch(`${pair.blog.origin}/shared-session/${token}.js`, { headers: { referer: `${pair.shop.origin}/`, ...headers } });
  }

  /** Send a request that must be refused, and check the refusal leaves no trace in the store. */
  async function refused(send: Promise<string> | string, run: (token: string) => Promise<Response>, status: number, reason: string): Promise<void> {
    const token = await send;
    const rowsBefore = sessionRows(pair.storePath);
    const response = await run(token);
    assert.equal(sessionRows(pair.storePath), rowsBefore, `no store write for ${reason}`);
    await assertRefused(response, status, reason);
  }

  async function assertRefused(response: Response, status: number, reason: string): Promise<void> {
    assert.equal(response.status, status, `status for ${reason}`);
    assert.equal(response.headers['shared-session-reason'], reason);
    assert.equal(response.setCookies.length, 0, `no cookie for ${reason}`);
    assert.equal(response.body, '');
    assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8');
    // The site logs the rejected event with its reason (the demo's listener).
    for (let i = 0; i < 20 && !pair.blog.output.concat(blogTwin.output).some((line) => line.includes(reason)); i++) await sleep(25);
    assert.ok(pair.blog.output.concat(blogTwin.output).some((line) => line.includes(`refused GET push: ${reason}`)), `event logged for ${reason}`);
  }

  it('adopts a token from shop’s page: blog then shows alice’s session', async () => {
    const visitor = new Client();
    const response = await push(await tokenFromPage(alice), {}, visitor);
    assert.equal(response.status, 200);
    assert.equal(response.headers['shared-session-reason'], 'ADOPTED');
    const me = JSON.parse((await visitor.fetch(`${pair.blog.origin}/whoami`)).body) as { user: string; sessionId: string };
    assert.deepEqual([me.user, me.sessionId], ['alice', aliceSid]);
  });

  describe('refusals: a status, a reason, an event; no cookie, no store write', () => {
    it('a token over 2 KB', () => refused('A'.repeat(2100), (t) => push(t), 414, 'TOKEN_TOO_LONG'));
    it('a token that is not base64url', () => refused('abc%24def', (t) => push(t), 400, 'TOKEN_MALFORMED'));
    it('a token with one flipped bit', async () => {
      const raw = Buffer.from(await tokenForBlog(), 'base64url');
      raw[40] = (raw[40] as number) ^ 1;
      await refused(raw.toString('base64url'), (t) => push(t), 403, 'TOKEN_INVALID');
    });
    it('another site’s token', () => refused(craft({ dst: pair.shop.origin, src: pair.blog.origin }), (t) => push(t), 403, 'WRONG_DESTINATION'));
    it('a token from a site that is not configured', () => refused(craft({ src: 'https://evil.example' }), (t) => push(t), 403, 'UNKNOWN_SOURCE'));
    it('an expired token', () => refused(craft({ iat: Date.now() - 31_000 }), (t) => push(t), 403, 'TOKEN_EXPIRED'));
    it('a token dated in the future beyond the skew', () => refused(craft({ iat: Date.now() + 60_000 }), (t) => push(t), 403, 'TOKEN_FROM_FUTURE'));
    it('a token for an unknown session id', () => refused(craft({ sid: 'no-such-session-id' }), (t) => push(t), 404, 'SESSION_NOT_FOUND'));
    it('a token embedded by another site’s page (login CSRF), which stays usable by its real page', async () => {
      const token = await tokenForBlog();
      await refused(token, (t) => push(t, { referer: 'https://evil.example/' }), 403, 'REFERER_MISMATCH');
      await refused(token, (t) => push(t, { referer: '' }), 403, 'REFERER_MISMATCH');
      assert.equal((await push(token)).headers['shared-session-reason'], 'ADOPTED');
    });
    it('a replayed token, on the same and on the other process', async () => {
      const token = await tokenForBlog();
      assert.equal((await push(token)).status, 200);
      await refused(token, (t) => push(t), 403, 'TOKEN_REPLAYED');
      const viaTwin = (t: string) =>
        new Client().fetch(`http://127.0.0.1:${twinPort}/shared-session/${t}.js`, {
          headers: { host: new URL(pair.blog.origin).host, referer: `${pair.shop.origin}/` },
        });
      await refused(token, viaTwin, 403, 'TOKEN_REPLAYED');
    });
    it('a Host that is not one of the sites', () => refused(tokenForBlog(), (t) => push(t, { host: 'evil.localhost' }), 421, 'UNKNOWN_HOST'));
    it('no Host at all', async () => {
      const port = Number(new URL(pair.blog.origin).port);
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

  it('gives exactly one adoption for 100 parallel requests with one token, across two processes', async () => {
    const token = await tokenForBlog();
    const clients = Array.from({ length: 100 }, () => new Client());
    const responses = await Promise.all(
      clients.map((client, i) =>
        client.fetch(i % 2 === 0 ? `${pair.blog.origin}/shared-session/${token}.js` : `http://127.0.0.1:${twinPort}/shared-session/${token}.js`, {
          headers: { host: new URL(pair.blog.origin).host, referer: `${pair.shop.origin}/` },
        }),
      ),
    );
    const reasons = responses.map((response) => response.headers['shared-session-reason']);
    assert.equal(reasons.filter((reason) => reason === 'ADOPTED').length, 1, JSON.stringify(reasons));
    assert.equal(reasons.filter((reason) => reason === 'TOKEN_REPLAYED').length, 99);
    assert.equal(responses.filter((response) => response.setCookies.length > 0).length, 1);
  });

  it('keeps the receiving site’s own non-empty session unless alwaysReplace', async () => {
    const visitor = new Client();
    await visitor.post(`${pair.blog.origin}/cart`, { item: 'blog-only' });
    const response = await push(await tokenForBlog(), {}, visitor);
    assert.equal(response.headers['shared-session-reason'], 'KEPT_CURRENT');
    assert.equal(response.setCookies.length, 0);
    const me = JSON.parse((await visitor.fetch(`${pair.blog.origin}/whoami`)).body) as { user: string | null; cart: string[] };
    assert.deepEqual([me.user, me.cart], [null, ['blog-only']]);
  });
});
