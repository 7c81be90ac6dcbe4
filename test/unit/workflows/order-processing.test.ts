/**
 * Every branch of the order workflow, with stubbed activities on a time-skipping test server: retry
 * backoffs, the reconcile window (23 h) and the customer's confirmation window pass at once. Assertions
 * are on what the run did: its result or failure, the activity calls it made, the `status` query, its history.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import type { OrderActivities } from '../../../src/activities/create-activities.js';
import { orderProcessing } from '../../../src/workflows/index.js';
import { type PaymentIntentState, type StripeEventHint } from '../../../src/domain/payment.js';
import type { OrderParams } from '../../../src/domain/order.js';
import { ORDER_OUTCOME } from '../../../src/domain/search-attributes.js';
import {
  CHARGE_OUTCOME_UNKNOWN,
  CHARGE_REJECTED,
  INVALID_ORDER,
  ORDER_BACKEND_MISCONFIGURED,
  ORDER_BACKEND_UNAVAILABLE,
  ORDER_STATUS_REJECTED,
  PAYMENT_ACTION_EMAIL_REJECTED,
  RECEIPT_REJECTED,
  REFUND_FAILED,
  REFUND_REFUSED,
  SLACK_REJECTED,
  STRIPE_UNAVAILABLE,
} from '../../../src/domain/failures.js';
import { startUnitWorker, unitOrder, useTimeSkippingWorker, type StubbedActivities, type UnitWorker } from '../../support/time-skipping.js';
import { statusQuery, stripeEventSignal } from '../../../src/workflows/names.js';

const suite = useTimeSkippingWorker();

/** Starts an order's run on the file's worker with the activities its branch needs. */
async function startOrder(order: OrderParams, overrides: Partial<OrderActivities> = {}, on: UnitWorker = suite.worker) {
  const workflowId = `order-${order.orderId}`;
  const stubs = on.stub(workflowId, overrides);
  const handle = await suite.env.client.workflow.start(orderProcessing, { args: [order], workflowId, taskQueue: on.taskQueue });
  return { stubs, handle };
}

/** Runs an order to its end (time skips while the result is awaited). */
async function runOrder(order: OrderParams, overrides: Partial<OrderActivities> = {}) {
  const { stubs, handle } = await startOrder(order, overrides);
  return { stubs, handle, result: await handle.result() };
}

/** Runs an order that must fail, and gives the root cause the run failed with. */
async function failOrder(order: OrderParams, overrides: Partial<OrderActivities> = {}) {
  const { stubs, handle } = await startOrder(order, overrides);
  const error = await handle.result().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return { stubs, handle, failure: cause as ApplicationFailure };
}

const statuses = (stubs: StubbedActivities) => stubs.inputsOf('updateOrderStatus').map((update) => update.status);
const alerts = (stubs: StubbedActivities) => stubs.inputsOf('notifyOps').map((alert) => alert.kind);
const names = (stubs: StubbedActivities) => stubs.calls.map((call) => call.name);
const countOf = (stubs: StubbedActivities, name: keyof OrderActivities) => stubs.calls.filter((call) => call.name === name).length;

/** An off-session confirmation the card's bank declined: the PaymentIntent is back in requires_payment_method. */
function declined(id: string, code = 'card_declined', declineCode?: string): PaymentIntentState {
  return { id, status: 'requires_payment_method', lastError: { code, ...(declineCode && { declineCode }), message: `Declined: ${code}` } };
}

const stripeUnavailable = () => ApplicationFailure.retryable('Stripe is unavailable to answer (503)', STRIPE_UNAVAILABLE);

/**
 * Every OrderOutcome the run wrote, in order, from its history, after checking that the last one is
 * what the server indexed (what the Web UI list and `temporal workflow list --query` filter on).
 */
async function outcomesWritten(handle: WorkflowHandle): Promise<unknown[]> {
  const { events } = await handle.fetchHistory();
  const written = (events ?? [])
    .map((event) => event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[ORDER_OUTCOME.name])
    .filter((payload) => payload !== undefined && payload !== null)
    .map((payload) => defaultPayloadConverter.fromPayload(payload));
  expect((await handle.describe()).typedSearchAttributes.get(ORDER_OUTCOME)).toBe(written.at(-1));
  return written;
}

/** The summaries the run's scheduled activities carry (the Web UI's step names), from its history. */
async function activitySummaries(handle: WorkflowHandle): Promise<unknown[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? [])
    .filter((event) => event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    .map((event) => event.userMetadata?.summary && defaultPayloadConverter.fromPayload(event.userMetadata.summary));
}

/** How many timers the run started, from its history. */
async function timersStarted(handle: WorkflowHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((event) => event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED).length;
}

describe('the paid path', () => {
  it('creates and confirms the PaymentIntent, emails the receipt and records the order paid; the status query says so', async () => {
    const order = unitOrder();
    const { stubs, handle, result } = await runOrder(order);

    expect(result).toEqual({
      orderId: order.orderId,
      status: 'paid',
      paymentIntentId: 'pi_stub',
      chargeId: 'ch_stub',
      receipt: 'sent',
      opsNotified: false,
    });
    expect(names(stubs)).toEqual(['parseOrder', 'createPaymentIntent', 'confirmPaymentIntent', 'sendReceipt', 'updateOrderStatus']);
    expect(stubs.inputsOf('updateOrderStatus')).toEqual([
      { orderId: order.orderId, status: 'paid', paymentIntentId: 'pi_stub', chargeId: 'ch_stub' },
    ]);
    expect(stubs.inputsOf('sendReceipt')[0]).toMatchObject({ order: { orderId: order.orderId }, chargeId: 'ch_stub' });
    expect(await handle.query(statusQuery)).toEqual({
      step: 'completed',
      orderId: order.orderId,
      status: 'paid',
      paymentIntentId: 'pi_stub',
      chargeId: 'ch_stub',
      receipt: 'sent',
      opsNotified: false,
    });
    expect(await outcomesWritten(handle)).toEqual(['paid']);
    // Parse Order is a local activity: recorded as a marker, not scheduled.
    expect(await activitySummaries(handle)).toEqual([
      'Charge Card: create PaymentIntent',
      'Charge Card: confirm PaymentIntent',
      'Send Receipt',
      'Update Order Status',
    ]);
  });

  it('a receipt Resend refuses: the order is still paid, ops are told to send it by hand', async () => {
    const order = unitOrder();
    const { stubs, result } = await runOrder(order, {
      sendReceipt: async () => {
        throw ApplicationFailure.nonRetryable('Resend rejected the receipt (422 validation_error)', RECEIPT_REJECTED);
      },
    });
    expect(result).toMatchObject({
      status: 'paid',
      receipt: 'failed',
      opsNotified: true,
      reason: expect.stringContaining('Receipt not sent'),
    });
    expect(alerts(stubs)).toEqual(['receipt-failed']);
    expect(statuses(stubs)).toEqual(['paid']);
  });

  it('an order backend that is down for a while: Update Order Status is retried until it accepts', async () => {
    let attempts = 0;
    const { stubs, result } = await runOrder(unitOrder(), {
      updateOrderStatus: async () => {
        attempts += 1;
        if (attempts < 6) throw ApplicationFailure.retryable('Order backend answered 503', ORDER_BACKEND_UNAVAILABLE);
      },
    });
    expect(result.status).toBe('paid');
    expect(countOf(stubs, 'updateOrderStatus')).toBe(6);
  });
});

describe('orders that fail before any charge', () => {
  it('an invalid order fails the run as InvalidOrder, without retry, and charges nothing', async () => {
    const order = unitOrder({ amount: -5 });
    const { stubs, handle, failure } = await failOrder(order);
    expect(failure.type).toBe(INVALID_ORDER);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details?.[0]).toMatchObject({ field: 'amount' });
    expect(names(stubs)).toEqual(['parseOrder']);
    expect(await handle.query(statusQuery)).toMatchObject({ step: 'failed', error: expect.stringContaining('Invalid order') });
    expect(await outcomesWritten(handle)).toEqual(['invalid']);
  });

  it('a customer with no payment method: payment_failed, nothing created, ops told', async () => {
    const { stubs, result } = await runOrder(unitOrder({ customerId: 'cus_no_payment_method' }), {
      createPaymentIntent: async () => ({ outcome: 'no_payment_method', reason: 'no_payment_method: no default payment method' }),
    });
    expect(result).toMatchObject({
      status: 'payment_failed',
      receipt: 'skipped',
      opsNotified: true,
      reason: expect.stringContaining('no_payment_method'),
    });
    expect(countOf(stubs, 'confirmPaymentIntent')).toBe(0);
    expect(alerts(stubs)).toEqual(['payment-failed']);
    expect(statuses(stubs)).toEqual(['payment_failed']);
  });

  it('Stripe refuses to create the PaymentIntent: payment_failed at once, Stripe is not asked', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      createPaymentIntent: async () => {
        throw ApplicationFailure.nonRetryable('Stripe rejected the request (400 parameter_invalid_integer)', CHARGE_REJECTED);
      },
    });
    expect(result).toMatchObject({ status: 'payment_failed', reason: expect.stringContaining('parameter_invalid_integer') });
    expect(names(stubs)).toEqual(['parseOrder', 'createPaymentIntent', 'notifyOps', 'updateOrderStatus']);
  });

  it('Stripe unavailable for all four create attempts (5/10/20 s apart), and no PaymentIntent exists: payment_failed', async () => {
    const order = unitOrder();
    const { stubs, result } = await runOrder(order, {
      createPaymentIntent: async () => {
        throw stripeUnavailable();
      },
      lookUpPayment: async () => null,
    });
    expect(countOf(stubs, 'createPaymentIntent')).toBe(4);
    expect(stubs.inputsOf('lookUpPayment')).toEqual([{ orderId: order.orderId, customerId: 'cus_abc', since: expect.any(Number) }]);
    expect(result).toMatchObject({ status: 'payment_failed', reason: expect.stringContaining('nothing was charged') });
    expect(statuses(stubs)).toEqual(['payment_failed']);
  });
});

describe('settling on what Stripe shows', () => {
  it('a card declined: the PaymentIntent is cancelled so it can never succeed later; payment_failed with the decline code', async () => {
    const { stubs, handle, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId }) => declined(paymentIntentId, 'card_declined', 'insufficient_funds'),
    });
    expect(await outcomesWritten(handle)).toEqual(['payment_failed']);
    expect(result).toMatchObject({
      status: 'payment_failed',
      paymentIntentId: 'pi_stub',
      declineCode: 'insufficient_funds',
      receipt: 'skipped',
      opsNotified: true,
    });
    expect(stubs.inputsOf('cancelPaymentIntent')).toEqual([{ orderId: expect.any(String), paymentIntentId: 'pi_stub' }]);
    expect(stubs.inputsOf('notifyOps')[0]).toMatchObject({
      kind: 'payment-failed',
      declineCode: 'insufficient_funds',
      paymentIntentId: 'pi_stub',
    });
    expect(statuses(stubs)).toEqual(['payment_failed']);
  });

  it('a decline Slack cannot be told of: the order is still recorded, opsNotified false', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId }) => declined(paymentIntentId),
      notifyOps: async () => {
        throw ApplicationFailure.nonRetryable('Slack rejected the alert: channel_not_found', SLACK_REJECTED);
      },
    });
    expect(result).toMatchObject({ status: 'payment_failed', opsNotified: false });
    expect(statuses(stubs)).toEqual(['payment_failed']);
  });

  it("a created PaymentIntent whose answer was lost is found by listing the customer's, then confirmed as planned", async () => {
    let creates = 0;
    const { stubs, result } = await runOrder(unitOrder(), {
      createPaymentIntent: async () => {
        creates += 1;
        throw creates === 1
          ? stripeUnavailable()
          : ApplicationFailure.nonRetryable('Stripe refused the idempotency key', CHARGE_OUTCOME_UNKNOWN);
      },
      lookUpPayment: async () => ({ id: 'pi_found', status: 'requires_confirmation' }),
      confirmPaymentIntent: async ({ paymentIntentId }) => ({ id: paymentIntentId, status: 'succeeded', chargeId: 'ch_found' }),
    });
    expect(result).toMatchObject({ status: 'paid', paymentIntentId: 'pi_found', chargeId: 'ch_found' });
    expect(stubs.inputsOf('confirmPaymentIntent')).toEqual([{ orderId: expect.any(String), paymentIntentId: 'pi_found' }]);
    expect(names(stubs).slice(0, 5)).toEqual([
      'parseOrder',
      'createPaymentIntent',
      'createPaymentIntent',
      'lookUpPayment',
      'confirmPaymentIntent',
    ]);
  });

  it('a confirmation whose outcome is unknown: Stripe is asked by ID, the card is not charged again', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async () => {
        throw ApplicationFailure.nonRetryable('Stripe replays an error for this idempotency key (500)', CHARGE_OUTCOME_UNKNOWN);
      },
      lookUpPayment: async ({ paymentIntentId }) => ({ id: paymentIntentId!, status: 'succeeded', chargeId: 'ch_replayed' }),
    });
    expect(result).toMatchObject({ status: 'paid', chargeId: 'ch_replayed' });
    expect(countOf(stubs, 'confirmPaymentIntent')).toBe(1);
    expect(stubs.inputsOf('lookUpPayment')[0]).toMatchObject({ paymentIntentId: 'pi_stub' });
  });

  const burnt = () => ApplicationFailure.nonRetryable('Stripe replays an error for this idempotency key (500)', CHARGE_OUTCOME_UNKNOWN);

  it('a confirmation Stripe burnt (still requires_confirmation): confirmed again under the next key, and paid', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId, keyGeneration }) => {
        if (keyGeneration === undefined) throw burnt();
        return { id: paymentIntentId, status: 'succeeded', chargeId: 'ch_second_key' };
      },
      lookUpPayment: async ({ paymentIntentId }) => ({ id: paymentIntentId!, status: 'requires_confirmation' }),
    });
    expect(result).toMatchObject({ status: 'paid', chargeId: 'ch_second_key' });
    expect(stubs.inputsOf('confirmPaymentIntent').map((input) => input.keyGeneration)).toEqual([undefined, 2]);
    expect(countOf(stubs, 'cancelPaymentIntent')).toBe(0);
  });

  it('every confirmation key burnt: after the third, the PaymentIntent is cancelled and the order is payment_failed', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async () => {
        throw burnt();
      },
      lookUpPayment: async ({ paymentIntentId }) => ({ id: paymentIntentId!, status: 'requires_confirmation' }),
    });
    expect(result).toMatchObject({ status: 'payment_failed' });
    expect(stubs.inputsOf('confirmPaymentIntent').map((input) => input.keyGeneration)).toEqual([undefined, 2, 3]);
    expect(countOf(stubs, 'cancelPaymentIntent')).toBe(1);
  });

  it('a create Stripe burnt (its record shows no PaymentIntent): created again under the next key, confirmed, and paid', async () => {
    let creates = 0;
    const { stubs, result } = await runOrder(unitOrder(), {
      createPaymentIntent: async () => {
        if (++creates === 1) throw burnt();
        return { outcome: 'created', paymentIntent: { id: 'pi_second_key', status: 'requires_confirmation' } };
      },
      lookUpPayment: async () => null,
    });
    expect(result).toMatchObject({ status: 'paid', paymentIntentId: 'pi_second_key' });
    expect(names(stubs).slice(1, 5)).toEqual(['createPaymentIntent', 'lookUpPayment', 'createPaymentIntent', 'confirmPaymentIntent']);
    expect(stubs.inputsOf('confirmPaymentIntent')).toEqual([{ orderId: expect.any(String), paymentIntentId: 'pi_second_key' }]);
  });

  it('an order Stripe shows paid before this run: recorded paid without a confirmation or a second receipt', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      createPaymentIntent: async () => ({
        outcome: 'paid_before',
        paymentIntent: { id: 'pi_earlier', status: 'succeeded', chargeId: 'ch_earlier' },
      }),
    });
    expect(result).toMatchObject({
      status: 'paid',
      paymentIntentId: 'pi_earlier',
      chargeId: 'ch_earlier',
      receipt: 'skipped',
      reason: expect.stringContaining('Paid before this run by PaymentIntent pi_earlier: not charged again'),
    });
    expect(names(stubs)).toEqual(['parseOrder', 'createPaymentIntent', 'updateOrderStatus']);
    expect(statuses(stubs)).toEqual(['paid']);
  });

  it.each([
    [{ amountRefunded: 4999, amountPaid: 4999, disputed: false }, 'refunded', { amountRefunded: 4999 }],
    [{ amountRefunded: 1000, amountPaid: 4999, disputed: false }, 'partially_refunded', { amountRefunded: 1000 }],
    [{ amountRefunded: 0, amountPaid: 4999, disputed: true }, 'disputed', {}],
  ] as const)('paid before this run and %o since: recorded %s, as Stripe holds it, never paid', async (sinceThen, recorded, extra) => {
    const { stubs, handle, result } = await runOrder(unitOrder(), {
      createPaymentIntent: async () => ({
        outcome: 'paid_before',
        paymentIntent: { id: 'pi_earlier', status: 'succeeded', chargeId: 'ch_earlier' },
        sinceThen,
      }),
    });
    expect(result).toMatchObject({
      status: recorded,
      receipt: 'skipped',
      reason: expect.stringContaining(`${recorded.replace('_', ' ')} since`),
    });
    expect(stubs.inputsOf('updateOrderStatus')).toEqual([
      { orderId: expect.any(String), status: recorded, paymentIntentId: 'pi_earlier', chargeId: 'ch_earlier', ...extra },
    ]);
    expect(await outcomesWritten(handle)).toEqual([recorded]);
  });

  it('paid before this run, and its backend refuses the order now: never refunded (the goods may have gone), ops told', async () => {
    const { stubs, failure } = await failOrder(unitOrder(), {
      createPaymentIntent: async () => ({
        outcome: 'paid_before',
        paymentIntent: { id: 'pi_earlier', status: 'succeeded', chargeId: 'ch_earlier' },
        sinceThen: { amountRefunded: 0, amountPaid: 4999, disputed: false },
      }),
      updateOrderStatus: async () => {
        throw ApplicationFailure.nonRetryable('Order backend answered 410', ORDER_STATUS_REJECTED);
      },
    });
    expect(failure.type).toBe(ORDER_STATUS_REJECTED);
    expect(countOf(stubs, 'refundPayment')).toBe(0);
    expect(alerts(stubs)).toEqual(['order-unrecorded']);
  });

  it("a PaymentIntent that succeeds while the run cancels it: Stripe's answer (succeeded) decides, the order is paid", async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async () => {
        throw ApplicationFailure.nonRetryable('Stripe replays an error for this idempotency key (500)', CHARGE_OUTCOME_UNKNOWN);
      },
      lookUpPayment: async ({ paymentIntentId }) => ({ id: paymentIntentId!, status: 'requires_capture' }),
      cancelPaymentIntent: async ({ paymentIntentId }) => ({ id: paymentIntentId, status: 'succeeded', chargeId: 'ch_late' }),
    });
    expect(result).toMatchObject({ status: 'paid', chargeId: 'ch_late', receipt: 'sent' });
    expect(countOf(stubs, 'cancelPaymentIntent')).toBe(1);
  });

  it('Stripe cannot answer for a while: the order is payment_pending, ops hear it waits and then that it settled', async () => {
    let lookUps = 0;
    const { stubs, handle, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async () => {
        throw stripeUnavailable();
      },
      lookUpPayment: async ({ paymentIntentId }) => {
        lookUps += 1;
        if (lookUps <= 9) throw stripeUnavailable(); // three questions of three attempts each
        return { id: paymentIntentId!, status: 'succeeded', chargeId: 'ch_after_wait' };
      },
    });
    expect(result).toMatchObject({ status: 'paid', chargeId: 'ch_after_wait', receipt: 'sent', opsNotified: true });
    expect(result).not.toHaveProperty('reason');
    expect(statuses(stubs)).toEqual(['payment_pending', 'paid']);
    expect(await outcomesWritten(handle)).toEqual(['payment_pending', 'paid']);
    expect(alerts(stubs)).toEqual(['payment-waiting', 'payment-settled']);
    // The run waited between its questions on durable timers (5, 10 and 20 s), not inside an activity.
    expect(await timersStarted(handle)).toBe(3);
  });

  it('Stripe has not decided after the whole 23 h reconcile window: the order stays payment_pending, ops are told what to check', async () => {
    const startedAt = Date.now();
    const { stubs, handle, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId }) => ({ id: paymentIntentId, status: 'processing' }),
      lookUpPayment: async ({ paymentIntentId }) => ({ id: paymentIntentId!, status: 'processing' }),
    });
    expect(result).toMatchObject({
      status: 'payment_pending',
      paymentIntentId: 'pi_stub',
      reason: expect.stringContaining('has not decided'),
    });
    expect(statuses(stubs)).toEqual(['payment_pending']);
    expect(await outcomesWritten(handle)).toEqual(['payment_pending']);
    expect(alerts(stubs)).toEqual(['payment-waiting', 'payment-unresolved']);
    expect(countOf(stubs, 'cancelPaymentIntent')).toBe(0);
    // Backoff 5 s doubling to 15 min over 23 h: about a hundred questions, each after a durable timer.
    const timers = await timersStarted(handle);
    expect(timers).toBeGreaterThan(80);
    expect(countOf(stubs, 'lookUpPayment')).toBe(timers);
    expect(Date.now() - startedAt).toBeLessThan(25_000);
  });
});

describe('a card that needs its holder (SCA)', () => {
  const needsHolder = (id: string) => declined(id, 'authentication_required');

  it('asks the customer by email, waits (payment_pending) and is woken by a Stripe event to find the payment succeeded', async () => {
    let customerConfirmed = false;
    const order = unitOrder();
    const { stubs, handle } = await startOrder(order, {
      confirmPaymentIntent: async ({ paymentIntentId }) => needsHolder(paymentIntentId),
      lookUpPayment: async ({ paymentIntentId }) =>
        customerConfirmed ? { id: paymentIntentId!, status: 'succeeded', chargeId: 'ch_customer' } : needsHolder(paymentIntentId!),
    });
    await expect.poll(async () => (await handle.query(statusQuery)).step, { timeout: 15_000, interval: 100 }).toBe('customer-action');
    expect(await handle.query(statusQuery)).toMatchObject({
      status: 'payment_pending',
      reason: expect.stringContaining('confirm the payment'),
    });
    expect(stubs.inputsOf('sendPaymentAction')).toEqual([
      { order: expect.objectContaining({ orderId: order.orderId }), until: expect.any(String) },
    ]);

    customerConfirmed = true;
    await handle.signal<[StripeEventHint]>(stripeEventSignal, {
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      paymentIntentId: 'pi_stub',
    });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', chargeId: 'ch_customer', receipt: 'sent', opsNotified: false });
    expect(statuses(stubs)).toEqual(['payment_pending', 'paid']);
    expect(alerts(stubs)).toEqual([]);
  });

  it('the customer never confirms within PAYMENT_ACTION_TIMEOUT (23 h): the PaymentIntent is cancelled, payment_failed', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId }) => needsHolder(paymentIntentId),
      lookUpPayment: async ({ paymentIntentId }) => needsHolder(paymentIntentId!),
    });
    expect(result).toMatchObject({ status: 'payment_failed', reason: expect.stringContaining('did not confirm the payment within 23 h') });
    expect(countOf(stubs, 'sendPaymentAction')).toBe(1);
    expect(countOf(stubs, 'cancelPaymentIntent')).toBe(1);
    expect(statuses(stubs)).toEqual(['payment_pending', 'payment_failed']);
    expect(alerts(stubs)).toEqual(['payment-failed']);
  });

  it('the customer cannot be emailed: ops are told the payment waits on a customer who was not asked', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId }) => needsHolder(paymentIntentId),
      lookUpPayment: async ({ paymentIntentId }) => needsHolder(paymentIntentId!),
      sendPaymentAction: async () => {
        throw ApplicationFailure.nonRetryable('Resend rejected the payment confirmation email (422)', PAYMENT_ACTION_EMAIL_REJECTED);
      },
    });
    expect(result.status).toBe('payment_failed');
    expect(alerts(stubs)).toEqual(['payment-waiting', 'payment-failed']);
    expect(stubs.inputsOf('notifyOps')[0]).toMatchObject({ reason: expect.stringContaining('the email asking them could not be sent') });
  });
});

const succeededRefund = { refundId: 're_stub', amount: 4999, currency: 'usd', status: 'succeeded', amountRefunded: 4999, amountPaid: 4999 };

describe('a paid order the backend refuses for good', () => {
  const refusesPaid: Partial<OrderActivities> = {
    updateOrderStatus: async ({ status }) => {
      if (status === 'paid') throw ApplicationFailure.nonRetryable('Order backend answered 409', ORDER_STATUS_REJECTED);
    },
  };

  it('is refunded in full, ops are told, and the backend records it refunded', async () => {
    const order = unitOrder();
    const { stubs, handle, result } = await runOrder(order, refusesPaid);
    expect(await outcomesWritten(handle)).toEqual(['paid', 'refunded']);
    expect(result).toMatchObject({
      status: 'refunded',
      paymentIntentId: 'pi_stub',
      refund: { refundId: 're_stub', amount: 4999, backendRecorded: true, opsNotified: true },
      reason: expect.stringContaining('refused to record the payment'),
    });
    expect(stubs.inputsOf('refundPayment')).toEqual([
      { orderId: order.orderId, paymentIntentId: 'pi_stub', reason: expect.stringContaining('409') },
    ]);
    expect(statuses(stubs)).toEqual(['paid', 'refunded']);
    expect(alerts(stubs)).toEqual(['order-refunded']);
  });

  it('a refunded record the backend answers as misconfigured is asked again on the durable backoff, ops told once', async () => {
    let refundedAnswers = 0;
    const { stubs, handle, result } = await runOrder(unitOrder(), {
      updateOrderStatus: async ({ status }) => {
        if (status === 'paid') throw ApplicationFailure.nonRetryable('Order backend answered 409', ORDER_STATUS_REJECTED);
        refundedAnswers += 1;
        if (refundedAnswers <= 2) throw ApplicationFailure.nonRetryable('Order backend answered 401', ORDER_BACKEND_MISCONFIGURED);
      },
    });
    expect(result).toMatchObject({ status: 'refunded', refund: { backendRecorded: true } });
    expect(statuses(stubs)).toEqual(['paid', 'refunded', 'refunded', 'refunded']);
    expect(await timersStarted(handle)).toBe(2);
    expect(alerts(stubs)).toEqual(['order-refunded', 'backend-misconfigured']);
    expect(stubs.inputsOf('notifyOps')[1]).toMatchObject({ status: 'refunded', reason: 'Order backend answered 401' });
  });

  it('a refunded record the backend refuses too: the refund stands, ops are told to set the order by hand', async () => {
    const { stubs, result } = await runOrder(unitOrder(), {
      updateOrderStatus: async () => {
        throw ApplicationFailure.nonRetryable('Order backend answered 409', ORDER_STATUS_REJECTED);
      },
    });
    expect(result).toMatchObject({ status: 'refunded', refund: { backendRecorded: false } });
    expect(alerts(stubs)).toEqual(['order-refunded', 'order-unrecorded']);
    expect(stubs.inputsOf('notifyOps')[1]).toMatchObject({ status: 'refunded' });
  });

  it('a refund Stripe answers pending is waited for: recorded refunded only once Stripe shows it succeeded', async () => {
    const order = unitOrder();
    let asked = 0;
    const { stubs, handle, result } = await runOrder(order, {
      ...refusesPaid,
      refundPayment: async () => ({ ...succeededRefund, status: 'pending' }),
      lookUpRefund: async () => ({ ...succeededRefund, status: ++asked < 3 ? 'pending' : 'succeeded' }),
    });
    expect(result).toMatchObject({ status: 'refunded', refund: { refundId: 're_stub', backendRecorded: true } });
    expect(countOf(stubs, 'lookUpRefund')).toBe(3);
    expect(await timersStarted(handle)).toBe(3);
    expect(statuses(stubs)).toEqual(['paid', 'refunded']);
    expect(stubs.inputsOf('updateOrderStatus')[1]).toMatchObject({ status: 'refunded', amountRefunded: 4999 });
    expect(stubs.inputsOf('notifyOps')).toEqual([expect.objectContaining({ kind: 'order-refunded', refundStatus: 'succeeded' })]);
  });

  it('a pending refund Stripe then fails: never recorded refunded; ops are told the money was not returned; the run fails RefundFailed', async () => {
    const { stubs, failure } = await failOrder(unitOrder(), {
      ...refusesPaid,
      refundPayment: async () => ({ ...succeededRefund, status: 'pending' }),
      lookUpRefund: async () => ({ ...succeededRefund, status: 'failed', failureReason: 'expired_or_canceled_card', amountRefunded: 0 }),
    });
    expect(failure.type).toBe(REFUND_FAILED);
    expect(failure.message).toContain('Stripe shows refund re_stub failed (expired_or_canceled_card): the money was not returned');
    expect(statuses(stubs)).toEqual(['paid']);
    expect(alerts(stubs)).toEqual(['refund-failed']);
  });

  it('a refund Stripe refuses fails the run as RefundRefused, after telling ops', async () => {
    const { stubs, failure } = await failOrder(unitOrder(), {
      ...refusesPaid,
      refundPayment: async () => {
        throw ApplicationFailure.nonRetryable('Stripe refused the refund (charge_disputed)', REFUND_REFUSED);
      },
    });
    expect(failure.type).toBe(REFUND_REFUSED);
    expect(failure.message).toContain('is paid (PaymentIntent pi_stub) but its backend refused it and the refund failed');
    expect(alerts(stubs)).toEqual(['refund-failed']);
  });

  it("a refused payment_failed record fails the run saying what the order's true status is, after telling ops", async () => {
    const order = unitOrder();
    const { stubs, failure } = await failOrder(order, {
      confirmPaymentIntent: async ({ paymentIntentId }) => declined(paymentIntentId),
      updateOrderStatus: async () => {
        throw ApplicationFailure.nonRetryable('Order backend answered 409', ORDER_STATUS_REJECTED);
      },
    });
    expect(failure.type).toBe(ORDER_STATUS_REJECTED);
    expect(failure.message).toBe(
      `Order ${order.orderId} is payment_failed but its record could not be updated: Order backend answered 409`,
    );
    expect(alerts(stubs)).toEqual(['payment-failed', 'order-unrecorded']);
  });
});

describe('a backend that answers as misconfigured (401, 404, 400...)', () => {
  const misconfigured = () =>
    ApplicationFailure.nonRetryable("Order backend answered 401; check the worker's API_TOKEN", ORDER_BACKEND_MISCONFIGURED);

  it('is never taken for a refusal: ops are told once, the run asks again on a durable backoff until the backend records the order', async () => {
    let answers = 0;
    const { stubs, result } = await runOrder(unitOrder(), {
      updateOrderStatus: async () => {
        answers += 1;
        if (answers <= 3) throw misconfigured();
      },
    });
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent' });
    expect(countOf(stubs, 'refundPayment')).toBe(0);
    expect(statuses(stubs)).toEqual(['paid', 'paid', 'paid', 'paid']);
    expect(alerts(stubs)).toEqual(['backend-misconfigured']);
    expect(stubs.inputsOf('notifyOps')[0]).toMatchObject({ status: 'paid', reason: expect.stringContaining('API_TOKEN') });
  });

  it('still misconfigured after a week: the run fails without refunding, and ops are told the backend does not know', async () => {
    const { stubs, handle, failure } = await failOrder(unitOrder(), {
      updateOrderStatus: async () => {
        throw misconfigured();
      },
    });
    expect(failure.type).toBe(ORDER_BACKEND_MISCONFIGURED);
    expect(countOf(stubs, 'refundPayment')).toBe(0);
    expect(alerts(stubs)).toEqual(['backend-misconfigured', 'order-unrecorded']);
    // 1 min doubling to 1 h: about 170 asks in 7 days, not one every second.
    expect(countOf(stubs, 'updateOrderStatus')).toBeGreaterThan(100);
    expect(countOf(stubs, 'updateOrderStatus')).toBeLessThan(250);
    expect(await timersStarted(handle)).toBe(countOf(stubs, 'updateOrderStatus') - 1);
  });

  it('a backend unavailable for its whole 7-day window: ops are told the order is unrecorded before the run fails', async () => {
    const { stubs, failure } = await failOrder(unitOrder(), {
      updateOrderStatus: async () => {
        throw ApplicationFailure.nonRetryable('Order backend unreachable', ORDER_BACKEND_UNAVAILABLE);
      },
    });
    expect(failure.type).toBe(ORDER_BACKEND_UNAVAILABLE);
    expect(alerts(stubs)).toEqual(['order-unrecorded']);
  });
});

describe('cancellation', () => {
  it('before the charge: nothing is charged, the order is marked cancelled, the run ends cancelled', async () => {
    // No worker polls this queue until the cancel request is queued: the run sees it in its first task.
    const later = `unit-later-${randomUUID()}`;
    const order = unitOrder();
    const workflowId = `order-${order.orderId}`;
    const handle = await suite.env.client.workflow.start(orderProcessing, { args: [order], workflowId, taskQueue: later });
    await handle.cancel();
    const lateWorker = await startUnitWorker(suite.env, later);
    try {
      const stubs = lateWorker.stub(workflowId);
      const error = await handle.result().catch((failure: unknown) => failure);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect(await handle.query(statusQuery)).toMatchObject({ step: 'cancelled', status: 'cancelled', cancellation: 'honoured' });
      expect(names(stubs)).toEqual(['parseOrder', 'updateOrderStatus']);
      expect(statuses(stubs)).toEqual(['cancelled']);
      expect(await outcomesWritten(handle)).toEqual(['cancelled']);
    } finally {
      await lateWorker.shutdown();
    }
  });

  it('once the charge is in flight: ignored, the run records the true payment outcome', async () => {
    let release!: () => void;
    const confirmation = new Promise<void>((resolve) => (release = resolve));
    const { stubs, handle } = await startOrder(unitOrder(), {
      confirmPaymentIntent: async ({ paymentIntentId }) => {
        await confirmation;
        return { id: paymentIntentId, status: 'succeeded', chargeId: 'ch_stub' };
      },
    });
    await expect.poll(() => countOf(stubs, 'confirmPaymentIntent'), { timeout: 15_000, interval: 50 }).toBe(1);
    await handle.cancel();
    release();
    expect(await handle.result()).toMatchObject({ status: 'paid', receipt: 'sent' });
    expect(await handle.query(statusQuery)).toMatchObject({ step: 'completed', cancellation: 'too-late' });
    expect(statuses(stubs)).toEqual(['paid']);
  });
});
