import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { sharedSession } from 'shared-session/hono';
import { SqliteStore } from 'shared-session/sqlite';

// Every site runs this same app with its own PORT; all of them list all the sites.
const sites = (process.env.SITES ?? 'https://example.com,https://example.de').split(',');

const shared = sharedSession({
  sites,
  secret: process.env.SHARED_SESSION_SECRET!, // the same on every site: `openssl rand -base64 48`
  session: {
    store: new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' }), // one store for every site, Express ones too
    secret: process.env.SESSION_SECRET!, // signs this site's session cookie
    cookie: { maxAge: 7 * 24 * 3600 * 1000 },
  },
});
shared.on('rejected', (event) => console.warn(`shared-session refused a request: ${event.reason}`));

const app = new Hono();
app.use(shared); // first: it answers its own routes and gives every request c.get('session')

app.post('/cart', (c) => {
  const session = c.get('session');
  session.data.cart = [...((session.data.cart as string[] | undefined) ?? []), 'tea'];
  return c.redirect('/', 303);
});

app.get('/', async (c) => {
  const cart = (c.get('session').data.cart as string[] | undefined) ?? [];
  return c.html(`<!doctype html><p>cart: ${cart.length} items</p>${await shared.loader(c)}`);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) });
