/**
 * Makes sure the binaries the tests need are present: the temporal CLI (dev server), stripe-mock and
 * Temporal's time-skipping test server. Uses existing ones (TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH /
 * TEMPORAL_TEST_SERVER_PATH, PATH, .tools) or builds them (Go; Maven for the test server).
 */
import { ensureTool, STRIPE_MOCK, TEMPORAL_CLI } from '../dev/tools.js';
import { ensureTestServer, startTimeSkipping } from '../dev/java-test-server.js';

try {
  for (const tool of [TEMPORAL_CLI, STRIPE_MOCK]) console.log(`${tool.name}: ${ensureTool(tool).route}`);
  const testServer = await ensureTestServer();
  // Started once: the SDK's download happens here, and a server that cannot start fails here rather than in the tests.
  const env = await startTimeSkipping(testServer);
  await env.teardown();
  console.log(`temporal-test-server: ${testServer.route}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
