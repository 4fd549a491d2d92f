/**
 * Sessions in memory, for the Worker (none of our stores runs in a Worker, as hono.test.ts
 * measures, and a KV or Durable Object store is not written yet): the
 * promise API the Web session layer needs (`WebSessionStore`), expiring each record at its
 * cookie's `expires` as the real stores do. One instance serves every site of the isolate;
 * pair it with one `memorySharingStore()` for the token claims and links.
 */
import type { SessionRecord, WebSessionStore } from 'shared-session/hono';

export class MemorySessionStore implements WebSessionStore {
  readonly #records = new Map<string, { json: string; expires: number }>();

  // A copy in and out (JSON, as every real store serialises): a site must not see another's change before it is saved.
  get(id: string): Promise<Record<string, unknown> | undefined> {
    const entry = this.#records.get(id);
    if (!entry) return Promise.resolve(undefined);
    if (entry.expires <= Date.now()) {
      this.#records.delete(id);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(JSON.parse(entry.json) as Record<string, unknown>);
  }

  set(id: string, record: SessionRecord): Promise<void> {
    const expires = record.cookie.expires === null ? Date.now() + 86_400_000 : Date.parse(record.cookie.expires);
    this.#records.set(id, { json: JSON.stringify(record), expires });
    return Promise.resolve();
  }

  touch(id: string, record: SessionRecord): Promise<void> {
    return this.#records.has(id) ? this.set(id, record) : Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.#records.delete(id);
    return Promise.resolve();
  }
}
