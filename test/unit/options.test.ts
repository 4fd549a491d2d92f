import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedSessionError, resolveOptions, type SharedSessionOptions } from 'shared-session';

const SECRET = 'TH0gS9RNUSdp9hnkAMCd70IGfZMgu2mfrSMQ5TlxEirymzptcZXMpok2Hi3NBuPa';
const SITES = ['https://example.com', 'https://example.de'];

/** Assert that the options throw a SharedSessionError with `code` whose message names `option`. */
function refuses(options: unknown, code: string, option: string | RegExp): void {
  assert.throws(
    () => resolveOptions(options as SharedSessionOptions),
    (error: unknown) => {
      assert.ok(error instanceof SharedSessionError, 'a SharedSessionError');
      assert.equal(error.code, code);
      if (typeof option === 'string') assert.ok(error.message.includes(`\`${option}\``), `message names ${option}: ${error.message}`);
      else assert.match(error.message, option);
      return true;
    },
  );
}

describe('options', () => {
  it('applies the documented defaults', () => {
    const config = resolveOptions({ sites: SITES, secret: SECRET });
    assert.equal(config.timeoutMs, 30_000);
    assert.equal(config.skewMs, 5_000);
    assert.equal(config.alwaysReplace, false);
    assert.equal(config.basePath, '/shared-session');
    assert.deepEqual(config.sites.all.map((site) => site.origin), SITES);
  });

  it('does not modify or keep the caller’s object', () => {
    const options = { sites: [...SITES], secret: SECRET };
    const frozen = Object.freeze({ ...options, sites: Object.freeze([...SITES]) });
    const config = resolveOptions(frozen);
    assert.notEqual(config, frozen);
    assert.deepEqual(Object.keys(frozen).sort(), ['secret', 'sites']);
  });

  it('requires at least two sites, as full origins', () => {
    refuses({ secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites');
    refuses({ sites: ['https://example.com'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites');
    refuses({ sites: ['example.com', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    refuses({ sites: ['https://example.com/shop', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    refuses({ sites: ['https://example.com/', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    refuses({ sites: ['https://example.com', 'https://example.de?x=1'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[1]');
    refuses({ sites: ['https://user@example.com', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    refuses({ sites: ['ftp://example.com', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    refuses({ sites: ['https://example.com', 'https://EXAMPLE.com:443'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[1]');
  });

  it('accepts plain http only for localhost names, unless explicitly allowed', () => {
    assert.doesNotThrow(() => resolveOptions({ sites: ['http://shop.localhost:3001', 'http://localhost:3002'], secret: SECRET }));
    refuses({ sites: ['http://example.com', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    refuses({ sites: ['http://localhost.example.com', 'https://example.de'], secret: SECRET }, 'ERR_SHARED_SESSION_OPTION', 'sites[0]');
    assert.doesNotThrow(() => resolveOptions({ sites: ['http://example.com', 'https://example.de'], secret: SECRET, allowInsecureHttp: true }));
  });

  it('keeps non-default ports in the origin', () => {
    const config = resolveOptions({ sites: ['https://example.org:8443', 'https://example.org'], secret: SECRET });
    assert.deepEqual(config.sites.all.map((site) => site.host), ['example.org:8443', 'example.org']);
  });

  it('refuses missing and guessable secrets, without echoing them', () => {
    refuses({ sites: SITES }, 'ERR_SHARED_SESSION_OPTION', 'secret');
    refuses({ sites: SITES, secret: [] }, 'ERR_SHARED_SESSION_OPTION', 'secret');
    refuses({ sites: SITES, secret: 42 }, 'ERR_SHARED_SESSION_OPTION', 'secret');
    for (const weak of ['short-secret', 'a'.repeat(64), 'passwordpasswordpasswordpassword']) {
      assert.throws(
        () => resolveOptions({ sites: SITES, secret: weak }),
        (error: unknown) => error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_WEAK_SECRET' && !error.message.includes(weak),
      );
    }
    refuses({ sites: SITES, secret: [SECRET, 'short'] }, 'ERR_SHARED_SESSION_WEAK_SECRET', 'secret[1]');
    refuses({ sites: SITES, secret: [SECRET, SECRET] }, 'ERR_SHARED_SESSION_OPTION', 'secret[1]');
  });

  it('accepts a Buffer secret', () => {
    assert.doesNotThrow(() => resolveOptions({ sites: SITES, secret: Buffer.from(SECRET) }));
  });

  it('accepts a plain Uint8Array secret, and seals with it as with the same bytes in a Buffer', async () => {
    const bytes = new TextEncoder().encode(SECRET);
    const fromBytes = resolveOptions({ sites: SITES, secret: bytes });
    const fromBuffer = resolveOptions({ sites: SITES, secret: Buffer.from(SECRET) });
    const opened = await fromBuffer.sealer.open(1, await fromBytes.sealer.seal(1, { a: 1 }));
    assert.ok(opened.ok && opened.payload.a === 1);
  });

  it('refuses other byte views as a secret (an Int8Array, a DataView), naming the option', () => {
    const bytes = new TextEncoder().encode(SECRET);
    refuses({ sites: SITES, secret: new Int8Array(bytes.buffer) }, 'ERR_SHARED_SESSION_OPTION', 'secret');
    refuses({ sites: SITES, secret: new DataView(bytes.buffer) }, 'ERR_SHARED_SESSION_OPTION', 'secret');
  });

  it('refuses out-of-range times and bad flags, naming the option', () => {
    refuses({ sites: SITES, secret: SECRET, timeoutSeconds: 0 }, 'ERR_SHARED_SESSION_OPTION', 'timeoutSeconds');
    refuses({ sites: SITES, secret: SECRET, timeoutSeconds: '30' }, 'ERR_SHARED_SESSION_OPTION', 'timeoutSeconds');
    refuses({ sites: SITES, secret: SECRET, timeoutSeconds: Number.NaN }, 'ERR_SHARED_SESSION_OPTION', 'timeoutSeconds');
    refuses({ sites: SITES, secret: SECRET, clockSkewSeconds: -1 }, 'ERR_SHARED_SESSION_OPTION', 'clockSkewSeconds');
    refuses({ sites: SITES, secret: SECRET, alwaysReplace: 'yes' }, 'ERR_SHARED_SESSION_OPTION', 'alwaysReplace');
  });

  it('refuses a basePath that is not a plain absolute path', () => {
    for (const basePath of ['', '/', 'shared', '/shared/', '/sh ared', '/a/../b?', 42]) {
      refuses({ sites: SITES, secret: SECRET, basePath }, 'ERR_SHARED_SESSION_OPTION', 'basePath');
    }
    assert.equal(resolveOptions({ sites: SITES, secret: SECRET, basePath: '/_auth/share' }).basePath, '/_auth/share');
  });

  it('refuses unknown options and suggests the right name', () => {
    refuses({ sites: SITES, secret: SECRET, timeout: 30 }, 'ERR_SHARED_SESSION_OPTION', /`timeout`.*Did you mean `timeoutSeconds`\?/);
    refuses({ sites: SITES, secret: SECRET, secrets: [SECRET] }, 'ERR_SHARED_SESSION_OPTION', /Did you mean `secret`\?/);
  });

  it('sets up the hop: the hub, exclusions, the hub check', () => {
    const config = resolveOptions({ sites: SITES, secret: SECRET });
    assert.equal(config.hub.origin, SITES[0]);
    assert.equal(config.hop, true);
    assert.equal(config.push, true);
    assert.equal(config.hubProbe?.href, 'https://example.com/shared-session/health');
    assert.equal(config.hubTimeoutMs, 1000);
    assert.equal(config.linkMaxAgeMs, 180 * 24 * 3600 * 1000);
    const custom = resolveOptions({ sites: SITES, secret: SECRET, hub: SITES[1]!, hopExclude: ['/api', '/static/'], hubProbe: 'http://10.0.0.5:8080/shared-session/health' });
    assert.equal(custom.hub.origin, SITES[1]);
    // Spelled as a URL may be: case and a default port do not matter.
    assert.equal(resolveOptions({ sites: SITES, secret: SECRET, hub: 'HTTPS://Example.DE:443' }).hub.origin, SITES[1]);
    assert.equal(custom.hubProbe?.href, 'http://10.0.0.5:8080/shared-session/health');
    for (const path of ['/api', '/api/', '/api/v1', '/static/app.css', '/API/v1', '/%61pi/v1', '/Static/x']) assert.equal(custom.hopExcluded(path), true, path);
    for (const path of ['/', '/apix', '/ap', '/shop/api']) assert.equal(custom.hopExcluded(path), false, path);
    assert.equal(resolveOptions({ sites: SITES, secret: SECRET, hopExclude: (path) => path.endsWith('.json') }).hopExcluded('/a.json'), true);
    assert.equal(resolveOptions({ sites: SITES, secret: SECRET, hubProbe: false }).hubProbe, undefined);
  });

  it('refuses a hub that is not a site, and malformed hop options', () => {
    refuses({ sites: SITES, secret: SECRET, hub: 'https://evil.example' }, 'ERR_SHARED_SESSION_OPTION', 'hub');
    refuses({ sites: SITES, secret: SECRET, hopExclude: ['api'] }, 'ERR_SHARED_SESSION_OPTION', 'hopExclude');
    refuses({ sites: SITES, secret: SECRET, hopExclude: '/api' }, 'ERR_SHARED_SESSION_OPTION', 'hopExclude');
    refuses({ sites: SITES, secret: SECRET, hubProbe: 'ftp://x' }, 'ERR_SHARED_SESSION_OPTION', 'hubProbe');
    refuses({ sites: SITES, secret: SECRET, hubTimeoutMs: 0 }, 'ERR_SHARED_SESSION_OPTION', 'hubTimeoutMs');
    refuses({ sites: SITES, secret: SECRET, linkMaxAgeSeconds: 500 * 86400 }, 'ERR_SHARED_SESSION_OPTION', 'linkMaxAgeSeconds');
    refuses({ sites: SITES, secret: SECRET, hop: 1 }, 'ERR_SHARED_SESSION_OPTION', 'hop');
  });

  it('refuses a sharingStore without claimOnce', () => {
    refuses({ sites: SITES, secret: SECRET, sharingStore: {} }, 'ERR_SHARED_SESSION_OPTION', 'sharingStore');
  });
});
