import express from 'express';
import session from 'express-session';
import { sharedSession } from 'shared-session/express';
import { SqliteStore } from 'shared-session/sqlite';

// Every site runs this same app with its own PORT; all of them list all the sites.
const sites = (process.env.SITES ?? 'https://example.com,https://example.de').split(',');

const shared = sharedSession({
  sites,
  secret: process.env.SHARED_SESSION_SECRET!, // the same on every site: `openssl rand -base64 48`
});
shared.on('rejected', (event) => console.warn(`shared-session refused a request: ${event.reason}`));

const app = express();
app.use(
  session({
    secret: process.env.SESSION_SECRET!,
    store: new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' }), // one store for every site
    resave: false,
    saveUninitialized: false,
    cookie: { sameSite: 'lax', maxAge: 7 * 24 * 3600 * 1000 },
  }),
);
app.use(shared); // right after express-session

app.post('/cart', (req, res) => {
  req.session.cart = [...(req.session.cart ?? []), 'tea'];
  res.redirect(303, '/');
});

app.get('/', async (req, res) => {
  // With a view engine, print res.locals.sharedSessionLoader instead (EJS: <%- sharedSessionLoader %>).
  const loader = await shared.loader(req, res);
  res.send(`<!doctype html><p>cart: ${(req.session.cart ?? []).length} items</p>${loader}`);
});

declare module 'express-session' {
  interface SessionData {
    cart: string[];
  }
}

app.listen(Number(process.env.PORT ?? 3000));
