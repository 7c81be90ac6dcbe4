/**
 * The service's smaller workflows (refundOrder, idempotencyKeyClaim) and Charge Card as runs started
 * before the `payment-intents` patch do it, with stubbed activities on a time-skipping test server.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { OrderActivities } from '../../../src/activities/create-activities.js';
import {
  CHARGE_OUTCOME_UNKNOWN,
  CHARGE_REJECTED,
  ORDER_BACKEND_MISCONFIGURED,
  ORDER_STATUS_REJECTED,
  REFUND_NOT_MADE,
  REFUND_REFUSED,
  STRIPE_UNAVAILABLE,
} from '../../../src/domain/failures.js';
import type { RefundOrderInput } from '../../../src/domain/payment.js';
import { claimIdempotencyKey, startOrderWorkflow } from '../../../src/api/start-order.js';
import { idempotencyKeyClaim, refundOrder } from '../../../src/workflows/index.js';
import { legacyCharge } from '../../support/time-skipping-workflows.js';
import { unitOrder, useTimeSkippingWorker, type StubbedActivities } from '../../support/time-skipping.js';

const suite = useTimeSkippingWorker();

/** The failure a run ended with, below WorkflowFailedError. */
async function failureOf(run: Promise<unknown>): Promise<unknown> {
  const error = await run.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause;
}

describe('refundOrder', () => {
  const input: RefundOrderInput = { orderId: 'ord_refund', paymentIntentId: 'pi_paid', amount: 1000, reason: 'damaged in transit' };

  function refund(overrides: Partial<OrderActivities>) {
    const workflowId = `refund-${randomUUID()}`;
    const stubs = suite.worker.stub(workflowId, overrides);
    return { stubs, run: suite.env.client.workflow.execute(refundOrder, { args: [input], workflowId, taskQueue: suite.worker.taskQueue }) };
  }

  const refundOf = (status: string, amountRefunded = 1000) => ({
    refundId: 're_stub',
    amount: 1000,
    currency: 'usd',
    status,
    amountRefunded,
    amountPaid: 4999,
  });
  const statuses = (stubs: StubbedActivities) => stubs.inputsOf('updateOrderStatus');
  const alerts = (stubs: StubbedActivities) => stubs.inputsOf('notifyOps').map((alert) => alert.kind);

  it('returns the refund Stripe made, for the PaymentIntent and amount asked, and tells the backend partially_refunded', async () => {
    const { stubs, run } = refund({ refundPayment: async () => refundOf('succeeded') });
    expect(await run).toEqual(refundOf('succeeded'));
    expect(stubs.inputsOf('refundPayment')).toEqual([input]);
    expect(statuses(stubs)).toEqual([
      { orderId: 'ord_refund', status: 'partially_refunded', paymentIntentId: 'pi_paid', amountRefunded: 1000 },
    ]);
    expect(alerts(stubs)).toEqual([]);
  });

  it('a refund that leaves nothing paid tells the backend refunded', async () => {
    const { stubs, run } = refund({ refundPayment: async () => refundOf('succeeded', 4999) });
    expect(await run).toMatchObject({ status: 'succeeded', amountRefunded: 4999 });
    expect(statuses(stubs)).toEqual([{ orderId: 'ord_refund', status: 'refunded', paymentIntentId: 'pi_paid', amountRefunded: 4999 }]);
  });

  it('a pending refund is asked about on a backoff; the backend hears of it only once Stripe shows it succeeded', async () => {
    let asked = 0;
    const { stubs, run } = refund({
      refundPayment: async () => refundOf('pending'),
      lookUpRefund: async () => refundOf(++asked < 4 ? 'pending' : 'succeeded'),
    });
    expect(await run).toMatchObject({ status: 'succeeded' });
    expect(stubs.calls.map((call) => call.name)).toEqual([
      'refundPayment',
      'lookUpRefund',
      'lookUpRefund',
      'lookUpRefund',
      'lookUpRefund',
      'updateOrderStatus',
    ]);
  });

  it('a pending refund Stripe then fails: the backend is not told, ops hear the money was not returned, the run answers failed', async () => {
    const { stubs, run } = refund({
      refundPayment: async () => refundOf('pending'),
      lookUpRefund: async () => ({ ...refundOf('failed', 0), failureReason: 'expired_or_canceled_card' }),
    });
    expect(await run).toMatchObject({ status: 'failed', failureReason: 'expired_or_canceled_card', amountRefunded: 0 });
    expect(statuses(stubs)).toEqual([]);
    expect(alerts(stubs)).toEqual(['refund-not-returned']);
  });

  it('a backend that answers as misconfigured is asked again on the durable backoff until it records the refund, ops told once', async () => {
    let answers = 0;
    const { stubs, run } = refund({
      refundPayment: async () => refundOf('succeeded'),
      updateOrderStatus: async () => {
        answers += 1;
        if (answers <= 2) throw ApplicationFailure.nonRetryable('Order backend answered 401', ORDER_BACKEND_MISCONFIGURED);
      },
    });
    expect(await run).toMatchObject({ status: 'succeeded' });
    expect(statuses(stubs).map(({ status }) => status)).toEqual(['partially_refunded', 'partially_refunded', 'partially_refunded']);
    expect(stubs.inputsOf('notifyOps')).toEqual([
      expect.objectContaining({
        kind: 'backend-misconfigured',
        order: { orderId: 'ord_refund' },
        status: 'partially_refunded',
        reason: 'Order backend answered 401',
      }),
    ]);
  });

  it('a backend that refuses the refund record: ops are told what to set by hand; the refund stands', async () => {
    const { stubs, run } = refund({
      refundPayment: async () => refundOf('succeeded'),
      updateOrderStatus: async () => {
        throw ApplicationFailure.nonRetryable('Order backend answered 409', ORDER_STATUS_REJECTED);
      },
    });
    expect(await run).toMatchObject({ status: 'succeeded' });
    expect(stubs.inputsOf('notifyOps')).toEqual([
      expect.objectContaining({ kind: 'refund-unrecorded', status: 'partially_refunded', reason: 'Order backend answered 409' }),
    ]);
  });

  it("a refund Stripe refuses fails the run as RefundRefused with Stripe's reason, at once", async () => {
    const { stubs, run } = refund({
      refundPayment: async () => {
        throw ApplicationFailure.nonRetryable('Stripe refused the refund of order ord_refund (amount_too_large): too much', REFUND_REFUSED);
      },
    });
    const failure = await failureOf(run);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: REFUND_REFUSED, nonRetryable: true, message: expect.stringContaining('amount_too_large') });
    expect(stubs.calls).toHaveLength(1);
  });

  it('an outcome Stripe leaves unknown fails the run after telling ops to check Stripe; one Stripe shows not made tells nobody', async () => {
    const unknown = refund({
      refundPayment: async () => {
        throw ApplicationFailure.nonRetryable(
          'Stripe made refund re_x (pending), but reading its payment failed (403)',
          CHARGE_OUTCOME_UNKNOWN,
        );
      },
    });
    expect(await failureOf(unknown.run)).toMatchObject({ cause: { type: CHARGE_OUTCOME_UNKNOWN } });
    expect(unknown.stubs.inputsOf('notifyOps')).toEqual([
      { kind: 'refund-outcome-unknown', orderId: 'ord_refund', paymentIntentId: 'pi_paid', reason: expect.stringContaining('re_x') },
    ]);
    const notMade = refund({
      refundPayment: async () => {
        throw ApplicationFailure.nonRetryable('Stripe shows no refund under any of the 3 keys: the refund was not made', REFUND_NOT_MADE);
      },
    });
    expect(await failureOf(notMade.run)).toMatchObject({ cause: { type: REFUND_NOT_MADE } });
    expect(alerts(notMade.stubs)).toEqual([]);
  });

  it('Stripe unavailable: the refund is retried beyond a few attempts (the API answers 202 meanwhile), never reported failed', async () => {
    let attempts = 0;
    const { run } = refund({
      refundPayment: async () => {
        if (++attempts <= 8) throw ApplicationFailure.retryable('Stripe is unavailable to refund the payment (503)', STRIPE_UNAVAILABLE);
        return refundOf('succeeded');
      },
    });
    expect(await run).toMatchObject({ status: 'succeeded' });
    expect(attempts).toBe(9);
  });
});

describe('idempotencyKeyClaim', () => {
  it('the first order to claim a key holds it; a later claim of the same key is told which order that is', async () => {
    const key = `key-${randomUUID()}`;
    expect(await claimIdempotencyKey(suite.env.client, suite.worker.taskQueue, key, 'order-ord_first')).toBe('order-ord_first');
    expect(await claimIdempotencyKey(suite.env.client, suite.worker.taskQueue, key, 'order-ord_second')).toBe('order-ord_first');
    // The claim run itself closes at once, naming the order.
    expect(await suite.env.client.workflow.getHandle(`idempotency-key-${key}`).result()).toBe('order-ord_first');
  });

  it('runs as a workflow that only returns the order it was started for', async () => {
    const run = suite.env.client.workflow.execute(idempotencyKeyClaim, {
      args: ['order-ord_x'],
      workflowId: `claim-${randomUUID()}`,
      taskQueue: suite.worker.taskQueue,
    });
    expect(await run).toBe('order-ord_x');
  });
});

describe('one run per order', () => {
  it('a second start of an order that already ran is refused instead of charging again', async () => {
    const order = unitOrder();
    const stubs = suite.worker.stub(`order-${order.orderId}`);
    await (await startOrderWorkflow(suite.env.client, suite.worker.taskQueue, order)).result();
    await expect(startOrderWorkflow(suite.env.client, suite.worker.taskQueue, order)).rejects.toBeInstanceOf(
      WorkflowExecutionAlreadyStartedError,
    );
    expect(stubs.inputsOf('confirmPaymentIntent')).toHaveLength(1);
  });
});

describe('Charge Card with the legacy Charges API (runs started before the payment-intents patch)', () => {
  function charge(chargeCard: OrderActivities['chargeCard']) {
    const order = { ...unitOrder(), currency: 'usd' };
    const workflowId = `order-${order.orderId}`;
    const stubs = suite.worker.stub(workflowId, { chargeCard });
    return {
      stubs,
      run: suite.env.client.workflow.execute(legacyCharge, { args: [order], workflowId, taskQueue: suite.worker.taskQueue }),
    };
  }

  it('a succeeded charge is paid', async () => {
    const { run } = charge(async () => ({ outcome: 'succeeded', chargeId: 'ch_legacy' }));
    expect(await run).toEqual({ status: 'paid', chargeId: 'ch_legacy' });
  });

  it('a decline is payment_failed with its decline code', async () => {
    const { run } = charge(async () => ({
      outcome: 'declined',
      chargeId: 'ch_declined',
      declineCode: 'insufficient_funds',
      reason: 'Your card has insufficient funds.',
    }));
    expect(await run).toEqual({
      status: 'payment_failed',
      reason: 'Your card has insufficient funds.',
      declineCode: 'insufficient_funds',
      cause: 'declined',
    });
  });

  it('Stripe unavailable through all four attempts (5/10/20 s apart): payment_failed, flagged uncertain', async () => {
    const { stubs, run } = charge(async () => {
      throw ApplicationFailure.retryable('Stripe is unavailable to charge the card (503)', STRIPE_UNAVAILABLE);
    });
    expect(await run).toMatchObject({ status: 'payment_failed', cause: 'uncertain', chargeUncertain: true });
    expect(stubs.calls).toHaveLength(4);
  });

  it('an outcome Stripe replays as unknown is uncertain; a rejected request is not', async () => {
    // One run at a time: the time-skipping server jumps its clock while a result is awaited.
    const unknown = charge(async () => {
      throw ApplicationFailure.nonRetryable('Stripe replays an error for this idempotency key', CHARGE_OUTCOME_UNKNOWN);
    });
    expect(await unknown.run).toMatchObject({ status: 'payment_failed', cause: 'uncertain', chargeUncertain: true });
    const rejected = charge(async () => {
      throw ApplicationFailure.nonRetryable('Stripe rejected the request to charge the card (401)', CHARGE_REJECTED);
    });
    expect(await rejected.run).toMatchObject({
      status: 'payment_failed',
      cause: 'rejected',
      chargeUncertain: false,
      reason: expect.stringContaining('401'),
    });
    expect(unknown.stubs.calls).toHaveLength(1);
    expect(rejected.stubs.calls).toHaveLength(1);
  });
});
