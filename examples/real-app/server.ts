/**
 * One site of the real-app example. Run it once per site, every process on the same store:
 *
 *   ORIGIN=http://a.localhost:4001 SITES=http://a.localhost:4001,http://b.localhost:4002 \
 *   SHARED_SESSION_SECRET=… SESSION_SECRET=… SESSION_STORE=sessions.sqlite \
 *   node --conditions=@shared-session/source examples/real-app/server.ts
 *
 * SESSION_STORE: a SQLite file (the default, `sessions.sqlite`), `file:<directory>`,
 * `redis://host:port`, `redis-cluster:redis://host:port,redis://host:port`, or
 * `postgres://…`.
 */
import { FileStore } from 'shared-session/file';
import { PostgresStore } from 'shared-session/postgres';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import { createRealApp } from './app.ts';

function sharedStore(where: string): SqliteStore | FileStore | RedisStore | PostgresStore {
  if (where.startsWith('file:')) return new FileStore({ directory: where.slice('file:'.length) });
  if (where.startsWith('redis-cluster:')) return new RedisStore({ cluster: { rootNodes: where.slice('redis-cluster:'.length).split(',').map((url) => ({ url })) } });
  if (/^rediss?:\/\//.test(where)) return new RedisStore({ url: where });
  if (/^postgres(ql)?:\/\//.test(where)) return new PostgresStore({ connectionString: where });
  return new SqliteStore({ path: where });
}

const origin = process.env.ORIGIN ?? 'http://a.localhost:4001';
const store = sharedStore(process.env.SESSION_STORE ?? 'sessions.sqlite');
const app = createRealApp({
  origin,
  sites: (process.env.SITES ?? `${origin},http://b.localhost:4002`).split(','),
  secret: process.env.SHARED_SESSION_SECRET!,
  sessionSecret: process.env.SESSION_SECRET!,
  store,
});

const server = app.listen(Number(new URL(origin).port || 80), () => console.log(`ready ${origin}`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void Promise.resolve(store.close()).finally(() => process.exit(0));
});
