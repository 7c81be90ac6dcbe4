import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { createDataConverter } from '../../src/codec/data-converter.js';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { backendRequests, opsAlerts, requestsNaming, stripeKeyedRequests } from '../support/sandbox-records.js';
import { statusQuery } from '../../src/workflows/names.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness?.close());

function requestsFor(orderId: string) {
  const { sandbox } = harness;
  return {
    stripe: stripeKeyedRequests(sandbox, orderId),
    resend: requestsNaming(sandbox.resend, orderId),
    slack: opsAlerts(sandbox, orderId),
    backend: backendRequests(sandbox, orderId),
  };
}

describe('orderProcessing', () => {
  it('charges once, emails the receipt and records the order as paid', async () => {
    const order = sampleOrder({ currency: 'USD' });
    const result = await harness.runOrder(order);

    const [charge] = harness.sandbox.stripe.successfulCharges(order.orderId);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(charge).toMatchObject({ amount: 4999, currency: 'usd', customer: 'cus_abc', idempotencyKey: `order-${order.orderId}/charge` });
    expect(result).toEqual({
      orderId: order.orderId,
      status: 'paid',
      paymentIntentId: charge.paymentIntentId,
      chargeId: charge.id,
      receipt: 'sent',
      opsNotified: false,
    });

    const sent = requestsFor(order.orderId);
    expect(sent.resend).toHaveLength(1);
    expect(sent.resend[0].headers['idempotency-key']).toBe(`order-${order.orderId}/receipt`);
    const email = harness.sandbox.resend.emails.find((e) => e.subject === `Receipt for order ${order.orderId}`);
    expect(email?.to).toEqual(['customer@example.com']);
    expect(email?.text).toContain('$49.99');
    expect(email?.text).toContain(charge.id);
    expect(sent.slack).toHaveLength(0);

    expect(sent.backend).toHaveLength(1);
    expect(JSON.parse(sent.backend[0].body)).toEqual({ status: 'paid', paymentIntentId: charge.paymentIntentId, chargeId: charge.id });
    expect(sent.backend[0].headers['idempotency-key']).toBe(`order-${order.orderId}/order-status/paid`);
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('paid');
  });

  it('formats a zero-decimal currency in the receipt', async () => {
    const order = sampleOrder({ amount: 500, currency: 'jpy' });
    await harness.runOrder(order);
    const email = harness.sandbox.resend.emails.find((e) => e.subject === `Receipt for order ${order.orderId}`);
    expect(email?.text).toContain('¥500');
  });

  it('takes a decline to the failure path: one confirmation, the PaymentIntent cancelled, a Slack alert, payment_failed', async () => {
    const order = sampleOrder({ customerId: 'cus_decline_insufficient_funds' });
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({
      orderId: order.orderId,
      status: 'payment_failed',
      declineCode: 'insufficient_funds',
      reason: 'Your card has insufficient funds.',
      receipt: 'skipped',
      opsNotified: true,
    });
    const sent = requestsFor(order.orderId);
    expect(sent.stripe.map((request) => request.headers['idempotency-key'])).toEqual(
      ['payment-intent', 'charge'].map((step) => `order-${order.orderId}/${step}`),
    );
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(0);
    expect(harness.sandbox.stripe.paymentIntentsFor(order.orderId).map((intent) => intent.status)).toEqual(['canceled']);
    expect(sent.resend).toHaveLength(0);
    expect(sent.slack).toHaveLength(1);
    expect(sent.slack[0]).toMatchObject({ channel: '#payments-alerts' });
    expect(sent.slack[0].text).toContain('cus_decline_insufficient_funds');
    expect(sent.slack[0].text).toContain('$49.99');
    expect(sent.slack[0].text).toContain('insufficient_funds');
    expect(sent.slack[0].text).not.toContain('customer@example.com');
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'payment_failed' });
  });

  it('retries Stripe 500s before execution with the same idempotency key and sends one receipt', async () => {
    const order = sampleOrder({ customerId: 'cus_fail_500_x2' });
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'paid', receipt: 'sent' });
    const confirmations = requestsFor(order.orderId).stripe.filter((request) => request.path.endsWith('/confirm'));
    expect(confirmations.map((request) => request.status)).toEqual([500, 500, 200]);
    expect(new Set(confirmations.map((request) => request.headers['idempotency-key']))).toEqual(new Set([`order-${order.orderId}/charge`]));
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(requestsFor(order.orderId).resend).toHaveLength(1);
  });

  it('rejects an invalid order in Parse Order: non-retryable InvalidOrder naming the field, no charge', async () => {
    const order = sampleOrder({ email: 'not-an-email' });
    const failure = await harness.runOrder(order).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidOrder');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect(cause!.message).toContain('email');
    expect((cause as ApplicationFailure).details).toEqual([{ field: 'email', reason: expect.stringContaining('email address') }]);
    const sent = requestsFor(order.orderId);
    expect(sent.stripe).toHaveLength(0);
    expect(sent.backend).toHaveLength(0);
  });

  it('still records a paid order when the receipt fails permanently, and alerts ops', async () => {
    harness.sandbox.resend.failNext(1, { status: 422 });
    const order = sampleOrder();
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'paid', receipt: 'failed', opsNotified: true });
    expect(result.reason).toContain('Resend rejected the receipt (422');
    expect(requestsFor(order.orderId).slack[0].text).toContain('Receipt email failed');
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'paid', chargeId: result.chargeId });
  });

  it('retries the order backend through a 503 until it answers 204', async () => {
    harness.sandbox.backend.failNext(1, { status: 503 });
    const order = sampleOrder();
    const result = await harness.runOrder(order);

    expect(result.status).toBe('paid');
    expect(requestsFor(order.orderId).backend.map((request) => request.status)).toEqual([503, 204]);
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('paid');
  });

  it("fails the run with a clear error when the backend refuses an unpaid order's update (a paid one is refunded instead)", async () => {
    harness.sandbox.backend.failNext(1, { status: 409, body: { error: 'order closed' } });
    const order = sampleOrder({ customerId: 'cus_decline' });
    const failure = await harness.runOrder(order).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('OrderStatusRejected');
    expect(cause.message).toContain(`Order ${order.orderId} is payment_failed but its record could not be updated`);
    expect(cause.message).toContain('409');
    expect(requestsFor(order.orderId).backend).toHaveLength(1);
  });

  it('starts one run per order: a second start is refused and nothing is charged twice', async () => {
    const order = sampleOrder();
    const handle = await harness.startOrder(order);
    await expect(harness.startOrder(order)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    await handle.result();
    await expect(harness.startOrder(order)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('answers the status query during and after the run', async () => {
    harness.sandbox.stripe.failNext(1, { delayMs: 1_500 }); // the check for an earlier payment
    const order = sampleOrder();
    const handle = await harness.startOrder(order);
    await expect.poll(() => handle.query(statusQuery).then((progress) => progress.step), { timeout: 10_000 }).toBe('charge-card');
    await handle.result();
    expect(await handle.query(statusQuery)).toMatchObject({ step: 'completed', status: 'paid', receipt: 'sent', opsNotified: false });
  });

  it('replays runs whose status was queried while Parse Order ran (a query can end the first workflow task early)', async () => {
    const orders = Array.from({ length: 16 }, () => sampleOrder());
    const histories = await Promise.all(
      orders.map(async (order) => {
        const handle = await harness.startOrder(order);
        for (let asked = 0; asked < 4; asked += 1) await handle.query(statusQuery);
        expect(await handle.result()).toMatchObject({ status: 'paid' });
        // A completed run is out of the worker's cache: the query replays its whole history.
        expect(await handle.query(statusQuery)).toMatchObject({ step: 'completed', status: 'paid' });
        return { workflowId: handle.workflowId, history: await handle.fetchHistory() };
      }),
    );
    for (const { workflowId, history } of histories) {
      await expect(
        Worker.runReplayHistory(
          { workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter: createDataConverter(harness.codec) },
          history,
          workflowId,
        ),
      ).resolves.toBeUndefined();
    }
  });
});
