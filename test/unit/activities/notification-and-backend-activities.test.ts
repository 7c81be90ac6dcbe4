/**
 * Parse Order, the Resend and Slack activities and Update Order Status, through MockActivityEnvironment,
 * with the real SDK clients (and fetch) pointed at the in-process stand-ins: what reached the stand-in,
 * and which failures Temporal may retry.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../../src/activities/create-activities.js';
import { loadProviderConfig } from '../../../src/config/worker-settings.js';
import type { Order } from '../../../src/domain/order.js';
import {
  INVALID_ORDER,
  ORDER_BACKEND_MISCONFIGURED,
  ORDER_BACKEND_UNAVAILABLE,
  ORDER_STATUS_REJECTED,
  PAYMENT_ACTION_EMAIL_REJECTED,
  RECEIPT_REJECTED,
  RESEND_UNAVAILABLE,
  SLACK_REJECTED,
  SLACK_UNAVAILABLE,
} from '../../../src/domain/failures.js';
import { freePort } from '../../../dev/processes.js';
import { failureOf, runActivity, useSandboxActivities } from '../../support/mock-activity.js';

const suite = useSandboxActivities();

function order(overrides: Partial<Order> = {}): Order {
  return {
    orderId: `ord_act_${randomUUID().slice(0, 8)}`,
    customerId: 'cus_abc',
    amount: 4999,
    currency: 'usd',
    email: 'customer@example.com',
    ...overrides,
  };
}

describe('parseOrder', () => {
  it('normalises a valid order; an invalid one is a non-retryable InvalidOrder naming the field', async () => {
    const o = order({ currency: 'USD' });
    expect(await runActivity(suite.activities.parseOrder, o, o)).toMatchObject({ orderId: o.orderId, currency: 'usd' });
    const failure = await failureOf(runActivity(suite.activities.parseOrder, { ...o, email: 'not an email' }, o));
    expect(failure).toMatchObject({ type: INVALID_ORDER, nonRetryable: true, details: [{ field: 'email' }] });
  });
});

describe('sendReceipt (Resend)', () => {
  it('emails the customer under the key order-<orderId>/receipt, the amount in its currency', async () => {
    const o = order({ amount: 500, currency: 'jpy' });
    const { emailId } = await runActivity(suite.activities.sendReceipt, { order: o, chargeId: 'ch_1' }, o);
    const email = suite.sandbox.resend.emails.find((sent) => sent.id === emailId);
    expect(email).toMatchObject({
      to: ['customer@example.com'],
      subject: `Receipt for order ${o.orderId}`,
      idempotencyKey: `order-${o.orderId}/receipt`,
    });
    expect(email?.text).toContain('¥500');
  });

  it.each([429, 500, 503])('Resend answering %i: retryable ResendUnavailable', async (status) => {
    const o = order();
    suite.sandbox.resend.failNext(1, { status });
    expect(await failureOf(runActivity(suite.activities.sendReceipt, { order: o, chargeId: 'ch_1' }, o))).toMatchObject({
      type: RESEND_UNAVAILABLE,
      nonRetryable: false,
    });
  });

  it('Resend refusing the email (422, a bad key): non-retryable ReceiptRejected', async () => {
    const o = order();
    suite.sandbox.resend.failNext(1, { status: 422 });
    expect(await failureOf(runActivity(suite.activities.sendReceipt, { order: o, chargeId: 'ch_1' }, o))).toMatchObject({
      type: RECEIPT_REJECTED,
      nonRetryable: true,
    });
    const wrongKey = createActivities(loadProviderConfig({ ...suite.sandbox.env, RESEND_API_KEY: 'not-a-resend-key' }));
    const failure = await failureOf(runActivity(wrongKey.sendReceipt, { order: o, chargeId: 'ch_1' }, o));
    expect(failure).toMatchObject({ type: RECEIPT_REJECTED, nonRetryable: true, message: expect.stringContaining('401') });
  });
});

describe('sendPaymentAction (Resend)', () => {
  it("asks the customer to confirm, with the merchant's link for the order, under order-<orderId>/payment-action", async () => {
    const o = order();
    const { emailId } = await runActivity(suite.activities.sendPaymentAction, { order: o, until: '2026-12-02T08:00:00.000Z' }, o);
    const email = suite.sandbox.resend.emails.find((sent) => sent.id === emailId);
    expect(email?.idempotencyKey).toBe(`order-${o.orderId}/payment-action`);
    expect(email?.text).toContain(`/sandbox/pay/${o.orderId}`);
    expect(email?.text).toContain('2026-12-02T08:00:00.000Z');
  });

  it('a refused email is non-retryable PaymentActionEmailRejected', async () => {
    const o = order();
    suite.sandbox.resend.failNext(1, { status: 422 });
    const failure = await failureOf(runActivity(suite.activities.sendPaymentAction, { order: o, until: '2026-12-02T08:00:00.000Z' }, o));
    expect(failure).toMatchObject({ type: PAYMENT_ACTION_EMAIL_REJECTED, nonRetryable: true });
  });
});

describe('notifyOps (Slack)', () => {
  it("posts the alert to the channel: order, customer, amount and reason, never the customer's email", async () => {
    const o = order();
    const posted = await runActivity(
      suite.activities.notifyOps,
      { kind: 'payment-failed', order: o, reason: 'Your card was declined.', declineCode: 'card_declined' },
      o,
    );
    expect(posted.channel).toBe('C0PAYMENTS');
    const message = suite.sandbox.slack.messages.find((sent) => sent.ts === posted.ts);
    expect(message?.channel).toBe('#payments-alerts');
    expect(message?.text).toContain(`order ${o.orderId} (customer cus_abc, $49.99)`);
    expect(message?.text).toContain('card_declined');
    expect(message?.text).not.toContain(o.email);
  });

  it('a misconfigured backend: says it is not a refusal; an operator refund names the order by ID alone', async () => {
    const o = order();
    const alert = { kind: 'backend-misconfigured', status: 'refunded', reason: 'Order backend answered 401', until: '2030-01-08' } as const;
    const texts = [];
    for (const named of [o, { orderId: o.orderId }]) {
      const posted = await runActivity(suite.activities.notifyOps, { ...alert, order: named }, o);
      texts.push(suite.sandbox.slack.messages.find((sent) => sent.ts === posted.ts)?.text);
    }
    expect(texts[0]).toContain(`record order ${o.orderId} (customer cus_abc, $49.99) as refunded: Order backend answered 401`);
    expect(texts[1]).toContain(`record order ${o.orderId} as refunded`);
    for (const text of texts) expect(text).toContain('not a refusal: nothing is refunded. The run asks again until 2030-01-08');
  });

  it('a refund with no known outcome: names the order and the PaymentIntent, and says to check Stripe before refunding again', async () => {
    const o = order();
    const alert = {
      kind: 'refund-outcome-unknown',
      orderId: o.orderId,
      paymentIntentId: 'pi_x',
      reason: 'Stripe made refund re_x',
    } as const;
    const posted = await runActivity(suite.activities.notifyOps, alert, o);
    const text = suite.sandbox.slack.messages.find((sent) => sent.ts === posted.ts)?.text;
    expect(text).toContain(`The refund of order ${o.orderId} (PaymentIntent pi_x) has no known outcome: Stripe made refund re_x`);
    expect(text).toContain('before refunding again');
  });

  it("Slack's ok:false errors: a permanent one (channel_not_found) is non-retryable SlackRejected; a transient one is retryable", async () => {
    const o = order();
    const alert = { kind: 'payment-settled', order: o } as const;
    const elsewhere = createActivities(loadProviderConfig({ ...suite.sandbox.env, SLACK_CHANNEL: '#nowhere' }));
    const failure = await failureOf(runActivity(elsewhere.notifyOps, alert, o));
    expect(failure).toMatchObject({ type: SLACK_REJECTED, nonRetryable: true, message: expect.stringContaining('channel_not_found') });
    suite.sandbox.slack.failNext(1, { status: 200 }); // ok: false, internal_error
    expect(await failureOf(runActivity(suite.activities.notifyOps, alert, o))).toMatchObject({
      type: SLACK_UNAVAILABLE,
      nonRetryable: false,
    });
  });

  it('Slack rate-limiting the channel (429, Retry-After): the alert waits its turn within its attempt, then is posted', async () => {
    const o = order();
    const alert = { kind: 'payment-settled', order: o } as const;
    const { slack } = suite.sandbox;
    slack.postMessageBurst = 1;
    try {
      await runActivity(suite.activities.notifyOps, alert, o);
      const posted = await runActivity(suite.activities.notifyOps, alert, { ...o, startToCloseTimeoutMs: 30_000 });
      expect(slack.messages.some((sent) => sent.ts === posted.ts)).toBe(true);
      const [limited, allowed] = slack.requests.slice(-2);
      expect(limited.status).toBe(429);
      expect(allowed.status).toBe(200);
      // Retry-After is 1 s: never asked sooner.
      expect(allowed.receivedAt - limited.answeredAt).toBeGreaterThanOrEqual(1_000);
    } finally {
      slack.postMessageBurst = 30;
    }
  });

  it('a turn that would not come within the attempt: retryable SlackUnavailable, retried no sooner than Retry-After', async () => {
    const o = order();
    suite.sandbox.slack.failNext(1, { status: 429 });
    const failure = await failureOf(runActivity(suite.activities.notifyOps, { kind: 'payment-settled', order: o }, o));
    expect(failure).toMatchObject({ type: SLACK_UNAVAILABLE, nonRetryable: false, message: expect.stringContaining('rate-limited') });
    expect(Number(failure.nextRetryDelay)).toBeGreaterThanOrEqual(1_000);
  });

  it.each([500, 503])('Slack answering %i: retryable SlackUnavailable', async (status) => {
    const o = order();
    suite.sandbox.slack.failNext(1, { status });
    expect(await failureOf(runActivity(suite.activities.notifyOps, { kind: 'payment-settled', order: o }, o))).toMatchObject({
      type: SLACK_UNAVAILABLE,
      nonRetryable: false,
    });
  });
});

describe('updateOrderStatus (the order backend)', () => {
  it('PATCHes the status under a key naming it, order-<orderId>/order-status/<status>', async () => {
    const o = order();
    await runActivity(
      suite.activities.updateOrderStatus,
      { orderId: o.orderId, status: 'paid', paymentIntentId: 'pi_1', chargeId: 'ch_1' },
      o,
    );
    expect(suite.sandbox.backend.orders.get(o.orderId)).toMatchObject({
      status: 'paid',
      paymentIntentId: 'pi_1',
      chargeId: 'ch_1',
      idempotencyKeys: [`order-${o.orderId}/order-status/paid`],
    });
  });

  it.each([408, 429, 500, 503])('the backend answering %i: retryable OrderBackendUnavailable', async (status) => {
    const o = order();
    suite.sandbox.backend.failNext(1, { status });
    const failure = await failureOf(runActivity(suite.activities.updateOrderStatus, { orderId: o.orderId, status: 'paid' }, o));
    expect(failure).toMatchObject({
      type: ORDER_BACKEND_UNAVAILABLE,
      nonRetryable: false,
      message: expect.stringContaining(`answered ${status}`),
    });
  });

  it("a refusal (409, the contract's) is non-retryable OrderStatusRejected, with what the backend said", async () => {
    const o = order({ orderId: `ord_refuse_paid_${randomUUID().slice(0, 8)}` });
    const failure = await failureOf(runActivity(suite.activities.updateOrderStatus, { orderId: o.orderId, status: 'paid' }, o));
    expect(failure).toMatchObject({
      type: ORDER_STATUS_REJECTED,
      nonRetryable: true,
      message: expect.stringContaining('cannot be marked paid'),
    });
  });

  it('a rotated token (401) is OrderBackendMisconfigured, never a refusal, and says what to check', async () => {
    const o = order();
    suite.sandbox.backend.token = 'rotated';
    try {
      const failure = await failureOf(runActivity(suite.activities.updateOrderStatus, { orderId: o.orderId, status: 'paid' }, o));
      expect(failure).toMatchObject({
        type: ORDER_BACKEND_MISCONFIGURED,
        nonRetryable: true,
        message: expect.stringContaining('API_TOKEN'),
      });
      expect(failure.message).toContain('answered 401');
    } finally {
      suite.sandbox.backend.token = undefined;
    }
  });

  it.each([
    [400, 'PATCH body'],
    [403, 'API_TOKEN'],
    [404, 'API_BASE_URL'],
    [422, 'PATCH body'],
  ])('the backend answering %i is OrderBackendMisconfigured (%s to check), not a refusal', async (status, hint) => {
    const o = order();
    suite.sandbox.backend.failNext(1, { status });
    const failure = await failureOf(runActivity(suite.activities.updateOrderStatus, { orderId: o.orderId, status: 'paid' }, o));
    expect(failure).toMatchObject({ type: ORDER_BACKEND_MISCONFIGURED, nonRetryable: true, message: expect.stringContaining(hint) });
  });

  it('sends what was refunded so far with partially_refunded', async () => {
    const o = order();
    await runActivity(suite.activities.updateOrderStatus, { orderId: o.orderId, status: 'partially_refunded', amountRefunded: 1000 }, o);
    expect(suite.sandbox.backend.orders.get(o.orderId)).toMatchObject({ status: 'partially_refunded', amountRefunded: 1000 });
  });

  it('a backend nobody listens on: retryable OrderBackendUnavailable', async () => {
    const o = order();
    const unreachable = createActivities(
      loadProviderConfig({ ...suite.sandbox.env, API_BASE_URL: `http://127.0.0.1:${await freePort()}` }),
    );
    const failure = await failureOf(runActivity(unreachable.updateOrderStatus, { orderId: o.orderId, status: 'paid' }, o));
    expect(failure).toMatchObject({
      type: ORDER_BACKEND_UNAVAILABLE,
      nonRetryable: false,
      message: expect.stringContaining('unreachable'),
    });
  });
});
