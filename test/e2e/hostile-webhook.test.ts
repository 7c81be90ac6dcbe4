/**
 * "Prove it: hostile input" for POST /webhooks/stripe, through the real stack: a sample of hostile
 * deliveries over a real socket to the API in front of a Temporal dev server, odd but routed events and
 * raced redeliveries signalling real runs once (counted in their histories), and a genuine event still
 * handled, with nothing logged as an error. The whole battery (malformed and stale signatures, signed
 * bodies that are no event, odd types, sizes and content types) runs in process in
 * test/unit/api/hostile-webhook.test.ts.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { FastifyInstance } from 'fastify';
import type { WorkflowHandle } from '@temporalio/client';
import { fromPayloadsAtIndex } from '@temporalio/common';
import { buildApp } from '../../src/api/app.js';
import { decodeHistory } from '../../src/codec/history.js';
import { type StripeEventHint } from '../../src/domain/payment.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { stripeEventSignal } from '../../src/workflows/names.js';
import { chunkedBody } from '../support/chunked-body.js';
import { expectRefusal, nowSeconds, stripeDeliveries, stripeEvent, type Delivery } from '../support/webhook-deliveries.js';

const SECRET = 'whsec_hostile_webhook_0001';

let harness: Harness;
let app: FastifyInstance;
let baseUrl: string;
const logLines: string[] = [];
/** Runs this file leaves open, terminated at the end. */
const openRuns: WorkflowHandle[] = [];

beforeAll(async () => {
  // No worker: an order's run stays open, so signals to it stay in its history to be counted.
  harness = await startHarness({ withoutWorker: true });
  const stream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(chunk.toString()), done()) });
  app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: ['ask_hostile_webhook_0001'],
    stripeWebhookSecret: SECRET,
    log: { level: 'info', stream },
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await Promise.all(openRuns.map((handle) => handle.terminate('hostile-webhook.test.ts is done').catch(() => undefined)));
  await app?.close();
  await harness?.close();
});

const { sign, deliverOverHttp } = stripeDeliveries(SECRET, () => baseUrl);

/** An order's run that stays open (no worker polls its task queue). */
async function openOrderRun(): Promise<{ orderId: string; handle: WorkflowHandle }> {
  const order = sampleOrder();
  const handle = await harness.startOrder(order);
  openRuns.push(handle);
  return { orderId: order.orderId, handle };
}

/** The stripeEvent signals in a run's history, decoded. */
async function signalsReceived(handle: WorkflowHandle): Promise<StripeEventHint[]> {
  const { payloadConverter, payloadCodecs } = harness.client.options.loadedDataConverter;
  const history = await decodeHistory(await handle.fetchHistory(), payloadCodecs);
  return (history.events ?? []).flatMap((event) => {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    return signaled?.signalName === stripeEventSignal.name
      ? [fromPayloadsAtIndex<StripeEventHint>(payloadConverter, 0, signaled.input?.payloads)]
      : [];
  });
}

describe('POST /webhooks/stripe with hostile deliveries', () => {
  const payload = JSON.stringify(stripeEvent('payment_intent.succeeded'));

  it.each<[string, string | (() => ReadableStream<Uint8Array>), Delivery, number, string]>([
    ['no Stripe-Signature', payload, { signature: null }, 400, 'invalid_signature'],
    [
      "another endpoint's secret",
      payload,
      { signature: Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other_0001' }) },
      400,
      'invalid_signature',
    ],
    ['a stale signature', payload, { signature: sign(payload, nowSeconds() - 301) }, 400, 'invalid_signature'],
    ['a signed body that is no event', '[]', {}, 400, 'invalid_event'],
    ['a 5 MB body streamed without Content-Length', chunkedBody(5 * 1024 * 1024), {}, 413, 'body_too_large'],
    ['a signed event as text/plain', payload, { contentType: 'text/plain' }, 415, 'unsupported_media_type'],
  ])('refuses %s in the error shape, never a 5xx', async (_label, body, delivery, status, code) => {
    expectRefusal(await deliverOverHttp(body, delivery), status, code);
  });
});

describe('POST /webhooks/stripe with a well-formed event of an odd kind', () => {
  it('acknowledges a routed event whose object fields have odd types 200, routing nothing', async () => {
    const { orderId, handle } = await openOrderRun();
    const odd = [
      { id: 42, metadata: { order_id: 42 } },
      { id: 'pi_odd', metadata: 'order_id' },
      { id: 'pi_odd', metadata: [orderId] },
      { id: 'pi_odd', metadata: { order_id: [orderId] } },
      { id: 'pi_odd', metadata: null },
    ];
    for (const object of odd) {
      const answer = await deliverOverHttp(JSON.stringify(stripeEvent('payment_intent.succeeded', object)));
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ received: true, skipped: 'no_order_id' });
    }
    // A charge whose payment_intent is no ID still reaches its order, as a hint without a PaymentIntent.
    const refund = stripeEvent('charge.refunded', {
      id: 'ch_odd',
      object: 'charge',
      payment_intent: { id: 7 },
      metadata: { order_id: orderId },
    });
    const answer = await deliverOverHttp(JSON.stringify(refund));
    expect(answer.status, answer.body).toBe(200);
    expect(await signalsReceived(handle)).toEqual([{ eventId: refund.id, type: 'charge.refunded' }]);
  });
});

describe('POST /webhooks/stripe with a duplicated delivery of a valid event', () => {
  it('answers 200 every time, in sequence or at once, and signals the run once', async () => {
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent('payment_intent.succeeded', { id: 'pi_dup_1', object: 'payment_intent', metadata: { order_id: orderId } });
    const payload = JSON.stringify(event, null, 2);
    // Stripe's redeliveries race: three at once, then one re-signed later.
    const atOnce = await Promise.all([deliverOverHttp(payload), deliverOverHttp(payload), deliverOverHttp(payload)]);
    const later = await deliverOverHttp(payload, { signature: sign(payload, nowSeconds() + 1) });
    const answers = [...atOnce, later].map((answer) => ({
      status: answer.status,
      body: JSON.parse(answer.body) as Record<string, unknown>,
    }));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(answers.filter((answer) => answer.body.duplicate === true)).toHaveLength(3);
    expect(answers.map((answer) => answer.body)).toContainEqual({ received: true, workflowId: `order-${orderId}` });
    expect(await signalsReceived(handle)).toEqual([{ eventId: event.id, type: 'payment_intent.succeeded', paymentIntentId: 'pi_dup_1' }]);
  });
});

describe('after the hostile deliveries', () => {
  it('logged no server error and still handles a genuine event', async () => {
    const errors = logLines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
    const { orderId, handle } = await openOrderRun();
    const event = stripeEvent('payment_intent.payment_failed', {
      id: 'pi_after_1',
      object: 'payment_intent',
      metadata: { order_id: orderId },
    });
    const answer = await deliverOverHttp(JSON.stringify(event));
    expect(answer.status, answer.body).toBe(200);
    expect(await signalsReceived(handle)).toEqual([
      { eventId: event.id, type: 'payment_intent.payment_failed', paymentIntentId: 'pi_after_1' },
    ]);
  });
});
