import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestFacts } from 'shared-session';
import { acceptsThirdPartyCookies, isCrossSiteScriptLoad, isTopLevelNavigation, looksLikeBrowser, mayBeNavigation } from '../../src/core/navigation.ts';

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

  it('runs a hop step only for what may be a top-level navigation', () => {
    assert.equal(mayBeNavigation(facts('GET', NAVIGATE)), true);
    assert.equal(mayBeNavigation(facts('GET', {})), true, 'browsers without Fetch Metadata');
    for (const dest of ['image', 'iframe', 'script', 'empty']) {
      assert.equal(mayBeNavigation(facts('GET', { ...NAVIGATE, 'sec-fetch-dest': dest, 'sec-fetch-mode': 'no-cors' })), false, dest);
    }
  });

  it('answers a push only for a cross-site classic script, by Fetch Metadata', () => {
    const script = { 'sec-fetch-dest': 'script', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site' };
    assert.equal(isCrossSiteScriptLoad(facts('GET', script)), true);
    assert.equal(isCrossSiteScriptLoad(facts('GET', { ...script, 'sec-fetch-site': 'same-site' })), true);
    assert.equal(isCrossSiteScriptLoad(facts('GET', {})), false, 'no Fetch Metadata: no push');
    for (const [name, value] of [
      ['sec-fetch-dest', 'image'],
      ['sec-fetch-dest', 'document'],
      ['sec-fetch-dest', 'iframe'],
      ['sec-fetch-mode', 'navigate'],
      ['sec-fetch-mode', 'cors'],
      ['sec-fetch-site', 'none'],
      ['sec-fetch-site', 'same-origin'],
    ] as const) {
      assert.equal(isCrossSiteScriptLoad(facts('GET', { ...script, [name]: value })), false, `${name}: ${value}`);
    }
  });

  it('pushes only to browsers that keep third-party cookies (Chromium-based)', () => {
    assert.equal(acceptsThirdPartyCookies(facts('GET', { 'user-agent': CHROME })), true);
    assert.equal(acceptsThirdPartyCookies(facts('GET', { 'user-agent': `${CHROME} Edg/156.0.0.0` })), true);
    for (const agent of [
      'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 15_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.0 Safari/605.1.15',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/156.0 Mobile/15E148 Safari/604.1',
    ]) {
      assert.equal(acceptsThirdPartyCookies(facts('GET', { 'user-agent': agent })), false, agent);
    }
  });
});
