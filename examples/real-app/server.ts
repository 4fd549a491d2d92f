/**
 * One site of the real-app example. Run it once per site, every process on the same
 * SQLite file:
 *
 *   ORIGIN=http://a.localhost:4001 SITES=http://a.localhost:4001,http://b.localhost:4002 \
 *   SHARED_SESSION_SECRET=… SESSION_SECRET=… SESSION_DB=sessions.sqlite \
 *   node --conditions=@shared-session/source examples/real-app/server.ts
 */
import { createRealApp } from './app.ts';

const origin = process.env.ORIGIN ?? 'http://a.localhost:4001';
const { app, store } = createRealApp({
  origin,
  sites: (process.env.SITES ?? `${origin},http://b.localhost:4002`).split(','),
  secret: process.env.SHARED_SESSION_SECRET!,
  sessionSecret: process.env.SESSION_SECRET!,
  storePath: process.env.SESSION_DB ?? 'sessions.sqlite',
});

const server = app.listen(Number(new URL(origin).port || 80), () => console.log(`ready ${origin}`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  store.close();
  process.exit(0);
});
