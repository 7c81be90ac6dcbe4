import { randomUUID } from 'node:crypto';
import { inject, vi } from 'vitest';
import { msToTs } from '@temporalio/common/lib/time.js';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadCodecConfig, type CodecConfig } from '../../src/config/codec.js';
import type { TemporalConfig } from '../../src/config/temporal.js';
import { loadProviderConfig } from '../../src/config/worker-settings.js';
import { createDataConverter } from '../../src/codec/data-converter.js';
import { createOrderWorker } from '../../src/worker/order-worker.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { API, freePorts, WORKER, type StartedProcess } from '../../dev/processes.js';
import { LocalStack } from '../../dev/stack.js';
import type { OrderParams, OrderResult } from '../../src/domain/order.js';
import { startOrderWorkflow } from '../../src/api/start-order.js';
import { loadWorkerBuildId, makeCurrentVersion } from '../../src/worker/deployment.js';

export { sampleOrder, uniqueOrderId } from './orders.js';

export interface Harness {
  sandbox: Sandbox;
  client: Client;
  temporal: TemporalConfig;
  /** The run's payload encryption, used by the worker and the client alike. */
  codec: CodecConfig;
  /** Starts an order's workflow as the API does. */
  startOrder(params: OrderParams): ReturnType<typeof startOrderWorkflow>;
  runOrder(params: OrderParams): Promise<OrderResult>;
  /** Starts the in-process worker (done at start unless `withoutWorker`). */
  startWorker(): Promise<void>;
  /**
   * `npm run worker` as its own process, on this harness's server, task queue, key and stand-ins, logging
   * errors only, metrics on a free port; `env` overrides. Stopped (SIGTERM) by `close()` at the latest.
   */
  startWorkerProcess(env?: Record<string, string>, onLine?: (line: string) => void): Promise<StartedProcess>;
  /** `npm run api` as its own process, set up as `startWorkerProcess` is (without the stand-ins). */
  startApiProcess(env?: Record<string, string>): Promise<StartedProcess>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Provider variables overriding the sandbox's (e.g. STRIPE_API_URL for stripe-mock). */
  env?: Record<string, string>;
  /** Start no in-process worker yet (a test runs the worker as a process, or starts it later). */
  withoutWorker?: boolean;
}

// Tests provoke activity failures on purpose: log errors only. Once per test process, as the SDK requires.
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** Stand-ins, a worker on its own task queue and a client, against the run's Temporal dev server. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const stack = new LocalStack();
  const sandbox = await stack.startSandbox();
  const address = inject('temporalAddress');
  const temporal: TemporalConfig = {
    connection: { address },
    namespace: 'default',
    taskQueue: `order-processing-test-${randomUUID()}`,
  };
  const providers = loadProviderConfig({ ...sandbox.env, ...options.env });
  const buildId = loadWorkerBuildId({});
  const codec = loadCodecConfig({ TEMPORAL_CODEC_KEYS: inject('codecKeys') });
  let started: Awaited<ReturnType<typeof createOrderWorker>> | undefined;
  let workerRun: Promise<void> | undefined;
  const startWorker = async () => {
    started = await createOrderWorker({ temporal, providers, codec, workflowBundle: { codePath: inject('workflowBundlePath') }, buildId });
    workerRun = started.worker.run();
    await makeCurrentVersion(started.worker.client!, buildId);
  };
  if (!options.withoutWorker) await startWorker();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: temporal.namespace, dataConverter: createDataConverter(codec) });

  const startOrder = (params: OrderParams) => startOrderWorkflow(client, temporal.taskQueue, params);
  const processEnv = async (env: Record<string, string>) => {
    // Scrape ports of their own, so parallel test files never collide.
    const [workerMetricsPort, apiMetricsPort] = await freePorts(2);
    return {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: temporal.taskQueue,
      TEMPORAL_CODEC_KEYS: inject('codecKeys'),
      LOG_LEVEL: 'error',
      WORKER_METRICS_PORT: String(workerMetricsPort),
      API_METRICS_PORT: String(apiMetricsPort),
      ...env,
    };
  };

  return {
    sandbox,
    client,
    temporal,
    codec,
    startOrder,
    runOrder: async (params) => (await startOrder(params)).result(),
    startWorker,
    startWorkerProcess: async (env = {}, onLine) => stack.startProcess(WORKER, await processEnv({ ...sandbox.env, ...env }), onLine),
    startApiProcess: async (env = {}) => stack.startProcess(API, await processEnv(env)),
    close: async () => {
      started?.worker.shutdown();
      await workerRun;
      await started?.connection.close();
      await connection.close();
      // The worker and API processes, then the stand-ins.
      await stack.stopAll();
    },
  };
}

/**
 * A namespace of the test's own on the run's server (a fresh one lacks the service's search attributes,
 * and holds schedules and deployments apart from the other files'), once the server serves it.
 */
export async function registerTestNamespace(connection: Connection, label: string): Promise<string> {
  const namespace = `${label}-${randomUUID().slice(0, 8)}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  // A new namespace reaches the server's namespace cache after a moment.
  await vi.waitFor(() => connection.operatorService.listSearchAttributes({ namespace }), { timeout: 30_000, interval: 250 });
  return namespace;
}
