import { escapeHtml, withSession } from '../shared.ts';

// The page: who the visitor is, the cart, and the loader. A route handler, not a Server
// Component: a component gets no Request and cannot set the session cookie.
export const dynamic = 'force-dynamic';

export const GET = withSession(async (_request, pass) => {
  const { session } = pass;
  const user = typeof session.data.user === 'string' ? session.data.user : null;
  const cart = Array.isArray(session.data.cart) ? (session.data.cart as string[]) : [];
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Next shop</title></head><body>
<p>user: <output id="user">${escapeHtml(user ?? 'nobody')}</output></p>
<p>cart: <output id="cart">${escapeHtml(cart.join(','))}</output></p>
<form method="post" action="/cart"><input name="item" value="tea"><button>add to cart</button></form>
${user === null ? '<form method="post" action="/login"><input name="user"><button>log in</button></form>' : '<form method="post" action="/logout"><button>log out</button></form>'}
${await pass.loader()}</body></html>`;
  return new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } });
});
