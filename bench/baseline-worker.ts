/**
 * A baseline's worker process, on its own task queue (TEMPORAL_TASK_QUEUE) so its CPU and memory are
 * measured apart, with the same worker options as src/worker/order-worker.ts. BASELINE picks which one:
 * - `do-nothing` (the default): bench/baseline-workflow.ts, activities that return at once;
 * - `fetch`: bench/fetch-baseline-workflow.ts, activities that make a paid order's HTTP requests with
 *   plain `fetch` to the providers the provider variables name (the benchmark's stand-ins).
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel as RuntimeLogLevel } from '@temporalio/worker';
import { loadLogLevel } from '../src/config/process.js';
import { loadTemporalConfig } from '../src/config/temporal.js';
import { loadProviderConfig } from '../src/config/worker-settings.js';
import { runMain } from '../src/config/run-main.js';
import { createBaselineActivities } from './baseline-activities.js';
import { createFetchBaselineActivities } from './fetch-baseline-activities.js';

const BASELINES = {
  'do-nothing': () => ({
    workflowsPath: fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url)),
    activities: createBaselineActivities(),
  }),
  fetch: () => ({
    workflowsPath: fileURLToPath(new URL('./fetch-baseline-workflow.ts', import.meta.url)),
    activities: createFetchBaselineActivities(loadProviderConfig()),
  }),
};

runMain(async () => {
  const kind = process.env.BASELINE ?? 'do-nothing';
  if (!(kind in BASELINES)) throw new Error(`BASELINE must be one of ${Object.keys(BASELINES).join(', ')}, got "${kind}"`);
  const baseline = BASELINES[kind as keyof typeof BASELINES]();
  const temporal = loadTemporalConfig();
  Runtime.install({ logger: new DefaultLogger(loadLogLevel().toUpperCase() as RuntimeLogLevel) });
  const connection = await NativeConnection.connect(temporal.connection);
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    ...baseline,
    shutdownGraceTime: '10 seconds',
  });
  console.log(
    `Baseline worker (${kind}) polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connection.address}`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
});
