import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleOrder, startHarness, type Harness } from './support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ env: { SLACK_CHANNEL: '#payments-alerts' } });
});
afterAll(async () => harness?.close());

describe('orderProcessing when providers keep failing', () => {
  it('takes the failure path when Stripe retries run out, and says the charge is uncertain', async () => {
    const order = sampleOrder({ customerId: 'cus_fail_503' });
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_failed', receipt: 'skipped', opsNotified: true });
    expect(result.reason).toContain('Stripe is unavailable (503)');
    const attempts = harness.sandbox.stripe.requests.filter((request) => decodeURIComponent(request.body).includes(order.orderId));
    expect(attempts).toHaveLength(4);
    const alert = harness.sandbox.slack.messages.find((message) => message.text.includes(order.orderId));
    expect(alert?.text).toContain('UNCERTAIN');
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('payment_failed');
  });

  it('does not retry a rejected Stripe request (bad API key) and records the failure', async () => {
    harness.sandbox.stripe.failNext(1, { status: 401, body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****' } } });
    const order = sampleOrder();
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_failed', opsNotified: true });
    expect(result.reason).toContain('Stripe rejected the charge request (401)');
    const alert = harness.sandbox.slack.messages.find((message) => message.text.includes(order.orderId));
    expect(alert?.text).not.toContain('UNCERTAIN');
  });
});

describe('orderProcessing when Stripe answers 409 or refuses the idempotency key', () => {
  it('retries a 409 (key in use by a request still running) and charges once', async () => {
    harness.sandbox.stripe.failNext(1, { status: 409, body: { error: { type: 'idempotency_error', code: 'idempotency_key_in_use', message: 'There is currently another in-progress request using this Idempotency Key.' } } });
    const order = sampleOrder();
    const result = await harness.runOrder(order);
    expect(result).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('treats a refused idempotency key as an uncertain outcome, never as "nothing charged"', async () => {
    harness.sandbox.stripe.failNext(1, { status: 400, body: { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } } });
    const order = sampleOrder();
    const result = await harness.runOrder(order);
    expect(result).toMatchObject({ status: 'payment_failed', opsNotified: true });
    const alert = harness.sandbox.slack.messages.find((message) => message.text.includes(order.orderId));
    expect(alert?.text).toContain('UNCERTAIN');
    expect(harness.sandbox.stripe.requests.filter((request) => decodeURIComponent(request.body).includes(order.orderId))).toHaveLength(1);
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
