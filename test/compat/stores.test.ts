import { FACTORIES } from './stores.ts';
import { describeCompat } from './suite.ts';

// One matrix: every case of the suite, for express-session's MemoryStore (the control) and each store of ours.
for (const factory of FACTORIES) describeCompat(factory);
