import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, type LogLevel as RuntimeLogLevel } from '@temporalio/worker';
import { loadCodecConfig } from './config/codec.js';
import { loadLogLevel } from './config/process.js';
import { loadTemporalConfig } from './config/temporal.js';
import { loadWorkerTracingConfig } from './config/tracing.js';
import {
  loadProviderConfig,
  loadReconciliationConfig,
  loadWorkerMetricsConfig,
  loadWorkerShutdownGraceMs,
} from './config/worker-settings.js';
import { describeCodec } from './codec/data-converter.js';
import { installWorkerRuntime } from './worker/runtime-metrics.js';
import { createOrderWorker, TRACED_WORKFLOW_BUNDLE_FILE, WORKFLOW_BUNDLE_FILE } from './worker/order-worker.js';
import { ensureReconciliationSchedule } from './worker/reconciliation-schedule.js';
import { startTracing } from './telemetry/opentelemetry.js';
import { loadWorkerBuildId, makeCurrentVersion, WORKER_DEPLOYMENT_NAME } from './worker/deployment.js';
import { runMain } from './config/run-main.js';
import { RECONCILIATION_SCHEDULE_ID } from './workflows/names.js';

// The compiled build (`npm run build`, the image) has the workflow code prebundled next to this file, so it
// starts without webpack work; run from the sources (tsx), there is none and the worker bundles them at start.
const prebuiltBundle = (traced: boolean) =>
  fileURLToPath(new URL(`./${traced ? TRACED_WORKFLOW_BUNDLE_FILE : WORKFLOW_BUNDLE_FILE}`, import.meta.url));

// Wiring only: read the configuration, connect, poll until SIGINT/SIGTERM (the SDK's default shutdown signals).
runMain(async () => {
  const temporal = loadTemporalConfig();
  const providers = loadProviderConfig();
  const codec = loadCodecConfig();
  const metrics = loadWorkerMetricsConfig();
  const reconciliation = loadReconciliationConfig();
  const buildId = loadWorkerBuildId();
  const tracingConfig = loadWorkerTracingConfig();
  const metricsUrl = installWorkerRuntime(new DefaultLogger(loadLogLevel().toUpperCase() as RuntimeLogLevel), metrics);
  const tracing = startTracing(tracingConfig);
  const bundlePath = prebuiltBundle(tracing.enabled);
  const workflowBundle = existsSync(bundlePath) ? { codePath: bundlePath } : undefined;
  const { worker, connection } = await createOrderWorker({
    temporal,
    providers,
    codec,
    workflowBundle,
    shutdownGraceMs: loadWorkerShutdownGraceMs(),
    buildId,
    tracing,
  });
  console.log(describeCodec(codec));
  console.log(workflowBundle ? `Workflow code from the prebuilt bundle ${bundlePath}` : 'Workflow code bundled from the sources at start');
  console.log(`Worker polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connection.address}`);
  if (metricsUrl) console.log(`Worker metrics for Prometheus at ${metricsUrl}`);
  if (tracingConfig)
    console.log(`Traces over OTLP (${tracingConfig.protocol}) to ${tracingConfig.tracesUrl} as "${tracingConfig.serviceName}"`);
  // Orders come first: a schedule that cannot be set up is reported, and the worker polls regardless.
  await ensureReconciliationSchedule(worker.client!, temporal.taskQueue, reconciliation).then(
    () =>
      console.log(
        `Reconciliation schedule "${RECONCILIATION_SCHEDULE_ID}": every ${reconciliation.intervalMs / 1000} s over the last ${reconciliation.windowMs / 1000} s`,
      ),
    (error: Error) =>
      console.warn(`The reconciliation schedule "${RECONCILIATION_SCHEDULE_ID}" could not be created or updated: ${error.message}`),
  );
  const running = worker.run();
  try {
    await makeCurrentVersion(worker.client!, buildId).then(
      (decision) =>
        console.log(
          decision === 'made-current'
            ? `Build ${buildId} is the current version of worker deployment "${WORKER_DEPLOYMENT_NAME}" (it had none)`
            : `Build ${buildId} is in worker deployment "${WORKER_DEPLOYMENT_NAME}"; which build is current is the deploy's decision (docs/deploys.md)`,
        ),
      (error: Error) =>
        console.warn(
          `Could not check worker deployment "${WORKER_DEPLOYMENT_NAME}" (${error.message}); if it has no current version, new runs wait until one is set: ` +
            `temporal worker deployment set-current-version --deployment-name ${WORKER_DEPLOYMENT_NAME} --build-id ${buildId} --yes`,
        ),
    );
    await running;
  } finally {
    await connection.close();
    await tracing.shutdown();
  }
  // Stopped: the activities handed back at shutdown may leave provider requests open, which must not keep the process.
  process.exit(0);
});
