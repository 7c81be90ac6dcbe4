/**
 * Makes sure the binaries the tests need are present: the temporal CLI (dev server) and stripe-mock.
 * Uses existing ones (TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH, PATH, .tools/bin) or builds them with Go.
 */
import { ensureTool, STRIPE_MOCK, TEMPORAL_CLI } from '../dev/tools.js';

for (const tool of [TEMPORAL_CLI, STRIPE_MOCK]) {
  try {
    console.log(`${tool.name}: ${ensureTool(tool).route}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
