// Which `#platform` a runtime picks by its own conditions (package.json `imports`), on the built dist/.
import { platform } from '#platform';

console.log(`PLATFORM ${platform.name}`);
