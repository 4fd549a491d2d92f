import Koa from 'koa';
import session from 'koa-session';
import { koaStore, sharedSession } from 'shared-session/koa';
import { SqliteStore } from 'shared-session/sqlite';

// Every site runs this same app with its own PORT; all of them list all the sites.
const sites = (process.env.SITES ?? 'https://example.com,https://example.de').split(',');

const shared = sharedSession({
  sites,
  secret: process.env.SHARED_SESSION_SECRET!, // the same on every site: `openssl rand -base64 48`
});
shared.on('rejected', (event) => console.warn(`shared-session refused a request: ${event.reason}`));

const app = new Koa();
app.keys = [process.env.SESSION_SECRET!]; // signs koa-session's cookie
app.use(
  session(
    {
      // koaStore(): koa-session's external store over one of ours, shared with Express, Fastify and Hono sites.
      store: koaStore(new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' })),
      sameSite: 'lax',
      maxAge: 7 * 24 * 3600 * 1000,
    },
    app,
  ),
);
app.use(shared); // right after koa-session

app.use(async (ctx) => {
  const session = ctx.session as { cart?: string[] }; // koa-session's session, with your fields
  const cart = session.cart ?? [];
  if (ctx.method === 'POST' && ctx.path === '/cart') {
    session.cart = [...cart, 'tea'];
    ctx.status = 303;
    ctx.redirect('/');
  } else if (ctx.method === 'GET' && ctx.path === '/') {
    // With koa-views: ctx.render fills ctx.state.sharedSessionLoader first; print it unescaped.
    ctx.type = 'html';
    ctx.body = `<!doctype html><p>cart: ${cart.length} items</p>${await shared.loader(ctx)}`;
  }
});

app.listen(Number(process.env.PORT ?? 3000));
