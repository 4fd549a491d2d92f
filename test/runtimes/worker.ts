// The smoke test as a Worker's test handler, for `workerd test` (no crypto at a Worker's global scope: it runs in the handler).
import { smoke } from './smoke.ts';

export default {
  async test(): Promise<void> {
    const result = await smoke();
    console.log(`SMOKE ${JSON.stringify(result)}`);
    if (result.failures.length > 0) throw new Error(`smoke failures: ${result.failures.join('; ')}`);
  },
};
