/**
 * The customer and the merchant in the loop, end to end: the worker, the real API on a real port
 * receiving the Stripe stand-in's signed webhooks, and the stand-ins' record of what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, STRIPE_WEBHOOK_PATH } from '../../src/api/app.js';
import { sampleOrder, startHarness, uniqueOrderId, type Harness } from '../support/harness.js';
import { backendRecords, receipts } from '../support/sandbox-records.js';

const SECRET = 'whsec_customer_loop_test';

/** A harness whose Stripe stand-in sends its signed events to a real API, as `npm start` wires them. */
async function withWebhooks(env: Record<string, string> = {}): Promise<{ harness: Harness; app: FastifyInstance }> {
  const harness = await startHarness({ env });
  const app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: ['ask_customer_loop_key'],
    stripeWebhookSecret: SECRET,
  });
  const apiUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  harness.sandbox.stripe.sendWebhooksTo(`${apiUrl}${STRIPE_WEBHOOK_PATH}`, SECRET);
  return { harness, app };
}

let harness: Harness;
let app: FastifyInstance;
beforeAll(async () => {
  ({ harness, app } = await withWebhooks());
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

describe('a card that needs its holder (SCA)', () => {
  it("asks the customer by email, waits for Stripe's word (woken by the webhook) and takes the paid path", async () => {
    const order = sampleOrder({ customerId: 'cus_authenticate_completes_2' });
    const startedAt = Date.now();
    const result = await harness.runOrder(order);

    const [intent] = harness.sandbox.stripe.paymentIntentsFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', paymentIntentId: intent.id, receipt: 'sent', opsNotified: false });
    expect(backendRecords(harness.sandbox, order.orderId).map(({ body }) => body.status)).toEqual(['payment_pending', 'paid']);
    const asked = harness.sandbox.resend.requests.find(
      (request) => request.headers['idempotency-key'] === `order-${order.orderId}/payment-action`,
    );
    expect(JSON.parse(asked!.body).text).toContain(`/sandbox/pay/${order.orderId}`);
    expect(JSON.parse(asked!.body).to).toEqual(order.email);
    // The succeeded event woke the run: well before its first poll of Stripe, 30 s after asking.
    expect(Date.now() - startedAt).toBeLessThan(25_000);
    expect(
      harness.sandbox.stripe.webhookDeliveries.some(
        (delivery) => delivery.orderId === order.orderId && delivery.type === 'payment_intent.succeeded' && delivery.status === 200,
      ),
    ).toBe(true);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('learns the outcome when the customer completes it through the sandbox page, webhooks late and twice', async () => {
    harness.sandbox.stripe.webhookDelivery = 'twice';
    try {
      const order = sampleOrder({ customerId: 'cus_authenticate' });
      const handle = await harness.startOrder(order);
      await expect
        .poll(() => harness.sandbox.resend.emails.some((email) => email.subject.includes(order.orderId)), { timeout: 15_000 })
        .toBe(true);
      const page = await fetch(`${harness.sandbox.env.STRIPE_API_URL}/sandbox/pay/${order.orderId}`);
      expect(page.status).toBe(200);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'paid', receipt: 'sent' });
      expect(receipts(harness.sandbox, order.orderId)).toHaveLength(1);
    } finally {
      harness.sandbox.stripe.webhookDelivery = 'on_time';
    }
  });
});

describe('a customer who never confirms', () => {
  let impatient: { harness: Harness; app: FastifyInstance };
  beforeAll(async () => {
    impatient = await withWebhooks({ PAYMENT_ACTION_TIMEOUT: '4s' });
  });
  afterAll(async () => {
    await impatient?.app.close();
    await impatient?.harness.close();
  });

  it('cancels the PaymentIntent at PAYMENT_ACTION_TIMEOUT, records payment_failed with the reason and tells ops', async () => {
    const order = sampleOrder({ customerId: 'cus_authenticate_abandons' });
    const result = await impatient.harness.runOrder(order);

    const [intent] = impatient.harness.sandbox.stripe.paymentIntentsFor(order.orderId);
    expect(intent.status).toBe('canceled');
    expect(result).toMatchObject({
      status: 'payment_failed',
      declineCode: 'authentication_required',
      receipt: 'skipped',
      opsNotified: true,
    });
    expect(result.reason).toMatch(/^The customer did not confirm the payment within 4 s/);
    expect(backendRecords(impatient.harness.sandbox, order.orderId).map(({ body }) => body.status)).toEqual([
      'payment_pending',
      'payment_failed',
    ]);
    const alert = impatient.harness.sandbox.slack.messages.find((message) => message.text.includes(order.orderId));
    expect(alert?.text).toContain('did not confirm the payment');
    expect(impatient.harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(0);
  });
});

describe('a paid order the backend refuses for good', () => {
  it('is refunded in full under order-<orderId>/refund, ops are told, the backend gets refunded and the result says so', async () => {
    const order = sampleOrder({ orderId: uniqueOrderId('refuse_paid') });
    const result = await harness.runOrder(order);

    const [refund] = harness.sandbox.stripe.refundsFor(order.orderId);
    expect(refund).toMatchObject({ amount: 4999, idempotencyKey: `order-${order.orderId}/refund` });
    expect(result).toMatchObject({
      status: 'refunded',
      refund: { refundId: refund.id, amount: 4999, backendRecorded: true, opsNotified: true },
      reason: expect.stringContaining('The order backend refused to record the payment'),
    });
    expect(backendRecords(harness.sandbox, order.orderId).map(({ status, body }) => `${body.status} ${status}`)).toEqual([
      'paid 409',
      'refunded 204',
    ]);
    const alert = harness.sandbox.slack.messages.find((message) => message.text.includes(order.orderId));
    expect(alert?.text).toContain('Refunded $49.99');
    expect(alert?.text).toContain('refused to record the payment');
  });
});
