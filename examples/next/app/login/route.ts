import { backHome, withSameOrigin, withSession } from '../../shared.ts';

export const POST = withSameOrigin(
  withSession(async (request, { session }) => {
    const user = (await request.formData()).get('user');
    const cart = session.data.cart;
    // A new id at login (no session fixation); the cart comes along.
    await session.regenerate();
    if (cart !== undefined) session.data.cart = cart;
    session.data.user = typeof user === 'string' && user !== '' ? user : 'anonymous';
    return backHome();
  }),
);
