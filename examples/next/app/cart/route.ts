import { backHome, withSameOrigin, withSession } from '../../shared.ts';

export const POST = withSameOrigin(
  withSession(async (request, { session }) => {
    const item = (await request.formData()).get('item');
    const { data } = session;
    data.cart = [...(Array.isArray(data.cart) ? (data.cart as string[]) : []), typeof item === 'string' && item !== '' ? item : 'item'];
    return backHome();
  }),
);
