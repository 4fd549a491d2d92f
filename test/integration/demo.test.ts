/**
 * The demo app itself, over HTTP against real demo processes: what it answers to bad
 * requests and to failed logins, and what it writes to the store and the log for them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, type Response } from '../helpers/http.ts';
import { startDemoPair, waitForLine, type DemoPair } from '../helpers/sites.ts';

describe('the demo app', () => {
  let pair: DemoPair;
  let shop: string;

  before(async () => {
    pair = await startDemoPair();
    shop = pair.shop.origin;
  });
  after(() => pair.stop());

  /**
   * Everything shop logged while `run` ran. A refused script push logs a line of its own
   * after them, and output arrives in order: once that line is in, so is the rest.
   */
  async function loggedDuring<T>(run: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
    const from = pair.shop.output.length;
    const result = await run();
    await new Client().fetch(`${shop}/shared-session/not-a-token.js`);
    const barrier = await waitForLine(pair.shop, (line) => line.includes('refused GET push'), from);
    const lines = pair.shop.output.slice(from);
    return { result, logged: lines.slice(0, lines.indexOf(barrier)) };
  }

  describe('bad requests answer their own 4xx status, a short text and no stack trace in the log', () => {
    const cases: [string, number, string, () => Promise<Response>][] = [
      ['a bad percent escape in the path', 400, 'Bad Request\n', () => new Client().fetch(`${shop}/%c0`)],
      ['a bad percent escape in a form post path', 400, 'Bad Request\n', () => new Client().post(`${shop}/cart/%c0`, { item: 'tea' })],
      ['a form over the 2 KB limit', 413, 'Payload Too Large\n', () => new Client().post(`${shop}/cart`, { item: 'x'.repeat(3000) })],
      [
        'a form in an unknown charset',
        415,
        'Unsupported Media Type\n',
        () => new Client().post(`${shop}/cart`, { item: 'tea' }, { 'content-type': 'application/x-www-form-urlencoded; charset=x-unknown' }),
      ],
    ];
    for (const [label, status, body, send] of cases) {
      it(label, async () => {
        const { result: response, logged } = await loggedDuring(send);
        assert.equal(response.status, status);
        assert.equal(response.body, body);
        assert.deepEqual(logged, [], 'nothing logged');
      });
    }
  });
});
