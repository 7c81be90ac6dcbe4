/**
 * The baseline's worker process: the baseline workflow and its do-nothing activities on their own
 * task queue (TEMPORAL_TASK_QUEUE), with the same worker options as src/order-worker.ts.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel as RuntimeLogLevel } from '@temporalio/worker';
import { loadLogLevel } from '../src/config/process.js';
import { loadTemporalConfig } from '../src/config/temporal.js';
import { runMain } from '../src/run-main.js';
import { createBaselineActivities } from './baseline-activities.js';

const BASELINE_WORKFLOWS_PATH = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));

runMain(async () => {
  const temporal = loadTemporalConfig();
  Runtime.install({ logger: new DefaultLogger(loadLogLevel().toUpperCase() as RuntimeLogLevel) });
  const connection = await NativeConnection.connect(temporal.connection);
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowsPath: BASELINE_WORKFLOWS_PATH,
    activities: createBaselineActivities(),
    shutdownGraceTime: '10 seconds',
  });
  console.log(`Baseline worker polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connection.address}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
});
