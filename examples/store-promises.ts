import { SqliteStore } from 'shared-session/sqlite';

// Without a callback, every method of every store of this package returns a Promise.
const store = new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' });
const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) };
await store.set('some-id', { cookie, cart: ['tea'] });
const session = await store.get('some-id'); // null when there is none
if (session) await store.touch('some-id', session);
console.log(await store.length(), session?.cart); // 1 [ 'tea' ]
await store.destroy('some-id');
console.log(await store.get('some-id')); // null
store.close();
