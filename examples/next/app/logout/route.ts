import { backHome, withSameOrigin, withSession } from '../../shared.ts';

export const POST = withSameOrigin(
  withSession(async (_request, { session }) => {
    await session.destroy();
    return backHome();
  }),
);
