import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Worker,
  type ActivityInterceptorsFactory,
  type NativeConnectionOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { CodecConfig } from '../config/codec.js';
import type { TemporalConfig } from '../config/temporal.js';
import type { ProviderConfig } from '../config/worker-settings.js';
import { createActivities } from '../activities/create-activities.js';
import { createDataConverter, FAILURE_CONVERTER_PATH } from '../codec/data-converter.js';
import { TRACING_OFF, type Tracing } from '../telemetry/opentelemetry.js';
import { WORKER_DEPLOYMENT_NAME } from './deployment.js';
import { activityTracing, WORKFLOW_TRACING_INTERCEPTORS, workflowSpanSinks } from './activity-tracing.js';

/** The workflows folder, as sources (src/workflows/*.ts under tsx) or compiled (dist/workflows/*.js). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows', import.meta.url));

/**
 * The prebuilt workflow bundles `npm run build` writes next to the compiled worker. The tracing interceptors get a bundle of
 * their own: bundled, they cost about 160 MB of worker memory, traced or not (docs/operations.md#tracing).
 */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';
export const TRACED_WORKFLOW_BUNDLE_FILE = 'workflow-bundle-traced.js';

/** The workflow code as one bundle, built with the service's failure converter (for `npm run build` and the tests); `traced`: with the tracing interceptors. */
export async function bundleOrderWorkflows({ traced = false } = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    workflowInterceptorModules: traced ? [WORKFLOW_TRACING_INTERCEPTORS] : [],
    logger: new DefaultLogger('WARN'),
  });
  return code;
}

export interface OrderWorkerOptions {
  temporal: TemporalConfig;
  providers: ProviderConfig;
  /** Payload encryption (TEMPORAL_CODEC_KEYS); the clients that start and read runs must use the same keys. */
  codec: CodecConfig;
  /**
   * A prebuilt workflow bundle from `bundleOrderWorkflows()` (the compiled build's, or the tests' bundle
   * of the run), traced when `tracing` is on; otherwise the workflows are bundled at start.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** How long a stopping worker lets in-flight activities finish before it hands them back (SHUTDOWN_GRACE_SECONDS). */
  shutdownGraceMs?: number;
  /** This build's ID in the `order-processing` worker deployment (WORKER_BUILD_ID; `loadWorkerBuildId`). */
  buildId: string;
  /** OpenTelemetry (OTEL_EXPORTER_OTLP_ENDPOINT; `startTracing`); off by default. */
  tracing?: Tracing;
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

/**
 * The provider SDKs' requests cannot be aborted, so an activity gives up when cancelled: a stopping worker exits at the end of
 * its grace period, and another retries under the same key (docs/operations.md#graceful-shutdown).
 */
const giveUpWhenCancelled: ActivityInterceptorsFactory = (ctx) => ({
  inbound: { execute: (input, next) => Promise.race([next(input), ctx.cancelled]) },
});

/** A worker for the order workflow and its activities, on its own connection. */
export async function createOrderWorker({
  temporal,
  providers,
  codec,
  workflowBundle,
  shutdownGraceMs = 10_000,
  buildId,
  tracing = TRACING_OFF,
}: OrderWorkerOptions) {
  const connection = await connectWithRetry(temporal.connection);
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(providers),
    dataConverter: createDataConverter(codec),
    shutdownGraceTime: shutdownGraceMs,
    interceptors: {
      activity: [giveUpWhenCancelled, ...(tracing.enabled ? activityTracing(tracing) : [])],
      // A prebuilt bundle has the workflow interceptors built in (bundleOrderWorkflows).
      ...(tracing.enabled && !workflowBundle && { workflowModules: [WORKFLOW_TRACING_INTERCEPTORS] }),
    },
    ...(tracing.enabled && { sinks: workflowSpanSinks(tracing) }),
    // AUTO_UPGRADE: a run may wait 23 h for Stripe or 7 days for the order backend, and pinned it would hold its build up
    // for days; workflow changes therefore stay behind patched() (docs/deploys.md).
    workerDeploymentOptions: {
      useWorkerVersioning: true,
      version: { deploymentName: WORKER_DEPLOYMENT_NAME, buildId },
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    },
  });
  return { worker, connection };
}
