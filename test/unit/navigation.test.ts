import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestFacts } from 'shared-session';
import { looksLikeBrowser } from '../../src/core/hop.ts';
import { isTopLevelNavigation } from '../../src/core/navigation.ts';

function facts(method: string, headers: Record<string, string>): RequestFacts {
  return { raw: undefined, method, path: '/', search: '', host: 'a.example', https: true, header: (name) => headers[name] };
}

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const NAVIGATE = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'user-agent': CHROME };

describe('which requests may hop', () => {
  it('top-level GET navigations, by Fetch Metadata', () => {
    assert.equal(isTopLevelNavigation(facts('GET', NAVIGATE)), true);
  });

  it('not other methods, subresources, frames, fetches, prefetches or prerenders', () => {
    assert.equal(isTopLevelNavigation(facts('POST', NAVIGATE)), false);
    assert.equal(isTopLevelNavigation(facts('HEAD', NAVIGATE)), false);
    assert.equal(isTopLevelNavigation(facts('GET', { ...NAVIGATE, 'sec-fetch-dest': 'iframe' })), false);
    assert.equal(isTopLevelNavigation(facts('GET', { ...NAVIGATE, 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' })), false);
    assert.equal(isTopLevelNavigation(facts('GET', { ...NAVIGATE, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' })), false);
    assert.equal(isTopLevelNavigation(facts('GET', { ...NAVIGATE, 'sec-purpose': 'prefetch' })), false);
    assert.equal(isTopLevelNavigation(facts('GET', { ...NAVIGATE, 'sec-purpose': 'prefetch;prerender' })), false);
    assert.equal(isTopLevelNavigation(facts('GET', { ...NAVIGATE, purpose: 'prefetch' })), false);
  });

  it('falls back to Accept: text/html for browsers without Fetch Metadata', () => {
    assert.equal(isTopLevelNavigation(facts('GET', { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' })), true);
    assert.equal(isTopLevelNavigation(facts('GET', { accept: 'application/json' })), false);
    assert.equal(isTopLevelNavigation(facts('GET', {})), false);
  });

  it('browsers, not crawlers or scripts', () => {
    assert.equal(looksLikeBrowser(facts('GET', { 'user-agent': CHROME })), true);
    assert.equal(looksLikeBrowser(facts('GET', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0' })), true);
    for (const agent of [
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      'facebookexternalhit/1.1',
      'curl/8.5.0',
      'python-requests/2.32',
      'Mozilla/5.0 (Linux) AppleWebKit/537.36 Chrome-Lighthouse',
    ]) {
      assert.equal(looksLikeBrowser(facts('GET', { 'user-agent': agent })), false, agent);
    }
    assert.equal(looksLikeBrowser(facts('GET', {})), false);
  });
});
