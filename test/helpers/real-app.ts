import { fileURLToPath } from 'node:url';
import type { StoreFactory, StoreSpec } from '../compat/stores.ts';
import { freePort } from './ports.ts';
import { SESSION_SECRET, SHARED_SECRET, startSiteProcess, type SiteProcess } from './sites.ts';

const SERVER = fileURLToPath(new URL('../../examples/real-app/server.ts', import.meta.url));

/** Start one site of examples/real-app in its own process, as its header comment says; resolves once it serves. */
function startRealAppSite(origin: string, sites: readonly string[], store: string): Promise<SiteProcess> {
  return startSiteProcess(origin, [SERVER], { ORIGIN: origin, SITES: sites.join(','), SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET, SESSION_STORE: store });
}

/** The example's SESSION_STORE for a store of the compatibility matrix (see examples/real-app/server.ts). */
function sessionStoreOf(spec: StoreSpec): string {
  switch (spec.kind) {
    case 'sqlite':
      return spec.path;
    case 'file':
      return `file:${spec.directory}`;
    case 'redis':
      return spec.url;
    case 'redis-cluster':
      return `redis-cluster:${spec.rootNodes.map((node) => node.url).join(',')}`;
    case 'postgres':
      return spec.connectionString;
    case 'memory':
      throw new Error('MemoryStore cannot be shared by two processes');
  }
}

export interface RealAppSites {
  /** The hub (first of the sites) and the other site. */
  readonly a: SiteProcess;
  readonly b: SiteProcess;
  /** When each live session's store record expires (ms since the epoch), by session id, read from the backing storage. */
  storeExpiries(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** examples/real-app as two sites, `a.localhost` (the hub) and `b.localhost`: two processes on one fresh store of `factory`'s kind. */
export async function startRealApp(factory: StoreFactory): Promise<RealAppSites> {
  const ports = new Set<number>();
  while (ports.size < 2) ports.add(await freePort());
  const [portA, portB] = [...ports] as [number, number];
  const sites = [`http://a.localhost:${portA}`, `http://b.localhost:${portB}`];
  const subject = await factory.open();
  const store = sessionStoreOf(subject.spec);
  // One after the other: the first creates the tables.
  const a = await startRealAppSite(sites[0]!, sites, store);
  const b = await startRealAppSite(sites[1]!, sites, store).catch(async (error: unknown) => {
    await a.stop();
    await subject.close();
    throw error;
  });
  return {
    a,
    b,
    async storeExpiries() {
      const live = await new Promise<Record<string, unknown>>((resolve, reject) => subject.store.all((error, all) => (error ? reject(error instanceof Error ? error : new Error("the store failed", { cause: error })) : resolve((all ?? {}) as Record<string, unknown>))));
      const expiries = await Promise.all(Object.keys(live).map(async (sid) => [sid, await subject.expiryOf(sid)] as const));
      return new Map(expiries.filter((entry): entry is readonly [string, number] => entry[1] !== undefined));
    },
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      await subject.close();
    },
  };
}


/** The session id in an express-session cookie value (`s:<sid>.<signature>`, URL-encoded). */
export function sidOfCookie(value: string): string {
  const decoded = decodeURIComponent(value);
  if (!decoded.startsWith('s:')) throw new Error(`not a signed session cookie: ${value}`);
  return decoded.slice(2, decoded.lastIndexOf('.'));
}
