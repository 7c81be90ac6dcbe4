import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { stripeKeyedRequests } from '../support/sandbox-records.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ env: { SLACK_CHANNEL: '#payments-alerts' } });
});
afterAll(async () => harness?.close());

describe('orderProcessing when Stripe refuses or asks to retry', () => {
  it('does not retry a rejected Stripe request (bad API key): nothing is created, the failure is recorded', async () => {
    harness.sandbox.stripe.failNext(1, {
      status: 401,
      body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****' } },
    });
    const order = sampleOrder();
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_failed', opsNotified: true });
    expect(result.reason).toContain("Stripe rejected the request to search the order's PaymentIntents (401)");
    expect(harness.sandbox.stripe.paymentIntentsFor(order.orderId)).toHaveLength(0);
    expect(
      harness.sandbox.stripe.requests
        .filter((request) => request.path.startsWith('/v1/payment_intents/search'))
        .map((request) => request.status),
    ).toContain(401);
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('payment_failed');
  });

  it('retries a 409 (key in use by a request still running) and charges once', async () => {
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer read and the create pass
    harness.sandbox.stripe.failNext(1, {
      status: 409,
      body: {
        error: {
          type: 'idempotency_error',
          code: 'idempotency_key_in_use',
          message: 'There is currently another in-progress request using this Idempotency Key.',
        },
      },
    });
    const order = sampleOrder();
    const result = await harness.runOrder(order);
    expect(result).toMatchObject({ status: 'paid' });
    const confirmations = stripeKeyedRequests(harness.sandbox, order.orderId, 'charge');
    expect(confirmations.map((request) => request.status)).toEqual([409, 200]);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });
});

describe('orderProcessing when Slack rejects the alert', () => {
  let slackless: Harness;
  beforeAll(async () => {
    slackless = await startHarness({ env: { SLACK_CHANNEL: '#no-such-channel' } });
  });
  afterAll(async () => slackless?.close());

  it('records the declined order anyway and reports that ops were not notified', async () => {
    const order = sampleOrder({ customerId: 'cus_decline' });
    const result = await slackless.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_failed', declineCode: 'generic_decline', opsNotified: false });
    const slackCalls = slackless.sandbox.slack.requests;
    expect(slackCalls).toHaveLength(1);
    expect(slackless.sandbox.backend.orders.get(order.orderId)?.status).toBe('payment_failed');
  });
});
