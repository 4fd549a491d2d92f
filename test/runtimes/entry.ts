// The smoke test as a script, for Node, Bun and Deno: one line the driver (runtimes.test.ts) reads.
import { smoke } from './smoke.ts';

console.log(`SMOKE ${JSON.stringify(await smoke())}`);
