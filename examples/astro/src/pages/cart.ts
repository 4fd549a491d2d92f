import type { APIRoute } from 'astro';

export const POST: APIRoute = async ({ request, locals, redirect }) => {
  const item = (await request.formData()).get('item');
  const { data } = locals.session;
  data.cart = [...(Array.isArray(data.cart) ? (data.cart as string[]) : []), typeof item === 'string' && item !== '' ? item : 'item'];
  return redirect('/', 303);
};
