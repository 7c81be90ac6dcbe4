/**
 * Worker Versioning on a real server: two builds of the worker side by side in the `order-processing`
 * worker deployment, on a namespace of their own (a deployment is per namespace). The first build becomes
 * current by itself; a second does not until the deploy says so; then runs move to it, as AUTO_UPGRADE promises.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { createDataConverter } from '../../src/codec/data-converter.js';
import { loadProviderConfig } from '../../src/config/worker-settings.js';
import { type StripeEventHint } from '../../src/domain/payment.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';
import { createOrderWorker } from '../../src/worker/order-worker.js';
import { startOrderWorkflow } from '../../src/api/start-order.js';
import { makeCurrentVersion, WORKER_DEPLOYMENT_NAME } from '../../src/worker/deployment.js';
import { registerTestNamespace, sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { statusQuery, stripeEventSignal } from '../../src/workflows/names.js';

let namespace: string;
const taskQueue = `versioning-${randomUUID()}`;
let harness: Harness;
let connection: Connection;
let client: Client;
const workers: { worker: Worker; running: Promise<void>; close: () => Promise<void> }[] = [];

beforeAll(async () => {
  harness = await startHarness({ withoutWorker: true });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  namespace = await registerTestNamespace(connection, 'versioning');
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      ORDER_SEARCH_ATTRIBUTES.map(({ key }) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  client = new Client({ connection, namespace, dataConverter: createDataConverter(harness.codec) });
});
afterAll(async () => {
  for (const { worker, running, close } of workers) {
    worker.shutdown();
    await running;
    await close();
  }
  await connection?.close();
  await harness?.close();
});

/** A worker of build `buildId` on the test's namespace and task queue, polling. */
async function startBuild(buildId: string): Promise<Worker> {
  const { worker, connection: workerConnection } = await createOrderWorker({
    temporal: { connection: { address: inject('temporalAddress') }, namespace, taskQueue },
    providers: loadProviderConfig(harness.sandbox.env),
    codec: harness.codec,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    buildId,
  });
  workers.push({ worker, running: worker.run(), close: () => workerConnection.close() });
  return worker;
}

/** The build that completed each of the run's workflow tasks, from its history. */
async function buildsOf(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).flatMap((event) => {
    const buildId = event.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId;
    return buildId ? [buildId] : [];
  });
}

const currentBuild = async () =>
  (await client.workflowService.describeWorkerDeployment({ namespace, deploymentName: WORKER_DEPLOYMENT_NAME })).workerDeploymentInfo
    ?.routingConfig?.currentDeploymentVersion?.buildId;

describe('two builds side by side', () => {
  it('the first build becomes current; a second waits for the deploy; then open runs move to it (AUTO_UPGRADE)', async () => {
    await startBuild('build-a');
    expect(await makeCurrentVersion(client, 'build-a')).toBe('made-current');

    // An order that waits for its card holder, started on build-a.
    const waiting = await startOrderWorkflow(client, taskQueue, sampleOrder({ customerId: 'cus_authenticate' }));
    await vi.waitFor(async () => expect((await waiting.query(statusQuery)).step).toBe('customer-action'), {
      timeout: 30_000,
      interval: 250,
    });

    await startBuild('build-b');
    expect(await makeCurrentVersion(client, 'build-b')).toBe('left');
    expect(await currentBuild()).toBe('build-a');
    const onA = await startOrderWorkflow(client, taskQueue, sampleOrder());
    expect((await onA.result()).status).toBe('paid');
    expect(new Set(await buildsOf(onA))).toEqual(new Set(['build-a']));

    // The deploy: build-b is made current (`temporal worker deployment set-current-version`).
    expect(await makeCurrentVersion(client, 'build-b', { force: true })).toBe('made-current');
    expect(await currentBuild()).toBe('build-b');
    const onB = await startOrderWorkflow(client, taskQueue, sampleOrder());
    expect((await onB.result()).status).toBe('paid');
    expect(new Set(await buildsOf(onB))).toEqual(new Set(['build-b']));

    // The waiting run goes on on build-b, though build-a still polls.
    const { paymentIntentId } = await waiting.query(statusQuery);
    expect(harness.sandbox.stripe.completeCustomerAction(paymentIntentId!, 'succeeds')).toBe(true);
    const hint: StripeEventHint = { eventId: `evt_${randomUUID()}`, type: 'payment_intent.succeeded', paymentIntentId };
    await waiting.signal(stripeEventSignal, hint);
    expect((await waiting.result()).status).toBe('paid');
    const builds = await buildsOf(waiting);
    expect(builds[0]).toBe('build-a');
    expect(builds.at(-1)).toBe('build-b');
    const { raw } = await waiting.describe();
    expect(raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(
      proto.temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
    );
  });
});
