// Type-checked against the built declarations (dist/), as a user of the package sees them.
import express from 'express';
import session from 'express-session';
import { SharedSessionError, type RejectReason, type SharingStore } from 'shared-session';
import { sharedSession } from 'shared-session/express';
import { SqliteStore } from 'shared-session/sqlite';
import { FileStore } from 'shared-session/file';
import { PostgresStore, postgresSchema } from 'shared-session/postgres';
import { RedisStore } from 'shared-session/redis';

const app = express();
const store: SharingStore = new SqliteStore({ path: ':memory:' });
app.use(session({ secret: 'x', store: new SqliteStore({ path: ':memory:' }), resave: false, saveUninitialized: false }));
const shared = sharedSession({ sites: ['https://example.com', 'https://example.de'], secret: '85HGn/eFFbyNuKbkQ41MouDm/k06aEQgN3+Hb6Ad7G0h920TqXtkjQenldmZ4PqH' });
shared.on('rejected', (event) => {
  const reason: RejectReason = event.reason;
  console.log(reason, event.request.method);
});
app.use(shared);
app.get('/', async (req, res) => {
  res.send(await shared.loader(req, res));
});
const stores: session.Store[] = [
  new FileStore({ directory: '/tmp/sessions' }),
  new PostgresStore({ connectionString: 'postgres://localhost/app', createTables: false }),
  new RedisStore({ url: 'redis://localhost:6379', prefix: 'app:' }),
];
const migration: string = postgresSchema('app');
void stores;
void migration;
void store;
void SharedSessionError;
