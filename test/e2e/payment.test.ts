import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { createDataConverter } from '../../src/codec/data-converter.js';
import { decodeHistory } from '../../src/codec/history.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { backendRecords, backendRequests, opsAlerts, receipts, stripeKeyedRequests } from '../support/sandbox-records.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness?.close());

/** What reached Stripe, the backend and Slack for one order. */
function sentFor(orderId: string) {
  const { sandbox } = harness;
  const { stripe } = sandbox;
  const intentIds = stripe.paymentIntentsFor(orderId).map((intent) => intent.id);
  const keyed = stripeKeyedRequests(sandbox, orderId);
  return {
    intents: stripe.paymentIntentsFor(orderId),
    creates: keyed.filter((request) => request.path === '/v1/payment_intents'),
    confirms: keyed.filter((request) => request.path.endsWith('/confirm')),
    cancels: stripe.requests.filter((request) => intentIds.some((id) => request.path === `/v1/payment_intents/${id}/cancel`)),
    retrieves: stripe.requests.filter(
      (request) => request.method === 'GET' && intentIds.some((id) => request.path === `/v1/payment_intents/${id}`),
    ),
    backend: backendRecords(sandbox, orderId),
    alerts: opsAlerts(sandbox, orderId).map((message) => message.text),
    receipts: receipts(sandbox, orderId),
  };
}

describe('Charge Card with a PaymentIntent', () => {
  it("creates it with the customer's default payment method, confirms it off session and records the order paid", async () => {
    const order = sampleOrder();
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(sent.intents).toHaveLength(1);
    const [intent] = sent.intents;
    expect(intent).toMatchObject({
      status: 'succeeded',
      customer: 'cus_abc',
      amount: 4999,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      metadata: { order_id: order.orderId },
    });
    expect(result).toEqual({
      orderId: order.orderId,
      status: 'paid',
      paymentIntentId: intent.id,
      chargeId: intent.latest_charge,
      receipt: 'sent',
      opsNotified: false,
    });
    expect(sent.creates.map((request) => request.headers['idempotency-key'])).toEqual([`order-${order.orderId}/payment-intent`]);
    expect(sent.confirms.map((request) => request.headers['idempotency-key'])).toEqual([`order-${order.orderId}/charge`]);
    expect(new URLSearchParams(sent.confirms[0].body).get('off_session')).toBe('true');
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(sent.backend).toEqual([{ status: 204, body: { status: 'paid', paymentIntentId: intent.id, chargeId: intent.latest_charge } }]);
    expect(sent.receipts).toHaveLength(1);
  });

  it('puts the PaymentIntent ID in the history before the card is charged', async () => {
    const order = sampleOrder();
    const handle = await harness.startOrder(order);
    const { paymentIntentId } = await handle.result();
    const codecs = createDataConverter(harness.codec).payloadCodecs ?? [];
    const events = (await decodeHistory(await handle.fetchHistory(), codecs)).events ?? [];
    const scheduled = (type: string) => events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === type);
    const createdId = scheduled('createPaymentIntent')!.eventId!;
    const completed = events.find((event) => String(event.activityTaskCompletedEventAttributes?.scheduledEventId) === String(createdId))!;
    const created = defaultPayloadConverter.fromPayload<{ paymentIntent: { id: string } }>(
      completed.activityTaskCompletedEventAttributes!.result!.payloads![0],
    );

    expect(created.paymentIntent.id).toBe(paymentIntentId);
    expect(Number(completed.eventId)).toBeLessThan(Number(scheduled('confirmPaymentIntent')!.eventId));
  });

  it('charges the payment method the trigger names, without reading the customer', async () => {
    const order = sampleOrder({ customerId: 'cus_no_payment_method', paymentMethodId: 'pm_card_mastercard' });
    const result = await harness.runOrder(order);

    expect(result.status).toBe('paid');
    expect(sentFor(order.orderId).intents[0].payment_method).toBe('pm_card_mastercard');
    expect(harness.sandbox.stripe.requests.filter((request) => request.path === '/v1/customers/cus_no_payment_method')).toHaveLength(0);
    expect(sentFor(order.orderId).creates).toHaveLength(1);
  });

  it('takes the failure path with no_payment_method when the customer has none and the order names none; nothing is created', async () => {
    const order = sampleOrder({ customerId: 'cus_no_payment_method' });
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_failed', receipt: 'skipped', opsNotified: true });
    expect(result.reason).toMatch(/^no_payment_method: customer cus_no_payment_method has no default payment method/);
    const sent = sentFor(order.orderId);
    expect(sent.creates).toHaveLength(0);
    expect(sent.intents).toHaveLength(0);
    expect(sent.alerts[0]).toContain('no_payment_method');
    expect(sent.backend.map((request) => request.body.status)).toEqual(['payment_failed']);
  });

  it('keeps a decline a business outcome with its decline code, and cancels the PaymentIntent before recording payment_failed', async () => {
    const order = sampleOrder({ customerId: 'cus_decline_insufficient_funds' });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({
      status: 'payment_failed',
      paymentIntentId: sent.intents[0].id,
      declineCode: 'insufficient_funds',
      reason: 'Your card has insufficient funds.',
      receipt: 'skipped',
      opsNotified: true,
    });
    expect(sent.confirms).toHaveLength(1);
    expect(sent.intents[0].status).toBe('canceled');
    // No key of ours on the cancel: it is idempotent by state, and a stored answer could only mislead later attempts.
    expect(sent.cancels.map((request) => request.status)).toEqual([200]);
    expect(sent.cancels[0].headers['idempotency-key']).not.toMatch(/^order-/);
    expect(sent.cancels[0].answeredAt).toBeLessThan(
      harness.sandbox.backend.requests.find((request) => request.path === `/orders/${order.orderId}`)!.receivedAt,
    );
    expect(sent.alerts[0]).toContain('insufficient_funds');
    expect(sent.backend.map((request) => request.body)).toEqual([{ status: 'payment_failed', paymentIntentId: sent.intents[0].id }]);
  });
});

describe('no guessed outcomes: Stripe is asked before anything is recorded', () => {
  it('a 500 Stripe stores after charging, replayed on retry: retrieves the PaymentIntent and records paid, charged once', async () => {
    const order = sampleOrder({ customerId: 'cus_error_after_charge' });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent', paymentIntentId: sent.intents[0].id });
    expect(sent.confirms.map((request) => [request.status, request.headers['idempotency-key']])).toEqual([
      [500, `order-${order.orderId}/charge`],
      [500, `order-${order.orderId}/charge`],
    ]);
    expect(sent.retrieves.length).toBeGreaterThanOrEqual(1);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(sent.backend.map((request) => request.body.status)).toEqual(['paid']);
    expect(sent.alerts).toEqual([]);
  });

  it("a 500 Stripe stores after creating the PaymentIntent: finds it by listing the customer's, confirms it and records paid", async () => {
    const order = sampleOrder({ customerId: 'cus_create_lost' });
    harness.sandbox.stripe.failNext(2, { delayMs: 0 }); // the check for an earlier payment and the customer read pass
    harness.sandbox.stripe.failNext(1, { statusAfterHandling: 500 }); // the create executes, then answers 500
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent', paymentIntentId: sent.intents[0].id });
    expect(sent.creates.map((request) => [request.status, request.replayed ?? false])).toEqual([
      [500, false],
      [500, true],
    ]);
    const list = harness.sandbox.stripe.requests.find(
      (request) => request.method === 'GET' && request.path.includes('customer=cus_create_lost'),
    );
    expect(list!.receivedAt).toBeLessThan(sent.confirms[0].receivedAt);
    expect(sent.intents).toHaveLength(1);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it("an answer lost after charging: the retry under the same key gets Stripe's stored answer, charged once", async () => {
    const order = sampleOrder({ customerId: 'cus_lost_after_charge' });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent' });
    expect(sent.confirms.map((request) => request.status)).toEqual([0, 200]);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it("Stripe failing before it executes until retries run out: lists the customer's PaymentIntents, finds none, records payment_failed", async () => {
    const order = sampleOrder({ customerId: 'cus_fail_503' });
    const result = await harness.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_failed', receipt: 'skipped', opsNotified: true });
    expect(result.reason).toContain('Stripe shows no PaymentIntent for the order: nothing was charged');
    const sent = sentFor(order.orderId);
    expect(sent.creates.map((request) => request.status)).toEqual([503, 503, 503, 503]);
    const list = harness.sandbox.stripe.requests.find(
      (request) =>
        request.method === 'GET' && request.path.startsWith('/v1/payment_intents?') && request.path.includes('customer=cus_fail_503'),
    );
    expect(list).toBeDefined();
    expect(list!.receivedAt).toBeGreaterThan(sent.creates.at(-1)!.answeredAt);
    expect(sent.alerts[0]).not.toContain('UNCERTAIN');
    expect(sent.backend.map((request) => request.body.status)).toEqual(['payment_failed']);
  });

  it('a refused idempotency key: retrieves the PaymentIntent, finds it unconfirmed, confirms it under the next key, records paid', async () => {
    const order = sampleOrder();
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer and the create pass
    harness.sandbox.stripe.failNext(1, {
      status: 400,
      body: {
        error: {
          type: 'idempotency_error',
          message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        },
      },
    });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent', paymentIntentId: sent.intents[0].id });
    expect(sent.confirms.map((request) => [request.status, request.headers['idempotency-key']])).toEqual([
      [400, `order-${order.orderId}/charge`],
      [200, `order-${order.orderId}/charge/2`],
    ]);
    expect(sent.retrieves.length).toBeGreaterThanOrEqual(1);
    expect(sent.intents).toHaveLength(1);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('a payment Stripe answers processing: the run waits for its decision (payment_pending meanwhile), then records paid', async () => {
    const order = sampleOrder({ customerId: 'cus_processing_2' });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent', paymentIntentId: sent.intents[0].id });
    expect(sent.confirms.map((request) => request.status)).toEqual([200]);
    expect(sent.retrieves.length).toBeGreaterThanOrEqual(1);
    expect(sent.backend.map((request) => request.body.status)).toEqual(['payment_pending', 'paid']);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('keys Stripe burnt (a stored 500, nothing done) for the create and the confirmation: sent again under the next keys, paid once', async () => {
    const order = sampleOrder({ customerId: 'cus_burns_keys' });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent', paymentIntentId: sent.intents[0].id });
    const keyOf = (request: { headers: Record<string, unknown> }) => request.headers['idempotency-key'];
    expect([...new Set(sent.creates.map(keyOf))]).toEqual([
      `order-${order.orderId}/payment-intent`,
      `order-${order.orderId}/payment-intent/2`,
    ]);
    expect([...new Set(sent.confirms.map(keyOf))]).toEqual([`order-${order.orderId}/charge`, `order-${order.orderId}/charge/2`]);
    expect(sent.intents).toHaveLength(1);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(sent.backend.map((request) => request.body.status)).toEqual(['paid']);
  });

  it('every key Stripe burns: gives up after three generations, records payment_failed with nothing charged', async () => {
    const order = sampleOrder({ customerId: 'cus_burns_keys_x3' });
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'payment_failed', receipt: 'skipped', opsNotified: true });
    expect(result.reason).toContain('Stripe shows no PaymentIntent for the order: nothing was charged');
    expect(new Set(sent.creates.map((request) => request.headers['idempotency-key'])).size).toBe(3);
    expect(sent.intents).toHaveLength(0);
    expect(sent.backend.map((request) => request.body.status)).toEqual(['payment_failed']);
  });

  it('Stripe down after charging: payment_pending is recorded and ops told once, then paid when Stripe answers again', async () => {
    const order = sampleOrder();
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer and the create pass
    harness.sandbox.stripe.failNext(1, { statusAfterHandling: 500 }); // the confirmation charges, then answers 500
    harness.sandbox.stripe.failNext(1, { delayMs: 0 }); // the retry gets the stored 500 replayed
    harness.sandbox.stripe.failNext(3, { status: 503 }); // the retrieve's three quick attempts
    const result = await harness.runOrder(order);

    const sent = sentFor(order.orderId);
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent', opsNotified: true });
    expect(result.reason).toBeUndefined();
    expect(sent.backend.map((request) => request.body.status)).toEqual(['payment_pending', 'paid']);
    expect(sent.backend.map((request) => request.body.paymentIntentId)).toEqual([sent.intents[0].id, sent.intents[0].id]);
    expect(sent.alerts).toHaveLength(2);
    expect(sent.alerts[0]).toContain('is not settled yet');
    expect(sent.alerts[1]).toContain('is settled: paid');
    expect(sent.retrieves.map((request) => request.status)).toEqual([503, 503, 503, 200]);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });
});

describe('while Stripe cannot be reached', () => {
  let patient: Harness;
  beforeAll(async () => {
    patient = await startHarness({ env: { PAYMENT_RECONCILE_TIMEOUT: '15s' } });
  });
  afterAll(async () => patient?.close());

  it('keeps asking up to PAYMENT_RECONCILE_TIMEOUT, then alerts ops with what to check and leaves the order payment_pending', async () => {
    const order = sampleOrder({ customerId: 'cus_down' });
    const result = await patient.runOrder(order);

    expect(result).toMatchObject({ status: 'payment_pending', receipt: 'skipped', opsNotified: true });
    const records = backendRequests(patient.sandbox, order.orderId);
    expect(records.map((request) => JSON.parse(request.body).status)).toEqual(['payment_pending']);
    expect(records[0].headers['idempotency-key']).toBe(`order-${order.orderId}/order-status/payment_pending`);
    const alerts = opsAlerts(patient.sandbox, order.orderId).map((message) => message.text);
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toContain('is not settled yet');
    expect(alerts[1]).toContain('still unsettled');
    expect(alerts[1]).toContain(`metadata order_id=${order.orderId}`);
    const lists = patient.sandbox.stripe.requests.filter(
      (request) => request.method === 'GET' && request.path.includes('customer=cus_down'),
    );
    // The window starts at the first wait (after the 4 create attempts, 35 s): in its 15 s the run asks again and again.
    expect(lists.length).toBeGreaterThan(3);
  });
});
