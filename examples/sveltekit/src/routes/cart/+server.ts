import { redirect, type RequestHandler } from '@sveltejs/kit';

export const POST: RequestHandler = async ({ request, locals }) => {
  const item = (await request.formData()).get('item');
  const { data } = locals.session;
  data.cart = [...(Array.isArray(data.cart) ? (data.cart as string[]) : []), typeof item === 'string' && item !== '' ? item : 'item'];
  redirect(303, '/');
};
