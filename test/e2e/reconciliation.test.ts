/**
 * The reconciliation sweep on a real server: orders run through the worker process, then the Stripe
 * stand-in's records are changed behind them (one disagreement of each kind, also long after the
 * payment), and a sweep finds each, counts it, and its reconcile runs set the record right. The schedule
 * is checked on a namespace of its own.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import Stripe from 'stripe';
import { answersOk, freePort, waitUntil } from '../../dev/processes.js';
import { loadReconciliationConfig } from '../../src/config/worker-settings.js';
import { type MismatchKind } from '../../src/domain/reconciliation.js';
import { ORDER_OUTCOME } from '../../src/domain/search-attributes.js';
import { WORKFLOW_COUNTERS } from '../../src/domain/metric-names.js';
import { ensureReconciliationSchedule } from '../../src/worker/reconciliation-schedule.js';
import { reconcileOrder, reconcileOrders } from '../../src/workflows/index.js';
import { registerTestNamespace, sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { reconcileWorkflowId, RECONCILIATION_SCHEDULE_ID } from '../../src/workflows/names.js';

describe('the reconciliation sweep', () => {
  let harness: Harness;
  let metricsUrl: string;
  let apiUrl: string;
  const apiKey = 'ask_reconciliation_test';

  beforeAll(async () => {
    harness = await startHarness({ withoutWorker: true });
    const [metricsPort, apiPort] = [await freePort(), await freePort()];
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    await harness.startWorkerProcess({ WORKER_METRICS_PORT: String(metricsPort) });
    const api = await harness.startApiProcess({ TRIGGER_API_KEYS: apiKey, PORT: String(apiPort), HOST: '127.0.0.1' });
    apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitUntil(() => answersOk(`${apiUrl}/healthz`), { timeoutMs: 60_000, what: 'the API to answer', process: api });
  });
  afterAll(async () => {
    await harness?.close();
  });

  const sweep = (windowMs = 10 * 60_000) =>
    harness.client.workflow.execute(reconcileOrders, {
      workflowId: `reconcile-sweep-${randomUUID()}`,
      taskQueue: harness.temporal.taskQueue,
      args: [{ windowMs }],
    });
  const paymentIntentOf = (orderId: string) => harness.sandbox.stripe.paymentIntentsFor(orderId)[0].id;
  const stripeClient = () => {
    const stripeUrl = new URL(harness.sandbox.env.STRIPE_API_URL);
    return new Stripe(harness.sandbox.env.STRIPE_SECRET_KEY, { protocol: 'http', host: stripeUrl.hostname, port: stripeUrl.port });
  };
  const noMismatches = {
    'charged-recorded-unpaid': 0,
    'failed-recorded-paid': 0,
    'refunded-recorded-paid': 0,
    'partially-refunded-recorded-paid': 0,
    'disputed-recorded-paid': 0,
  };

  it('finds each kind of disagreement with Stripe, counts it, and its reconcile run records what Stripe shows', async () => {
    const [declined, paidThenCanceled, paidThenRefunded, paid, refundedThroughApi] = [
      sampleOrder({ customerId: 'cus_decline' }),
      sampleOrder(),
      sampleOrder(),
      sampleOrder(),
      sampleOrder(),
    ];
    const results = await Promise.all(
      [declined, paidThenCanceled, paidThenRefunded, paid, refundedThroughApi].map((order) => harness.runOrder(order)),
    );
    expect(results.map((result) => result.status)).toEqual(['payment_failed', 'paid', 'paid', 'paid', 'paid']);
    // Refunded in full by an operator through the API: its refund run records it, so the sweep finds nothing wrong.
    const refunded = await fetch(`${apiUrl}/api/runs/order-${refundedThroughApi.orderId}/refund`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': 'reconciliation-refund' },
      body: '{}',
    });
    expect(refunded.status, await refunded.clone().text()).toBe(200);
    const { workflowId: refundRunId } = (await refunded.json()) as { workflowId: string };
    expect((await harness.client.workflow.getHandle(refundRunId).describe()).typedSearchAttributes.get(ORDER_OUTCOME)).toBe('refunded');

    // Behind the runs: the declined card is charged after all, a paid PaymentIntent shows canceled, and
    // one paid order is refunded in full from outside (as from the Dashboard), through Stripe's API.
    expect(harness.sandbox.stripe.plantPaymentIntentStatus(paymentIntentOf(declined.orderId), 'succeeded')).toBe(true);
    expect(harness.sandbox.stripe.plantPaymentIntentStatus(paymentIntentOf(paidThenCanceled.orderId), 'canceled')).toBe(true);
    const stripe = stripeClient();
    await stripe.refunds.create({ payment_intent: paymentIntentOf(paidThenRefunded.orderId) });
    // Another integration's PaymentIntent whose order_id is not one of ours (nor safe in a query): left alone.
    await stripe.paymentIntents.create({ amount: 500, currency: 'usd', customer: 'cus_abc', metadata: { order_id: "x' OR '1'='1" } });

    // The orders' outcomes must be visible before a sweep can compare them.
    await vi.waitFor(
      async () => {
        const query = `${ORDER_OUTCOME.name} = 'paid' AND TaskQueue = '${harness.temporal.taskQueue}'`;
        expect((await harness.client.workflow.count(query)).count).toBe(4);
        expect((await harness.client.workflow.count(`${ORDER_OUTCOME.name} = 'refunded' AND WorkflowId = '${refundRunId}'`)).count).toBe(1);
      },
      { timeout: 15_000, interval: 250 },
    );
    const expected: [MismatchKind, string, string][] = [
      ['charged-recorded-unpaid', declined.orderId, 'paid'],
      ['failed-recorded-paid', paidThenCanceled.orderId, 'payment_failed'],
      ['refunded-recorded-paid', paidThenRefunded.orderId, 'refunded'],
    ];
    const first = await sweep();
    expect(first.mismatches).toEqual({
      ...noMismatches,
      'charged-recorded-unpaid': 1,
      'failed-recorded-paid': 1,
      'refunded-recorded-paid': 1,
    });
    expect(first.reconcileRunsStarted.sort()).toEqual(expected.map(([kind, orderId]) => reconcileWorkflowId(orderId, kind)).sort());

    for (const [kind, orderId, outcome] of expected) {
      const handle = harness.client.workflow.getHandle<typeof reconcileOrder>(reconcileWorkflowId(orderId, kind));
      expect(await handle.result()).toEqual({ orderId, outcome });
      expect((await handle.describe()).typedSearchAttributes.get(ORDER_OUTCOME)).toBe(outcome);
      expect(harness.sandbox.backend.orders.get(orderId)?.status).toBe(outcome);
      expect(harness.sandbox.slack.messages.some(({ text }) => text.includes('Reconciliation') && text.includes(orderId))).toBe(true);
    }
    expect(harness.sandbox.backend.orders.get(paid.orderId)?.statuses).toEqual(['paid']);

    const metrics = await (await fetch(metricsUrl)).text();
    for (const [kind] of expected) {
      expect(metrics).toMatch(new RegExp(`^${WORKFLOW_COUNTERS.reconciliationMismatches.name}\\{[^}]*kind="${kind}"[^}]*\\} 1$`, 'm'));
    }

    // Once the corrections are visible, a later sweep finds nothing left to set right and starts nothing.
    await vi.waitFor(
      async () => {
        const again = await sweep();
        expect(again).toEqual({ mismatches: noMismatches, reconcileRunsStarted: [] });
      },
      { timeout: 20_000, interval: 500 },
    );
  });

  it('records a refund made outside the runs only once Stripe settled it: never while pending, never once it failed', async () => {
    const [refundSucceeds, refundFails] = [
      sampleOrder({ customerId: 'cus_refund_pending_8' }),
      sampleOrder({ customerId: 'cus_refund_fails_8' }),
    ];
    const results = await Promise.all([refundSucceeds, refundFails].map((order) => harness.runOrder(order)));
    expect(results.map((result) => result.status)).toEqual(['paid', 'paid']);
    await vi.waitFor(
      async () => {
        for (const { orderId } of [refundSucceeds, refundFails]) {
          const outcome = (await harness.client.workflow.getHandle(`order-${orderId}`).describe()).typedSearchAttributes.get(ORDER_OUTCOME);
          expect(outcome).toBe('paid');
        }
      },
      { timeout: 15_000, interval: 250 },
    );
    const stripe = stripeClient();
    for (const { orderId } of [refundSucceeds, refundFails]) {
      expect((await stripe.refunds.create({ payment_intent: paymentIntentOf(orderId) })).status).toBe('pending');
    }
    // Both charges show refunded in full while their refunds are pending: nothing is recorded yet.
    const whilePending = await sweep();
    expect(whilePending.reconcileRunsStarted).toEqual([]);

    const settled = (orderId: string) => harness.sandbox.stripe.refundsFor(orderId)[0].status;
    await vi.waitFor(() => expect([settled(refundSucceeds.orderId), settled(refundFails.orderId)]).toEqual(['succeeded', 'failed']), {
      timeout: 20_000,
      interval: 250,
    });
    const afterSettling = await sweep();
    expect(afterSettling.reconcileRunsStarted).toEqual([reconcileWorkflowId(refundSucceeds.orderId, 'refunded-recorded-paid')]);
    await harness.client.workflow.getHandle(afterSettling.reconcileRunsStarted[0]).result();
    expect(harness.sandbox.backend.orders.get(refundSucceeds.orderId)?.status).toBe('refunded');
    expect(harness.sandbox.backend.orders.get(refundFails.orderId)?.statuses).toEqual(['paid']);
  });

  it('finds the changes of its window to payments made before it: a late success and failure, refunds and a dispute', async () => {
    const [declined, paidThenCanceled, paidThenRefunded, paidThenPartlyRefunded, paidThenDisputed] = [
      sampleOrder({ customerId: 'cus_decline' }),
      sampleOrder(),
      sampleOrder(),
      sampleOrder(),
      sampleOrder(),
    ];
    const results = await Promise.all(
      [declined, paidThenCanceled, paidThenRefunded, paidThenPartlyRefunded, paidThenDisputed].map((order) => harness.runOrder(order)),
    );
    expect(results.map((result) => result.status)).toEqual(['payment_failed', 'paid', 'paid', 'paid', 'paid']);
    // The payments must be older than the sweep's window, which starts 5 s before the changes (the sweep's
    // own start-up): only time passing makes them so.
    await sleep(7_000);
    const changesFrom = Date.now();

    const { stripe: stripeStandIn } = harness.sandbox;
    expect(stripeStandIn.plantPaymentIntentStatus(paymentIntentOf(declined.orderId), 'succeeded')).toBe(true);
    expect(stripeStandIn.plantPaymentIntentStatus(paymentIntentOf(paidThenCanceled.orderId), 'canceled')).toBe(true);
    await stripeClient().refunds.create({ payment_intent: paymentIntentOf(paidThenRefunded.orderId) });
    await stripeClient().refunds.create({ payment_intent: paymentIntentOf(paidThenPartlyRefunded.orderId), amount: 1000 });
    const [disputedCharge] = stripeStandIn.successfulCharges(paidThenDisputed.orderId);
    const dispute = stripeStandIn.openDispute(disputedCharge.id, 'product_not_received')!;

    const result = await sweep(Date.now() - changesFrom + 5_000);
    const expected: [MismatchKind, string, string][] = [
      ['charged-recorded-unpaid', declined.orderId, 'paid'],
      ['failed-recorded-paid', paidThenCanceled.orderId, 'payment_failed'],
      ['refunded-recorded-paid', paidThenRefunded.orderId, 'refunded'],
      ['partially-refunded-recorded-paid', paidThenPartlyRefunded.orderId, 'partially_refunded'],
      ['disputed-recorded-paid', paidThenDisputed.orderId, 'disputed'],
    ];
    expect(result.mismatches).toEqual({
      'charged-recorded-unpaid': 1,
      'failed-recorded-paid': 1,
      'refunded-recorded-paid': 1,
      'partially-refunded-recorded-paid': 1,
      'disputed-recorded-paid': 1,
    });
    expect(result.reconcileRunsStarted.sort()).toEqual(expected.map(([kind, orderId]) => reconcileWorkflowId(orderId, kind)).sort());
    for (const [kind, orderId, outcome] of expected) {
      expect(await harness.client.workflow.getHandle<typeof reconcileOrder>(reconcileWorkflowId(orderId, kind)).result()).toEqual({
        orderId,
        outcome,
      });
      expect(harness.sandbox.backend.orders.get(orderId)?.status).toBe(outcome);
    }
    expect(harness.sandbox.backend.orders.get(paidThenPartlyRefunded.orderId)).toMatchObject({ amountRefunded: 1000 });
    // The dispute reached the backend and ops, with what to do and by when.
    expect(harness.sandbox.backend.orders.get(paidThenDisputed.orderId)).toMatchObject({
      statuses: ['paid', 'disputed'],
      chargeId: disputedCharge.id,
    });
    const alert = harness.sandbox.slack.messages.find(({ text }) => text.includes(paidThenDisputed.orderId))?.text;
    expect(alert).toContain(dispute.id);
    expect(alert).toContain('product_not_received');
    expect(alert).toContain(new Date(dispute.evidence_details.due_by * 1000).toISOString());
    expect(alert).toMatch(/answer the dispute in the Stripe Dashboard/);
    // One request per page of changes, none per charge.
    const sweepPaths = harness.sandbox.stripe.requests
      .filter(({ receivedAt }) => receivedAt >= changesFrom)
      .map(({ path }) => new URL(path, 'http://stripe.invalid').pathname);
    expect(sweepPaths).toEqual(expect.arrayContaining(['/v1/events', '/v1/disputes']));
    expect(sweepPaths.filter((path) => path.startsWith('/v1/charges/'))).toEqual([]);
  });

  it('compares a refund or dispute of an order whose run is past retention with how that run ended (paid)', async () => {
    const [refunded, disputed] = [sampleOrder(), sampleOrder()];
    expect((await Promise.all([refunded, disputed].map((order) => harness.runOrder(order)))).map(({ status }) => status)).toEqual([
      'paid',
      'paid',
    ]);
    for (const { orderId } of [refunded, disputed]) {
      const workflowExecution = { workflowId: `order-${orderId}` };
      await harness.client.workflowService.deleteWorkflowExecution({ namespace: harness.client.options.namespace, workflowExecution });
      await vi.waitFor(() => expect(harness.client.workflow.getHandle(workflowExecution.workflowId).describe()).rejects.toThrow(), {
        timeout: 60_000,
        interval: 500,
      });
    }
    const changesFrom = Date.now();
    await stripeClient().refunds.create({ payment_intent: paymentIntentOf(refunded.orderId) });
    const [disputedCharge] = harness.sandbox.stripe.successfulCharges(disputed.orderId);
    expect(harness.sandbox.stripe.openDispute(disputedCharge.id)).toBeDefined();

    const result = await sweep(Date.now() - changesFrom + 5_000);
    expect(result.mismatches).toEqual({ ...noMismatches, 'refunded-recorded-paid': 1, 'disputed-recorded-paid': 1 });
    for (const [kind, { orderId }, outcome] of [
      ['refunded-recorded-paid', refunded, 'refunded'],
      ['disputed-recorded-paid', disputed, 'disputed'],
    ] as const) {
      expect(await harness.client.workflow.getHandle<typeof reconcileOrder>(reconcileWorkflowId(orderId, kind)).result()).toEqual({
        orderId,
        outcome,
      });
      expect(harness.sandbox.backend.orders.get(orderId)?.statuses).toEqual(['paid', outcome]);
      const alert = harness.sandbox.slack.messages.find(({ text }) => text.includes('Reconciliation') && text.includes(orderId))?.text;
      expect(alert).toContain('was recorded paid when its run ended (the run is no longer kept)');
    }
    // The reconcile runs are now the orders' record: a later sweep starts nothing.
    await vi.waitFor(
      async () => expect(await sweep(Date.now() - changesFrom + 5_000)).toEqual({ mismatches: noMismatches, reconcileRunsStarted: [] }),
      { timeout: 20_000, interval: 500 },
    );
  });
});

describe(`the ${RECONCILIATION_SCHEDULE_ID} schedule`, () => {
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: await registerTestNamespace(connection, 'reconciliation') });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('is created hourly over 25 h by default, kept as it is on a repeat, and follows a changed interval and task queue', async () => {
    const defaults = loadReconciliationConfig({});
    expect(defaults).toEqual({ intervalMs: 3_600_000, windowMs: 25 * 3_600_000 });
    await ensureReconciliationSchedule(client, 'orders-a', defaults);
    const handle = client.schedule.getHandle(RECONCILIATION_SCHEDULE_ID);
    const created = await handle.describe();
    expect(created.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(created.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileOrders', taskQueue: 'orders-a' });
    expect(created.action.type === 'startWorkflow' && created.action.args).toEqual([{ windowMs: 25 * 3_600_000 }]);

    // An operator paused it: a worker restart with the same settings leaves it paused and unchanged.
    await handle.pause('checking Stripe by hand');
    await ensureReconciliationSchedule(client, 'orders-a', defaults);
    expect((await handle.describe()).state.paused).toBe(true);

    await ensureReconciliationSchedule(client, 'orders-b', loadReconciliationConfig({ RECONCILIATION_INTERVAL: '15m' }));
    const updated = await handle.describe();
    expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 15 * 60_000 })]);
    expect(updated.action).toMatchObject({ taskQueue: 'orders-b' });
    expect(updated.state.paused).toBe(true);
  });

  it('refuses an interval or window that is not a duration, naming the variable', () => {
    expect(() => loadReconciliationConfig({ RECONCILIATION_INTERVAL: 'hourly' })).toThrow(/RECONCILIATION_INTERVAL/);
    expect(() => loadReconciliationConfig({ RECONCILIATION_WINDOW: '30d' })).toThrow(/RECONCILIATION_WINDOW/);
  });
});
