/**
 * The run routes on real runs (a Temporal dev server and a worker): timelines, progress, repeats and
 * Idempotency-Keys, lists and outcome filters that agree with the temporal CLI, cancellation, and a
 * Temporal that cannot be reached over a real connection. Their validation, keys, rate limits, headers
 * and OpenAPI document are tested in process in test/unit/api/.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../dev/processes.js';
import { findTool, TEMPORAL_CLI } from '../../dev/tools.js';
import { buildApp } from '../../src/api/app.js';
import { TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../src/http/error-reply.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { injectTrigger } from '../support/trigger.js';
import type { OrderParams } from '../../src/domain/order.js';

const API_KEY = 'ask_runs_key_0001';
const auth = { authorization: `Bearer ${API_KEY}` };
const execCli = promisify(execFile);
let harness: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  harness = await startHarness();
  app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    webUiUrl: 'http://ui.example:8233/',
  });
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

const trigger = (params: OrderParams, headers: Record<string, string> = {}) => injectTrigger(app, API_KEY, { params }, headers);

function getRun(workflowId: string) {
  return app.inject({ method: 'GET', url: `/api/runs/${workflowId}`, headers: auth });
}

describe('GET /api/runs/:workflowId', () => {
  it('shows a timeline of steps from the history, with attempts and the last failure, and a Web UI link', async () => {
    const order = sampleOrder({ customerId: 'cus_fail_500_x1' });
    const started = (await trigger(order)).json();
    await harness.client.workflow.getHandle(started.workflowId).result();

    const run = (await getRun(started.workflowId)).json();
    expect(run.status).toBe('completed');
    expect(run.webUiUrl).toBe(`http://ui.example:8233/namespaces/default/workflows/${started.workflowId}/${started.runId}/history`);
    expect(run.timeline.map((step: { name: string }) => step.name)).toEqual([
      'Parse Order',
      'Charge Card: create PaymentIntent',
      'Charge Card: confirm PaymentIntent',
      'Send Receipt',
      'Update Order Status',
    ]);
    const chargeStep = run.timeline[2];
    expect(chargeStep).toMatchObject({
      activityType: 'confirmPaymentIntent',
      state: 'completed',
      attempts: 2,
      lastFailure: expect.stringContaining('Stripe is unavailable to confirm the PaymentIntent (500)'),
    });
    expect(Date.parse(chargeStep.endTime)).toBeGreaterThan(Date.parse(chargeStep.startTime));
  });

  it('shows Parse Order (a local activity) failed with its reason for an invalid order, and no other step', async () => {
    // The API would refuse this order with a 400; started directly, Parse Order refuses it.
    const handle = await harness.startOrder(sampleOrder({ email: 'customer@' }));
    await handle.result().catch(() => undefined);

    const run = (await getRun(handle.workflowId)).json();
    expect(run.status).toBe('failed');
    expect(run.timeline).toEqual([
      {
        name: 'Parse Order',
        activityType: 'parseOrder',
        state: 'failed',
        attempts: 1,
        lastFailure: expect.stringContaining('email must be an email address'),
        startTime: expect.any(String),
        endTime: expect.any(String),
      },
    ]);
    expect(Date.parse(run.timeline[0].endTime)).toBeGreaterThanOrEqual(Date.parse(run.timeline[0].startTime));
  });

  it('shows the current step while the run is open', async () => {
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer read and the create pass
    harness.sandbox.stripe.failNext(1, { delayMs: 1_500 });
    const order = sampleOrder();
    const started = (await trigger(order)).json();
    // The confirmation is held by Stripe: the run is open, in Charge Card, with the confirmation scheduled.
    await expect.poll(async () => (await getRun(started.workflowId)).json().timeline?.length, { timeout: 10_000 }).toBe(3);
    expect((await getRun(started.workflowId)).json().progress?.step).toBe('charge-card');
    const run = (await getRun(started.workflowId)).json();
    expect(run).toMatchObject({
      status: 'running',
      timeline: [
        { name: 'Parse Order', state: 'completed' },
        { name: 'Charge Card: create PaymentIntent', state: 'completed' },
        { name: 'Charge Card: confirm PaymentIntent' },
      ],
    });
    await harness.client.workflow.getHandle(started.workflowId).result();
  });
});

describe('repeat triggers', () => {
  it('answers 409 naming the fields (not their values) when the params differ', async () => {
    const order = sampleOrder();
    expect((await trigger(order)).statusCode).toBe(201);
    expect((await trigger({ ...order, currency: 'USD' })).statusCode).toBe(200);
    const conflict = await trigger({ ...order, amount: 5000, email: 'other@example.com' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({ code: 'order_conflict', details: { fields: ['params.amount', 'params.email'] } });
    expect(conflict.body).not.toContain('other@example.com');
    await harness.client.workflow.getHandle(`order-${order.orderId}`).result();
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('honours Idempotency-Key: same key and params 200, same key for another order 409', async () => {
    const key = `key-${Date.now()}`;
    const order = sampleOrder();
    const first = await trigger(order, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const repeat = await trigger(order, { 'idempotency-key': key });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().runId).toBe(first.json().runId);

    await expect.poll(async () => (await trigger(sampleOrder(), { 'idempotency-key': key })).statusCode, { timeout: 10_000 }).toBe(409);
    const reused = await trigger(sampleOrder(), { 'idempotency-key': key });
    expect(reused.json().error).toMatchObject({ code: 'idempotency_key_reused', details: { workflowId: `order-${order.orderId}` } });
  });
});

describe('GET /api/runs', () => {
  it('lists runs with filters and cursor pagination', async () => {
    const before = new Date();
    const orders = [sampleOrder(), sampleOrder(), sampleOrder({ customerId: 'cus_decline' })];
    for (const order of orders) await harness.runOrder(order);

    // Visibility lags the runs: wait until all three are listed as closed.
    await expect
      .poll(
        async () =>
          (await app.inject({ method: 'GET', url: `/api/runs?startedAfter=${before.toISOString()}`, headers: auth }))
            .json()
            .runs.filter((run: { status: string }) => run.status !== 'running').length,
        { timeout: 10_000 },
      )
      .toBe(3);
    const firstPage = (
      await app.inject({ method: 'GET', url: `/api/runs?startedAfter=${before.toISOString()}&limit=2`, headers: auth })
    ).json();
    expect(firstPage.runs).toHaveLength(2);
    expect(firstPage.nextCursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    const secondPage = (
      await app.inject({
        method: 'GET',
        url: `/api/runs?startedAfter=${before.toISOString()}&limit=2&cursor=${firstPage.nextCursor}`,
        headers: auth,
      })
    ).json();
    const listed = [...firstPage.runs, ...secondPage.runs].map((run: { workflowId: string }) => run.workflowId).sort();
    expect(listed).toEqual(orders.map((order) => `order-${order.orderId}`).sort());

    const byOrder = (await app.inject({ method: 'GET', url: `/api/runs?orderId=${orders[2].orderId}`, headers: auth })).json();
    expect(byOrder.runs).toEqual([expect.objectContaining({ workflowId: `order-${orders[2].orderId}`, status: 'completed' })]);
    const running = (
      await app.inject({ method: 'GET', url: `/api/runs?status=running&startedAfter=${before.toISOString()}`, headers: auth })
    ).json();
    expect(running.runs).toEqual([]);
    const future = (
      await app.inject({
        method: 'GET',
        url: `/api/runs?startedBefore=${before.toISOString()}&orderId=${orders[0].orderId}`,
        headers: auth,
      })
    ).json();
    expect(future.runs).toEqual([]);
  });

  it("filters by the order's outcome, as `temporal workflow list --query \"OrderOutcome = '...'\"` does", async () => {
    const before = new Date();
    const [paid, declined] = [sampleOrder(), sampleOrder({ customerId: 'cus_decline' })];
    await Promise.all([harness.runOrder(paid), harness.runOrder(declined)]);
    const listed = async (outcome: string) =>
      (await app.inject({ method: 'GET', url: `/api/runs?outcome=${outcome}&startedAfter=${before.toISOString()}`, headers: auth })).json()
        .runs;

    await expect
      .poll(() => listed('payment_failed'), { timeout: 10_000 })
      .toEqual([expect.objectContaining({ workflowId: `order-${declined.orderId}`, status: 'completed', outcome: 'payment_failed' })]);
    expect(await listed('paid')).toEqual([expect.objectContaining({ workflowId: `order-${paid.orderId}`, outcome: 'paid' })]);
    const run = (await getRun(`order-${declined.orderId}`)).json();
    expect(run.outcome).toBe('payment_failed');

    const cli = findTool(TEMPORAL_CLI);
    expect(cli, 'the temporal CLI (TEMPORAL_CLI_PATH, PATH or .tools/bin; `npm run tools` gets it)').toBeDefined();
    const query = `OrderOutcome = 'payment_failed' AND TaskQueue = '${harness.temporal.taskQueue}' AND StartTime > '${before.toISOString()}'`;
    const { stdout } = await execCli(cli!.path, [
      'workflow',
      'list',
      '--address',
      inject('temporalAddress'),
      '--query',
      query,
      '-o',
      'json',
    ]);
    const workflowIds = (JSON.parse(stdout) as { execution: { workflowId: string } }[]).map(({ execution }) => execution.workflowId);
    expect(workflowIds).toEqual([`order-${declined.orderId}`]);
  });
});

describe('POST /api/runs/:workflowId/cancel', () => {
  it('once the charge is in flight: 200 too_late, and the run records the true outcome', async () => {
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer read and the create pass
    harness.sandbox.stripe.failNext(1, { delayMs: 1_500 });
    const order = sampleOrder();
    const started = (await trigger(order)).json();
    await expect
      .poll(() => harness.sandbox.stripe.requests.some((r) => decodeURIComponent(r.body).includes(order.orderId)), { timeout: 10_000 })
      .toBe(true);

    const cancel = await app.inject({ method: 'POST', url: `/api/runs/${started.workflowId}/cancel`, headers: auth });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({ outcome: 'too_late', message: expect.stringContaining('true payment outcome') });
    expect(await harness.client.workflow.getHandle(started.workflowId).result()).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('paid');
  });

  it('answers 409 for a finished run and 404 for an unknown one', async () => {
    const order = sampleOrder();
    await harness.runOrder(order);
    const closed = await app.inject({ method: 'POST', url: `/api/runs/order-${order.orderId}/cancel`, headers: auth });
    expect(closed.statusCode).toBe(409);
    expect(closed.json().error).toMatchObject({ code: 'run_closed', details: { status: 'completed' } });
    expect((await app.inject({ method: 'POST', url: '/api/runs/order-nope/cancel', headers: auth })).statusCode).toBe(404);
  });
});

describe('cancel before the charge, through the API', () => {
  let idle: Harness;
  let idleApp: FastifyInstance;
  beforeAll(async () => {
    idle = await startHarness({ withoutWorker: true });
    idleApp = buildApp({ client: idle.client, taskQueue: idle.temporal.taskQueue, triggerApiKeys: [API_KEY] });
  });
  afterAll(async () => {
    await idleApp?.close();
    await idle?.close();
  });

  it('is accepted (202 while no worker has answered) and ends the run cancelled with no charge', async () => {
    const order = sampleOrder();
    const started = (await injectTrigger(idleApp, API_KEY, { params: order })).json();
    const cancel = await idleApp.inject({ method: 'POST', url: `/api/runs/${started.workflowId}/cancel`, headers: auth });
    expect(cancel.statusCode).toBe(202);
    expect(cancel.json().outcome).toBe('requested');

    await idle.startWorker();
    await expect
      .poll(async () => (await idleApp.inject({ method: 'GET', url: `/api/runs/${started.workflowId}`, headers: auth })).json().status, {
        timeout: 15_000,
      })
      .toBe('cancelled');
    expect(idle.sandbox.stripe.requests).toHaveLength(0);
    expect(idle.sandbox.backend.orders.get(order.orderId)?.status).toBe('cancelled');
  });
});

describe('Temporal unreachable', () => {
  it('answers 503 temporal_unavailable with Retry-After when Temporal is unreachable, and /readyz says so', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const offline = buildApp({ client: new Client({ connection }), taskQueue: 'nowhere', triggerApiKeys: [API_KEY] });
    const response = await injectTrigger(offline, API_KEY, { params: sampleOrder() });
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('temporal_unavailable');
    expect(response.headers['retry-after']).toBe(String(TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS));
    const ready = await offline.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('temporal_unavailable');
    expect(ready.headers['retry-after']).toBe(String(TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS));
    await offline.close();
    await connection.close();
  });
});
