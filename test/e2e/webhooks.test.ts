/**
 * POST /webhooks/stripe on a real port against the real Temporal dev server: Stripe's signature over
 * the raw bytes, redeliveries answered from memory, routed events reaching the order's run as the
 * stripeEvent signal (seen in the run's history), 200 for whatever no run can take, and 503 when
 * Temporal cannot be reached. What the route refuses before Temporal hears of it, its rate limit and
 * OpenAPI entry are tested in process in test/unit/api/webhooks.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { FastifyInstance } from 'fastify';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { fromPayloadsAtIndex } from '@temporalio/common';
import { buildApp, STRIPE_WEBHOOK_PATH } from '../../src/api/app.js';
import { decodeHistory } from '../../src/codec/history.js';
import { freePort } from '../../dev/processes.js';
import { type StripeEventHint } from '../../src/domain/payment.js';
import { startOrderWorkflow } from '../../src/api/start-order.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { stripeEventSignal } from '../../src/workflows/names.js';

const SECRET = 'whsec_test_webhooks_0001';
let harness: Harness;
let app: FastifyInstance;
let baseUrl: string;
const logLines: string[] = [];
/** Runs this file leaves open, terminated at the end. */
const openRuns: WorkflowHandle[] = [];

beforeAll(async () => {
  harness = await startHarness();
  const stream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(chunk.toString()), done()) });
  app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: ['ask_webhooks_key_0001'],
    stripeWebhookSecret: SECRET,
    log: { level: 'info', stream },
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await Promise.all(openRuns.map((handle) => handle.terminate('webhooks.test.ts is done').catch(() => undefined)));
  await app?.close();
  await harness?.close();
});

interface EventOptions {
  id?: string;
  orderId?: string | null;
  paymentIntentId?: string;
}

/** A Stripe event as Stripe sends it (API version 2025+ shape), about a PaymentIntent or a Charge. */
function stripeEvent(
  type: string,
  { id = `evt_${randomUUID().replaceAll('-', '')}`, orderId, paymentIntentId = `pi_${randomUUID().slice(0, 12)}` }: EventOptions = {},
) {
  const metadata = orderId ? { order_id: orderId } : {};
  const object = type.startsWith('charge.')
    ? {
        id: `ch_${randomUUID().slice(0, 12)}`,
        object: 'charge',
        payment_intent: paymentIntentId,
        amount: 4999,
        amount_refunded: 4999,
        refunded: true,
        metadata,
      }
    : { id: paymentIntentId, object: 'payment_intent', amount: 4999, currency: 'usd', status: type.split('.')[1], metadata };
  return {
    id,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    type,
    data: { object },
  };
}

interface DeliveryOptions {
  secret?: string;
  /** Seconds since the epoch the signature claims. */
  timestamp?: number;
  signature?: string | null;
  contentType?: string;
  url?: string;
}

/** POSTs `body` (serialised as Stripe does: pretty-printed) signed as Stripe signs it. */
function deliver(
  body: unknown,
  { secret = SECRET, timestamp, signature, contentType = 'application/json; charset=utf-8', url = baseUrl }: DeliveryOptions = {},
) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  const header =
    signature === undefined
      ? Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp !== undefined && { timestamp }) })
      : signature;
  return fetch(`${url}${STRIPE_WEBHOOK_PATH}`, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      ...(header !== null && { 'stripe-signature': header }),
    },
    body: payload,
  });
}

function readJson(response: Response): Promise<any> {
  return response.json();
}

/** An order's run that stays open: started on a task queue no worker polls. */
async function openOrderRun(): Promise<{ orderId: string; handle: WorkflowHandle }> {
  const order = sampleOrder();
  const handle = await startOrderWorkflow(harness.client, `webhooks-idle-${randomUUID()}`, order);
  openRuns.push(handle);
  return { orderId: order.orderId, handle };
}

/** The stripeEvent signals in a run's history, decoded. */
async function signalsReceived(handle: WorkflowHandle): Promise<StripeEventHint[]> {
  const { payloadConverter, payloadCodecs } = harness.client.options.loadedDataConverter;
  const history = await decodeHistory(await harness.client.workflow.getHandle(handle.workflowId).fetchHistory(), payloadCodecs);
  const signals = (history.events ?? []).flatMap((event) => {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    return signaled?.signalName === stripeEventSignal.name ? [signaled] : [];
  });
  return signals.map((signal) => fromPayloadsAtIndex<StripeEventHint>(payloadConverter, 0, signal.input?.payloads));
}

describe('POST /webhooks/stripe: routed events', () => {
  it('signals the order run of a signed payment_intent event, with no API key', async () => {
    // A run that is waiting for Stripe (down for this customer): the event is its reason to look again.
    const order = sampleOrder({ customerId: 'cus_down' });
    const handle = await harness.startOrder(order);
    openRuns.push(handle);
    const event = stripeEvent('payment_intent.succeeded', { orderId: order.orderId, paymentIntentId: 'pi_waiting_1' });

    const response = await deliver(event);
    expect(response.status).toBe(200);
    expect(await readJson(response)).toEqual({ received: true, workflowId: `order-${order.orderId}` });
    // A signal that arrives while the worker is in a workflow task is written to history when the task completes.
    await expect
      .poll(() => signalsReceived(handle), { timeout: 10_000 })
      .toEqual([{ eventId: event.id, type: 'payment_intent.succeeded', paymentIntentId: 'pi_waiting_1' }]);
    expect(logLines.join('')).toMatch(new RegExp(`"eventId":"${event.id}".*"workflowId":"order-${order.orderId}".*signalled`));
  });

  it.each(['payment_intent.payment_failed', 'payment_intent.canceled'])('routes %s with the PaymentIntent ID', async (type) => {
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent(type, { orderId, paymentIntentId: 'pi_routed_2' });
    expect((await deliver(event)).status).toBe(200);
    expect(await signalsReceived(handle)).toEqual([{ eventId: event.id, type, paymentIntentId: 'pi_routed_2' }]);
  });

  it("routes charge.refunded with the charge's PaymentIntent", async () => {
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent('charge.refunded', { orderId, paymentIntentId: 'pi_refunded_3' });
    expect(event.data.object.id).toMatch(/^ch_/);
    expect((await deliver(event)).status).toBe(200);
    expect(await signalsReceived(handle)).toEqual([{ eventId: event.id, type: 'charge.refunded', paymentIntentId: 'pi_refunded_3' }]);
  });

  it('answers a redelivered event 200 duplicate and signals once; another event signals again', async () => {
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent('payment_intent.succeeded', { orderId });
    const first = await deliver(event);
    expect(first.status).toBe(200);
    // Stripe redelivers the same event (same ID), signed anew.
    const again = await deliver(event, { timestamp: Math.floor(Date.now() / 1000) + 1 });
    expect(again.status).toBe(200);
    expect(await readJson(again)).toEqual({ received: true, duplicate: true });
    const later = stripeEvent('payment_intent.succeeded', { orderId });
    expect((await deliver(later)).status).toBe(200);
    expect((await signalsReceived(handle)).map((hint) => hint.eventId)).toEqual([event.id, later.id]);
  });

  it('answers 200 with a log line, and signals nothing, for an unknown order, a finished run and an event without order_id', async () => {
    const unknown = stripeEvent('payment_intent.succeeded', { orderId: `ord_unknown_${randomUUID().slice(0, 8)}` });
    const unknownResponse = await deliver(unknown);
    expect(unknownResponse.status).toBe(200);
    expect(await readJson(unknownResponse)).toEqual({
      received: true,
      workflowId: `order-${unknown.data.object.metadata.order_id}`,
      skipped: 'no_open_run',
    });

    const finished = sampleOrder();
    expect(await harness.runOrder(finished)).toMatchObject({ status: 'paid' });
    const late = stripeEvent('payment_intent.succeeded', { orderId: finished.orderId });
    const lateResponse = await deliver(late);
    expect(lateResponse.status).toBe(200);
    expect(await readJson(lateResponse)).toEqual({ received: true, workflowId: `order-${finished.orderId}`, skipped: 'no_open_run' });
    expect(await signalsReceived(harness.client.workflow.getHandle(`order-${finished.orderId}`))).toEqual([]);

    const orphan = stripeEvent('payment_intent.payment_failed', { orderId: null });
    const orphanResponse = await deliver(orphan);
    expect(orphanResponse.status).toBe(200);
    expect(await readJson(orphanResponse)).toEqual({ received: true, skipped: 'no_order_id' });

    const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        eventId: unknown.id,
        type: 'payment_intent.succeeded',
        workflowId: `order-${unknown.data.object.metadata.order_id}`,
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 30, eventId: late.id, type: 'payment_intent.succeeded', workflowId: `order-${finished.orderId}` }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        eventId: orphan.id,
        type: 'payment_intent.payment_failed',
        msg: expect.stringContaining('order_id'),
      }),
    );
  });

  it('answers 200 ignored for an event type no run listens for', async () => {
    const { orderId, handle } = await openOrderRun();
    const response = await deliver(stripeEvent('payment_intent.created', { orderId }));
    expect(response.status).toBe(200);
    expect(await readJson(response)).toEqual({ received: true, ignored: true });
    const customer = await deliver({ ...stripeEvent('customer.created'), data: { object: { id: 'cus_new', object: 'customer' } } });
    expect(await readJson(customer)).toEqual({ received: true, ignored: true });
    expect(await signalsReceived(handle)).toEqual([]);
  });
});

describe('POST /webhooks/stripe: what is refused', () => {
  it('answers 400 invalid_signature for a wrong secret, a missing header, a stale or malformed signature, and signals nothing', async () => {
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent('payment_intent.succeeded', { orderId });
    const attempts = [
      deliver(event, { secret: 'whsec_someone_elses_secret' }),
      deliver(event, { signature: null }),
      deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      deliver(event, { signature: 't=abc,v1=def' }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(400);
      const { error } = await readJson(response);
      expect(error).toMatchObject({ code: 'invalid_signature', message: expect.stringContaining('STRIPE_WEBHOOK_SECRET') });
      expect(error.message).toContain('whsec_');
    }
    // A body altered after signing does not verify either.
    const payload = JSON.stringify(event, null, 2);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const altered = await deliver(payload.replace(orderId, `${orderId}x`), { signature });
    expect(altered.status).toBe(400);
    expect(await signalsReceived(handle)).toEqual([]);

    // Refused deliveries are not remembered: the genuine one is routed.
    expect(await readJson(await deliver(event))).toEqual({ received: true, workflowId: `order-${orderId}` });
    expect(await signalsReceived(handle)).toHaveLength(1);
  });

  it('verifies the raw bytes: a body the JSON parser elsewhere refuses (a key twice) still verifies', async () => {
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent('payment_intent.succeeded', { orderId, paymentIntentId: 'pi_raw_4' });
    const payload = JSON.stringify(event, null, 2).replace('"livemode": false,', '"livemode": false,\n  "livemode": false,');
    expect(payload.match(/"livemode"/g)).toHaveLength(2);
    const response = await deliver(payload);
    expect(response.status).toBe(200);
    expect(await signalsReceived(handle)).toEqual([{ eventId: event.id, type: 'payment_intent.succeeded', paymentIntentId: 'pi_raw_4' }]);
  });

  it('answers 503 when Temporal is unreachable, so Stripe redelivers; the event is not remembered as handled', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const offline = buildApp({
      client: new Client({ connection }),
      taskQueue: 'nowhere',
      triggerApiKeys: ['ask_webhooks_key_0001'],
      stripeWebhookSecret: SECRET,
    });
    const event = stripeEvent('payment_intent.succeeded', { orderId: 'ord_offline_1' });
    const payload = JSON.stringify(event);
    const send = () =>
      offline.inject({
        method: 'POST',
        url: STRIPE_WEBHOOK_PATH,
        headers: {
          'content-type': 'application/json',
          'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
        },
        payload,
      });
    for (const response of [await send(), await send()]) {
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('temporal_unavailable');
    }
    await offline.close();
    await connection.close();
  });
});
