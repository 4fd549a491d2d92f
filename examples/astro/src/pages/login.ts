import type { APIRoute } from 'astro';

export const POST: APIRoute = async ({ request, locals, redirect }) => {
  const user = (await request.formData()).get('user');
  const { session } = locals;
  const cart = session.data.cart;
  // A new id at login (no session fixation); the cart comes along.
  await session.regenerate();
  if (cart !== undefined) session.data.cart = cart;
  session.data.user = typeof user === 'string' && user !== '' ? user : 'anonymous';
  return redirect('/', 303);
};
