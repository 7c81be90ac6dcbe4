/**
 * Makes sure the binaries the tests need are present: the temporal CLI (dev server), stripe-mock and
 * Temporal's time-skipping test server; and for the production topology (`npm run cluster`,
 * `npm run test:cluster`) the Temporal server, its schema tool and the Web UI server, plus PostgreSQL,
 * which comes from the system's packages. Uses existing ones (TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH /
 * TEMPORAL_TEST_SERVER_PATH / TEMPORAL_SERVER_PATH..., PATH, .tools) or builds them (Go; Maven for the
 * test server).
 */
import {
  ensureModuleFiles,
  ensureTool,
  STRIPE_MOCK,
  TEMPORAL_CLI,
  TEMPORAL_SERVER,
  TEMPORAL_SQL_TOOL,
  TEMPORAL_UI_SERVER,
} from '../dev/tools.js';
import { findPostgres } from '../dev/postgresql.js';
import { ensureTestServer, startTimeSkipping } from '../dev/java-test-server.js';

try {
  for (const tool of [TEMPORAL_CLI, STRIPE_MOCK, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER]) {
    console.log(`${tool.name}: ${ensureTool(tool).route}`);
  }
  console.log(`${TEMPORAL_UI_SERVER.name} configuration: ${ensureModuleFiles(TEMPORAL_UI_SERVER)}`);
  const testServer = await ensureTestServer();
  // Started once: the SDK's download happens here, and a server that cannot start fails here rather than in the tests.
  const env = await startTimeSkipping(testServer);
  await env.teardown();
  console.log(`temporal-test-server: ${testServer.route}`);
  // Last, so that a machine without it still gets everything `npm test` needs.
  console.log(`PostgreSQL (npm run cluster): ${findPostgres().route}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
