import { DefaultLogger, type LogLevel as RuntimeLogLevel } from '@temporalio/worker';
import { loadCodecConfig } from './config/codec.js';
import { loadLogLevel } from './config/process.js';
import { loadTemporalConfig } from './config/temporal.js';
import { loadProviderConfig, loadWorkerMetricsConfig, loadWorkerShutdownGraceMs } from './config/worker.js';
import { describeCodec } from './codec/data-converter.js';
import { installWorkerRuntime } from './metrics/worker-runtime.js';
import { createOrderWorker } from './order-worker.js';
import { runMain } from './run-main.js';

// Wiring only: read the configuration, connect, poll until SIGINT/SIGTERM (the SDK's default shutdown signals).
runMain(async () => {
  const temporal = loadTemporalConfig();
  const providers = loadProviderConfig();
  const codec = loadCodecConfig();
  const metrics = loadWorkerMetricsConfig();
  const metricsUrl = installWorkerRuntime(new DefaultLogger(loadLogLevel().toUpperCase() as RuntimeLogLevel), metrics);
  const { worker, connection } = await createOrderWorker({ temporal, providers, codec, shutdownGraceMs: loadWorkerShutdownGraceMs() });
  console.log(describeCodec(codec));
  console.log(`Worker polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connection.address}`);
  if (metricsUrl) console.log(`Worker metrics for Prometheus at ${metricsUrl}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
});
