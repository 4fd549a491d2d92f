/**
 * Races between two sites on every adapter and every pair: one browser, one shared
 * session, requests on A and B at once. The store's guarantees (src/stores/callback-store.ts)
 * must hold whatever framework loads and saves the session: a save merges what its request
 * changed into the record as it is now, and a destroyed session stays destroyed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client } from '../helpers/http.ts';
import { describeMatrix, type SpecContext } from './adapters.ts';
import { add, login, logout, whoami } from './browser.ts';

/** A browser logged in as alice on A, with the session shared to B. */
async function sharedBrowser(ctx: SpecContext): Promise<{ browser: Client; id: string }> {
  const browser = new Client();
  await login(browser, ctx.a.origin, 'alice');
  await browser.navigate(`${ctx.b.origin}/`);
  const onA = await whoami(browser, ctx.a.origin);
  assert.deepEqual(await whoami(browser, ctx.b.origin), onA, 'one session on both sites');
  return { browser, id: onA.id! };
}

function races(ctx: SpecContext): void {
  it('keeps every cart add made on the two sites in turn: each site loads the record as the other left it', async () => {
    const { browser, id } = await sharedBrowser(ctx);
    const expected: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (const [site, origin] of [['a', ctx.a.origin], ['b', ctx.b.origin]] as const) {
        await add(browser, origin, `${site}${round}`);
        expected.push(`${site}${round}`);
      }
    }
    for (const origin of [ctx.a.origin, ctx.b.origin]) assert.deepEqual(await whoami(browser, origin), { id, user: 'alice', cart: expected }, origin);
  });

  it('two cart adds that overlap (A loads, B saves, A saves): the last save wins whole, the rest of the session stays, nothing fails', async () => {
    const { browser, id } = await sharedBrowser(ctx);
    await add(browser, ctx.a.origin, 'tea');
    // A's request loads the session now and goes on 300 ms later; B's add runs whole in between.
    ctx.holdNextLoad(300);
    const slow = add(browser, ctx.a.origin, 'from-a');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await add(browser, ctx.b.origin, 'from-b');
    await slow;
    // Both changed the same key (cart): the store merges by key, so the later save's cart is
    // the session's. Never a mix, never the session lost, never the user dropped.
    for (const origin of [ctx.a.origin, ctx.b.origin]) {
      assert.deepEqual(await whoami(browser, origin), { id, user: 'alice', cart: ['tea', 'from-a'] }, origin);
    }
  });

  it('a cart add on A that loaded before a logout on B and saves after it does not bring the session back', async () => {
    const { browser, id } = await sharedBrowser(ctx);
    ctx.holdNextLoad(300);
    const slow = add(browser, ctx.a.origin, 'late');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await logout(browser, ctx.b.origin);
    await slow;
    for (const origin of [ctx.a.origin, ctx.b.origin]) {
      const seen = await whoami(browser, origin);
      assert.notEqual(seen.id, id, origin);
      assert.equal(seen.user, null, origin);
    }
    // And the browser goes on: a new login on A reaches B.
    await login(browser, ctx.a.origin, 'bob');
    await browser.navigate(`${ctx.b.origin}/`);
    assert.equal((await whoami(browser, ctx.b.origin)).user, 'bob');
  });
}

describeMatrix('races', races);
// Redis: every store operation is a network round trip, so requests interleave as they do in production.
describeMatrix('races on Redis', races, { store: 'redis' });
