import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { TemporalConfig, ProviderConfig } from './config.js';
import { createActivities } from './activities/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface OrderWorkerOptions {
  temporal: TemporalConfig;
  providers: ProviderConfig;
  /** A prebuilt workflow bundle (tests bundle once per run); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** A worker for the order workflow and its activities, on its own connection. */
export async function createOrderWorker({ temporal, providers, workflowBundle }: OrderWorkerOptions) {
  const connection = await NativeConnection.connect(temporal.connection);
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(providers),
    shutdownGraceTime: '10 seconds',
  });
  return { worker, connection };
}
