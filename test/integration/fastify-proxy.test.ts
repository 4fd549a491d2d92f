import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { Purpose } from '../../src/core/token.ts';
import { startFastifySite, type FastifySite } from '../helpers/fastify-site.ts';
import { NAVIGATION_HEADERS, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { sealer } from '../helpers/push.ts';

describe('the Fastify adapter behind a reverse proxy (Fastify’s trustProxy for host and scheme)', () => {
  const origins = ['https://a.example', 'https://b.example'];
  let dir: string;
  let store: SqliteStore;
  let trusted: FastifySite;
  let untrusted: FastifySite;
  let trustedPort: number;
  let untrustedPort: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-proxy-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    trustedPort = await freePort();
    untrustedPort = await freePort();
    trusted = await startFastifySite({ origin: origins[1]!, sites: origins, store, trustProxy: '127.0.0.1', port: trustedPort, shared: { hubProbe: false } });
    untrusted = await startFastifySite({ origin: origins[1]!, sites: origins, store, port: untrustedPort, shared: { hubProbe: false } });
  });
  after(async () => {
    await trusted.close();
    await untrusted.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const forwarded = (port: number, headers: Record<string, string> = {}) =>
    request(`http://127.0.0.1:${port}/cart?x=1`, { headers: { ...NAVIGATION_HEADERS, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'b.example', ...headers } });

  it('hops to the hub’s https origin with a __Host- Secure state cookie when the proxy is trusted', async () => {
    const response = await forwarded(trustedPort);
    assert.equal(response.status, 303);
    assert.match(response.headers.location ?? '', /^https:\/\/a\.example\/shared-session\/hop\?q=[A-Za-z0-9_-]+$/);
    const query = await sealer.open(Purpose.query, new URL(response.headers.location!).searchParams.get('q')!);
    assert.ok(query.ok);
    assert.deepEqual([query.payload.src, query.payload.dst], ['https://b.example', 'https://a.example']);
    const [state] = response.setCookies;
    assert.match(state?.name ?? '', /^__Host-shared-session\.hop\./);
    assert.equal(state?.secure, true);
  });

  it('ignores forwarded headers from a peer it does not trust: no hop, no cookie', async () => {
    const response = await forwarded(untrustedPort);
    assert.equal(response.status, 200);
    assert.equal(response.setCookies.length, 0);
  });

  it('answers a spoofed forwarded Host with the page, no hop and no cookie', async () => {
    const response = await forwarded(trustedPort, { 'x-forwarded-host': 'evil.example' });
    assert.equal(response.status, 200);
    assert.equal(response.setCookies.length, 0);
  });
});
