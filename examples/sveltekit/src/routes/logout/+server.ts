import { redirect, type RequestHandler } from '@sveltejs/kit';

export const POST: RequestHandler = async ({ locals }) => {
  await locals.session.destroy();
  redirect(303, '/');
};
