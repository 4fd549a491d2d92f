import { redirect, type RequestHandler } from '@sveltejs/kit';

export const POST: RequestHandler = async ({ request, locals }) => {
  const user = (await request.formData()).get('user');
  const { session } = locals;
  const cart = session.data.cart;
  // A new id at login (no session fixation); the cart comes along.
  await session.regenerate();
  if (cart !== undefined) session.data.cart = cart;
  session.data.user = typeof user === 'string' && user !== '' ? user : 'anonymous';
  redirect(303, '/');
};
