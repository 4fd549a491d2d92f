import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveOptions } from '../../src/core/options.ts';

const { sites } = resolveOptions({
  sites: ['https://example.com', 'https://example.org:8443', 'http://shop.localhost:3001', 'https://[::1]:9443'],
  secret: '4JvWX17V/G4gXK2ijRJV4HYYeysBLIh5QsSOtEAdH/zSpT5ifFy7ksuiVmqiv6lk',
});
const origin = (host: string, https = true): string | undefined => sites.forHost(host, https)?.origin;

describe('current site from the Host header', () => {
  it('matches configured hosts exactly', () => {
    assert.equal(origin('example.com'), 'https://example.com');
    assert.equal(origin('example.org:8443'), 'https://example.org:8443');
    assert.equal(origin('shop.localhost:3001', false), 'http://shop.localhost:3001');
    assert.equal(origin('[::1]:9443'), 'https://[::1]:9443');
  });

  it('never matches by suffix or prefix (the original’s endsWith bug)', () => {
    for (const host of ['notexample.com', 'evil-example.com', 'example.com.evil.net', 'www.example.com', 'xexample.com', 'example.co']) {
      assert.equal(origin(host), undefined, host);
    }
  });

  it('ignores case, and the default port of the request scheme', () => {
    assert.equal(origin('EXAMPLE.com'), 'https://example.com');
    assert.equal(origin('example.com:443', true), 'https://example.com');
    assert.equal(origin('example.com:80', false), 'https://example.com');
    assert.equal(origin('example.com:80', true), undefined);
    assert.equal(origin('example.com:8080'), undefined);
  });

  it('needs the port when the site has one', () => {
    assert.equal(origin('example.org'), undefined);
    assert.equal(origin('shop.localhost', false), undefined);
    assert.equal(origin('shop.localhost:3002', false), undefined);
  });

  it('refuses malformed Host values instead of guessing', () => {
    for (const host of ['', ' example.com', 'example.com ', 'user@example.com', 'example.com/path', 'example.com:', 'example.com:99999x', 'exa mple.com', '[::1', '\u0000example.com']) {
      assert.equal(origin(host), undefined, JSON.stringify(host));
    }
  });
});
