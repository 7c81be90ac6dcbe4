import { DefaultLogger, Runtime, type LogLevel as RuntimeLogLevel } from '@temporalio/worker';
import { loadLogLevel, loadProviderConfig, loadTemporalConfig } from './config.js';
import { createOrderWorker } from './order-worker.js';
import { runMain } from './run-main.js';

// Wiring only: read the configuration, connect, poll until SIGINT/SIGTERM (the SDK's default shutdown signals).
runMain(async () => {
  const temporal = loadTemporalConfig();
  const providers = loadProviderConfig();
  Runtime.install({ logger: new DefaultLogger(loadLogLevel().toUpperCase() as RuntimeLogLevel) });
  const { worker, connection } = await createOrderWorker({ temporal, providers });
  console.log(`Worker polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connection.address}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
});
