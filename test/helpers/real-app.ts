import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { SESSION_SECRET, SHARED_SECRET, startSiteProcess, type SiteProcess } from './sites.ts';

const SERVER = fileURLToPath(new URL('../../examples/real-app/server.ts', import.meta.url));

/** Start one site of examples/real-app in its own process, as its header comment says; resolves once it serves. */
function startRealAppSite(origin: string, sites: readonly string[], storePath: string): Promise<SiteProcess> {
  return startSiteProcess(origin, [SERVER], { ORIGIN: origin, SITES: sites.join(','), SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET, SESSION_DB: storePath });
}

export interface RealAppSites {
  /** The hub (first of the sites) and the other site. */
  readonly a: SiteProcess;
  readonly b: SiteProcess;
  readonly storePath: string;
  /** When each session's store record expires (ms since the epoch), by session id. */
  storeExpiries(): Map<string, number>;
  stop(): Promise<void>;
}

/** examples/real-app as two sites, `a.localhost` (the hub) and `b.localhost`, two processes on one fresh SQLite file. */
export async function startRealApp(): Promise<RealAppSites> {
  const ports = new Set<number>();
  while (ports.size < 2) ports.add(await freePort());
  const [portA, portB] = [...ports] as [number, number];
  const sites = [`http://a.localhost:${portA}`, `http://b.localhost:${portB}`];
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-real-app-'));
  const storePath = join(dir, 'sessions.sqlite');
  // One after the other: the first creates the tables.
  const a = await startRealAppSite(sites[0]!, sites, storePath);
  const b = await startRealAppSite(sites[1]!, sites, storePath).catch(async (error: unknown) => {
    await a.stop();
    throw error;
  });
  return {
    a,
    b,
    storePath,
    storeExpiries() {
      const db = new DatabaseSync(storePath, { readOnly: true });
      try {
        return new Map(db.prepare('SELECT sid, expires FROM shared_session_sessions').all().map((row) => [String(row.sid), Number(row.expires)]));
      } finally {
        db.close();
      }
    },
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The session id in an express-session cookie value (`s:<sid>.<signature>`, URL-encoded). */
export function sidOfCookie(value: string): string {
  const decoded = decodeURIComponent(value);
  if (!decoded.startsWith('s:')) throw new Error(`not a signed session cookie: ${value}`);
  return decoded.slice(2, decoded.lastIndexOf('.'));
}
