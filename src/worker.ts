import { loadProviderConfig, loadTemporalConfig } from './config.js';
import { createOrderWorker } from './order-worker.js';
import { runMain } from './run-main.js';

// Wiring only: read the configuration, connect, poll until SIGINT/SIGTERM (the SDK's default shutdown signals).
runMain(async () => {
  const temporal = loadTemporalConfig();
  const { worker, connection } = await createOrderWorker({ temporal, providers: loadProviderConfig() });
  console.log(`Worker polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connection.address}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
});
