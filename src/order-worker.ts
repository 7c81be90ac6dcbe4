import { NativeConnection, Worker, type NativeConnectionOptions, type WorkerOptions } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** How long a starting worker waits for Temporal (a server restart, a deploy in progress) before it gives up. */
const CONNECT_PATIENCE_MS = 120_000;

/** Connects, retrying while the server is unreachable, so a worker started during a server restart waits instead of exiting. */
async function connectWithRetry(options: NativeConnectionOptions): Promise<NativeConnection> {
  const deadline = Date.now() + CONNECT_PATIENCE_MS;
  for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 5_000)) {
    try {
      return await NativeConnection.connect(options);
    } catch (error) {
      if (Date.now() + delayMs > deadline) throw error;
      console.warn(`Temporal is not reachable at ${options.address} (${(error as Error).message}); retrying in ${delayMs} ms`);
      await sleep(delayMs);
    }
  }
}

/** A worker for the order workflow and its activities, on its own connection. */
export async function createOrderWorker({ temporal, providers, workflowBundle }: OrderWorkerOptions) {
  const connection = await connectWithRetry(temporal.connection);
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
