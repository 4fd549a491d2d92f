import type { ServerLoad } from '@sveltejs/kit';

// The page's data: who the visitor is, the cart, and the loader's HTML. `load` runs before
// the page renders, so the loader is known when the hook's `finish()` runs.
export const load: ServerLoad = async ({ locals }) => {
  const { data } = locals.session;
  return {
    user: typeof data.user === 'string' ? data.user : null,
    cart: Array.isArray(data.cart) ? (data.cart as string[]) : [],
    loader: await locals.loader(),
  };
};
