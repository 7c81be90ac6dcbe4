import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import Stripe from 'stripe';
import { buildApp } from '../../src/api/app.js';
import { createDataConverter } from '../../src/codec/data-converter.js';
import { decodeHistory } from '../../src/codec/history.js';
import { statusQuery } from '../../src/workflows/names.js';
import { postTrigger } from '../support/trigger.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';

const API_KEY = 'ask_checkout_key_0001';

const WEBHOOK_SECRET = 'whsec_checkout_test';

/**
 * An API on a real port in front of `harness`'s Temporal server, receiving the Stripe stand-in's
 * webhooks; with `stripe`, reading client secrets from the stand-in. `logs` holds every line it logged, at every level.
 */
async function apiFor(harness: Harness, { stripe = true } = {}): Promise<{ app: FastifyInstance; baseUrl: string; logs: string[] }> {
  const stripeUrl = new URL(harness.sandbox.env.STRIPE_API_URL);
  const logs: string[] = [];
  const app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    stripeWebhookSecret: WEBHOOK_SECRET,
    log: {
      level: 'trace',
      stream: new Writable({
        write(line: Buffer, _encoding, done) {
          logs.push(String(line));
          done();
        },
      }),
    },
    ...(stripe && {
      stripe: new Stripe(harness.sandbox.env.STRIPE_SECRET_KEY, { protocol: 'http', host: stripeUrl.hostname, port: stripeUrl.port }),
    }),
  });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  harness.sandbox.stripe.sendWebhooksTo(`${baseUrl}/webhooks/stripe`, WEBHOOK_SECRET);
  return { app, baseUrl, logs };
}

const RETURN_URL = 'https://shop.example.com/checkout/done';

function json(response: Response): Promise<any> {
  return response.json();
}

describe('the checkout hears the payment in the trigger answer (Prefer: wait)', () => {
  let harness: Harness;
  let app: FastifyInstance;
  let baseUrl: string;
  let logs: string[];
  beforeAll(async () => {
    harness = await startHarness();
    ({ app, baseUrl, logs } = await apiFor(harness));
  });
  afterAll(async () => {
    await app?.close();
    await harness?.close();
  });

  const trigger = (params: unknown, headers: Record<string, string> = {}) => postTrigger(baseUrl, API_KEY, { params }, headers);
  const getPayment = (workflowId: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${baseUrl}/api/runs/${workflowId}/payment${query}`, { headers: { authorization: `Bearer ${API_KEY}`, ...headers } });
  const onSession = (order: ReturnType<typeof sampleOrder>) => ({ ...order, onSession: true, returnUrl: RETURN_URL });

  it('answers paid with the PaymentIntent, and the run goes on to the receipt and the record', async () => {
    const order = sampleOrder();
    const response = await trigger(order, { prefer: 'wait=10' });
    expect(response.status).toBe(201);
    const body = await json(response);
    const [intent] = harness.sandbox.stripe.paymentIntentsFor(order.orderId);
    expect(body).toMatchObject({
      workflowId: `order-${order.orderId}`,
      created: true,
      payment: { status: 'paid', paymentIntentId: intent.id },
    });
    expect(await harness.client.workflow.getHandle(body.workflowId).result()).toMatchObject({ status: 'paid', receipt: 'sent' });
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('paid');
  });

  it('answers a decline as a successful answer: payment_failed with the decline code', async () => {
    const response = await trigger(sampleOrder({ customerId: 'cus_decline_insufficient_funds' }), { prefer: 'respond-async, wait=10' });
    expect(response.status).toBe(201);
    expect((await json(response)).payment).toMatchObject({ status: 'payment_failed', declineCode: 'insufficient_funds' });
  });

  it('answers payment_pending when Stripe has not decided (processing); GET .../payment says so (202), and its long poll waits for paid', async () => {
    const order = sampleOrder({ customerId: 'cus_processing_4' });
    const response = await trigger(order, { prefer: 'wait=10' });
    expect(response.status).toBe(201);
    const { workflowId, payment } = await json(response);
    expect(payment.status).toBe('payment_pending');
    // Nothing for the customer to do: without a wait, 202 with the run's pending answer and where to wait for the next.
    const now = await getPayment(workflowId);
    expect(now.status).toBe(202);
    expect(now.headers.get('location')).toBe(`/api/runs/${workflowId}/payment`);
    expect(now.headers.get('retry-after')).toBe('1');
    expect((await json(now)).payment).toMatchObject({ status: 'payment_pending', paymentIntentId: payment.paymentIntentId });
    const polled = await getPayment(workflowId, { prefer: 'wait=15' });
    expect(polled.status).toBe(200);
    expect((await json(polled)).payment).toMatchObject({ status: 'paid', paymentIntentId: payment.paymentIntentId });
  });

  it('answers 202 with Location and Retry-After when the wait runs out; the long poll then gets the answer', async () => {
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer read and the create pass
    harness.sandbox.stripe.failNext(1, { delayMs: 3_000 }); // the confirmation is held
    const order = sampleOrder();
    const response = await trigger(order, { prefer: 'wait=1' });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/api/runs/order-${order.orderId}`);
    expect(response.headers.get('retry-after')).toBe('1');
    const { workflowId, payment } = await json(response);
    expect(payment.status).toBe('payment_pending');
    const polled = await getPayment(workflowId, { prefer: 'wait=15' });
    expect(polled.status).toBe(200);
    expect((await json(polled)).payment).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('attaches repeats, sent at once and after the run, to the one run: one charge, and each hears paid', async () => {
    const order = sampleOrder();
    const answers = await Promise.all([1, 2, 3].map(() => trigger(order, { prefer: 'wait=10' })));
    const bodies = await Promise.all(answers.map(json));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(bodies.map((body) => body.runId)).size).toBe(1);
    expect(bodies.map((body) => body.payment.status)).toEqual(['paid', 'paid', 'paid']);
    await harness.client.workflow.getHandle(bodies[0].workflowId).result();
    const again = await trigger(order, { prefer: 'wait=5' });
    expect(again.status).toBe(200);
    expect((await json(again)).payment).toMatchObject({ status: 'paid', paymentIntentId: bodies[0].payment.paymentIntentId });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('on session, the bank asks for the holder: requires_action with the client secret, no email; paid once they confirm', async () => {
    const order = sampleOrder({ customerId: 'cus_authenticate' });
    const response = await trigger(onSession(order), { prefer: 'wait=10' });
    expect(response.status).toBe(201);
    const { workflowId, payment } = await json(response);
    const [intent] = harness.sandbox.stripe.paymentIntentsFor(order.orderId);
    expect(payment).toMatchObject({ status: 'requires_action', paymentIntentId: intent.id, clientSecret: intent.client_secret });
    const [confirmation] = harness.sandbox.stripe.requests.filter(
      (request) => request.path.endsWith('/confirm') && request.body.includes('return_url'),
    );
    expect(new URLSearchParams(confirmation.body).get('return_url')).toBe(RETURN_URL);
    expect(new URLSearchParams(confirmation.body).has('off_session')).toBe(false);
    expect(harness.sandbox.resend.emails.filter((email) => email.subject.includes(order.orderId))).toEqual([]);

    // The checkout waits while the customer confirms in the browser (Stripe.js), then polls for what comes after the bank step.
    const polled = getPayment(workflowId, { prefer: 'wait=15' }, '?after=requires_action');
    expect(harness.sandbox.stripe.completeCustomerAction(intent.id, 'succeeds')).toBe(true);
    const settled = await polled;
    expect(settled.status).toBe(200);
    expect((await json(settled)).payment).toMatchObject({ status: 'paid', paymentIntentId: intent.id });
    const handle = harness.client.workflow.getHandle(workflowId);
    expect(await handle.result()).toMatchObject({ status: 'paid', receipt: 'sent' });
    // The client secret never entered the run's history, decrypted.
    const history = await decodeHistory(await handle.fetchHistory(), createDataConverter(harness.codec).payloadCodecs ?? []);
    expect(JSON.stringify(history)).not.toContain(intent.client_secret);
    // Nor a line the API logged, at any level (the capture works: the run's start is logged).
    expect(logs.join('')).toContain(workflowId);
    expect(logs.join('')).not.toContain(intent.client_secret);
  });

  it('on session, a checkout that got 202 before the bank asked: the long poll answers requires_action at once, then what comes after it', async () => {
    const order = sampleOrder({ customerId: 'cus_authenticate' });
    const workflowId = `order-${order.orderId}`;
    // Stripe slow enough that Charge Card cannot settle within the trigger's wait.
    harness.sandbox.stripe.latencyMs = 1_500;
    const response = await trigger(onSession(order), { prefer: 'wait=1' }).finally(() => (harness.sandbox.stripe.latencyMs = 0));
    expect(response.status).toBe(202);
    expect((await json(response)).payment.status).toBe('payment_pending');
    const handle = harness.client.workflow.getHandle(workflowId);
    await expect.poll(async () => (await handle.query(statusQuery)).step, { timeout: 30_000 }).toBe('customer-action');
    const [intent] = harness.sandbox.stripe.paymentIntentsFor(order.orderId);

    // The checkout has not shown the bank step: the long poll answers it at once, with the client secret.
    const actionable = await getPayment(workflowId, { prefer: 'wait=10' });
    expect(actionable.status).toBe(200);
    expect((await json(actionable)).payment).toMatchObject({
      status: 'requires_action',
      paymentIntentId: intent.id,
      clientSecret: intent.client_secret,
    });

    // Shown (after=requires_action): the long poll waits past it; when its wait runs out, 202 says what is known, not a generic pending.
    const unchanged = await getPayment(workflowId, { prefer: 'wait=1' }, '?after=requires_action');
    expect(unchanged.status).toBe(202);
    expect(unchanged.headers.get('location')).toBe(`/api/runs/${workflowId}/payment?after=requires_action`);
    expect(unchanged.headers.get('retry-after')).toBe('1');
    expect((await json(unchanged)).payment).toMatchObject({ status: 'requires_action', clientSecret: intent.client_secret });

    const polled = getPayment(workflowId, { prefer: 'wait=15' }, '?after=requires_action');
    expect(harness.sandbox.stripe.completeCustomerAction(intent.id, 'succeeds')).toBe(true);
    const settled = await polled;
    expect(settled.status).toBe(200);
    expect((await json(settled)).payment).toMatchObject({ status: 'paid', paymentIntentId: intent.id });

    // A run that is already final answers at once, whatever the caller has shown.
    await handle.result();
    const final = await getPayment(workflowId, { prefer: 'wait=10' }, '?after=requires_action');
    expect(final.status).toBe(200);
    expect((await json(final)).payment).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it("answers a repeat with the run's payment as it is now, not the first answer the run stored: paid once the customer confirmed", async () => {
    const order = onSession(sampleOrder({ customerId: 'cus_authenticate' }));
    const first = await trigger(order, { prefer: 'wait=10' });
    expect(first.status).toBe(201);
    const { workflowId, payment } = await json(first);
    expect(payment.status).toBe('requires_action');
    expect(harness.sandbox.stripe.completeCustomerAction(payment.paymentIntentId, 'succeeds')).toBe(true);
    await harness.client.workflow.getHandle(workflowId).result();

    const repeat = await trigger(order, { prefer: 'wait=5' });
    expect(repeat.status).toBe(200);
    const answer = (await json(repeat)).payment;
    expect(answer).toMatchObject({ status: 'paid', paymentIntentId: payment.paymentIntentId });
    expect(answer).not.toHaveProperty('clientSecret');
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });

  it('off session (the default), the same card: payment_pending and the customer is emailed, as before', async () => {
    const order = sampleOrder({ customerId: 'cus_authenticate' });
    const response = await trigger(order, { prefer: 'wait=10' });
    const { payment } = await json(response);
    expect(payment.status).toBe('payment_pending');
    expect(payment).not.toHaveProperty('clientSecret');
    await expect.poll(() => harness.sandbox.resend.emails.filter((email) => email.subject.includes(order.orderId)).length).toBe(1);
  });

  it('answers as before without the header: 201, no payment', async () => {
    const response = await trigger(sampleOrder());
    expect(response.status).toBe(201);
    expect(await json(response)).not.toHaveProperty('payment');
  });
});

describe('a waited trigger whose update cannot be delivered (no worker)', () => {
  let harness: Harness;
  let app: FastifyInstance;
  let baseUrl: string;
  beforeAll(async () => {
    harness = await startHarness({ withoutWorker: true });
    ({ app, baseUrl } = await apiFor(harness, { stripe: false }));
  });
  afterAll(async () => {
    await app?.close();
    await harness?.close();
  });

  it('answers 202, never a 5xx; the run goes on and charges once a worker comes', async () => {
    const order = sampleOrder();
    const response = await postTrigger(baseUrl, API_KEY, { params: order }, { prefer: 'wait=2' });
    expect(response.status).toBe(202);
    const { workflowId } = await json(response);
    await harness.startWorker();
    const polled = await fetch(`${baseUrl}/api/runs/${workflowId}/payment`, {
      headers: { authorization: `Bearer ${API_KEY}`, prefer: 'wait=20' },
    });
    expect(polled.status).toBe(200);
    expect((await json(polled)).payment).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
  });
});
