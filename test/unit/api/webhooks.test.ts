/**
 * POST /webhooks/stripe in process, on the real Temporal client talking to the stand-in frontend: what
 * the route refuses before Temporal hears of it (bodies that are no event, sizes, content types, no
 * secret configured), its own rate limit, redeliveries after Temporal could not be reached, its OpenAPI
 * entry and the memory of handled events. Events signalling real runs are in test/e2e/webhooks.test.ts
 * (the battery of hostile deliveries in hostile-webhook.test.ts beside this file).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { FastifyInstance } from 'fastify';
import { buildApp, STRIPE_WEBHOOK_PATH } from '../../../src/api/app.js';
import { RecentIds } from '../../../src/api/recent-ids.js';
import { startOrderWorkflow } from '../../../src/api/start-order.js';
import { TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../../src/http/error-reply.js';
import { stripeEventSignal, workflowIdForOrder } from '../../../src/workflows/names.js';
import { sampleOrder } from '../../support/orders.js';
import type { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { useApiOnStandIn } from '../../support/api-on-stand-in.js';

const SECRET = 'whsec_test_webhooks_0001';
const API_KEY = 'ask_webhooks_key_0001';
const TASK_QUEUE = 'order-processing-unit';

let temporal: TemporalStandIn;
let app: FastifyInstance;

useApiOnStandIn(
  { taskQueue: TASK_QUEUE, triggerApiKeys: [API_KEY], stripeWebhookSecret: SECRET },
  (standIn, built) => ([temporal, app] = [standIn, built]),
);

function stripeEvent(type: string, { id = `evt_${randomUUID().replaceAll('-', '')}`, orderId }: { id?: string; orderId?: string } = {}) {
  const metadata = orderId ? { order_id: orderId } : {};
  return {
    id,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: Math.floor(Date.now() / 1000),
    type,
    data: { object: { id: 'pi_webhook_1', object: 'payment_intent', metadata } },
  };
}

/** POSTs `body` (serialised as Stripe does: pretty-printed) signed as Stripe signs it. */
function deliver(body: unknown, { contentType = 'application/json; charset=utf-8', on = app } = {}) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  return on.inject({
    method: 'POST',
    url: STRIPE_WEBHOOK_PATH,
    headers: { 'content-type': contentType, 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
    payload,
  });
}

describe('what is refused', () => {
  it('answers 400 invalid_event for a signed body that is not a Stripe event, and remembers nothing of it', async () => {
    const notJson = await deliver('this is not JSON');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe('invalid_event');
    const eventId = `evt_${randomUUID().replaceAll('-', '')}`;
    const withoutData = await deliver({ id: eventId, object: 'event', type: 'payment_intent.succeeded' });
    expect(withoutData.statusCode).toBe(400);
    // Once well formed, the same event ID is handled, not taken for a duplicate (its order has no run).
    const orderId = `ord_${randomUUID().slice(0, 8)}`;
    const valid = await deliver(stripeEvent('payment_intent.succeeded', { id: eventId, orderId }));
    expect(valid.statusCode).toBe(200);
    expect(valid.json()).toEqual({ received: true, workflowId: workflowIdForOrder(orderId), skipped: 'no_open_run' });
    expect(temporal.received('SignalWorkflowExecution')).toMatchObject([
      { workflowExecution: { workflowId: workflowIdForOrder(orderId) } },
    ]);
  });

  it('answers 415 for a body that is not JSON and 413 over the body limit', async () => {
    const text = await deliver('id=evt_1', { contentType: 'application/x-www-form-urlencoded' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
    const big = await deliver({ ...stripeEvent('customer.created'), padding: 'x'.repeat(101 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('body_too_large');
    expect(temporal.requests).toEqual([]);
  });

  it('answers 503 webhooks_not_configured, naming the variable, without STRIPE_WEBHOOK_SECRET', async () => {
    const unconfigured = buildApp({ client: temporal.client(), taskQueue: TASK_QUEUE, triggerApiKeys: [API_KEY] });
    const response = await unconfigured.inject({
      method: 'POST',
      url: STRIPE_WEBHOOK_PATH,
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' },
      payload: JSON.stringify(stripeEvent('payment_intent.succeeded')),
    });
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toMatchObject({
      code: 'webhooks_not_configured',
      message: expect.stringContaining('STRIPE_WEBHOOK_SECRET'),
    });
    await unconfigured.close();
    expect(temporal.requests).toEqual([]);
  });

  it('has its own rate limit per client IP, not the per-key one', async () => {
    const limited = buildApp({
      client: temporal.client(),
      taskQueue: TASK_QUEUE,
      triggerApiKeys: [API_KEY],
      stripeWebhookSecret: SECRET,
      rateLimit: { max: 2, windowMs: 60_000 },
      webhookRateLimit: { max: 4, windowMs: 60_000 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await deliver(stripeEvent('customer.created'), { on: limited })).statusCode);
    // Past the per-key limit (2), within the webhook's own (4).
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = await deliver(stripeEvent('customer.created'), { on: limited });
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.json().error.code).toBe('rate_limited');
    // The webhook's deliveries used none of the API's budget.
    expect(
      (await limited.inject({ method: 'GET', url: '/api/runs/order-x', headers: { authorization: `Bearer ${API_KEY}` } })).statusCode,
    ).toBe(404);
    await limited.close();
  });
});

describe('Temporal unreachable', () => {
  it('answers 503 with Retry-After, so Stripe redelivers; the event is not remembered, and its redelivery is signalled once', async () => {
    const order = sampleOrder();
    const { workflowId } = await startOrderWorkflow(temporal.client(), TASK_QUEUE, order);
    const event = stripeEvent('payment_intent.succeeded', { orderId: order.orderId });
    temporal.unavailable = true;
    for (const response of [await deliver(event), await deliver(event)]) {
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('temporal_unavailable');
      expect(response.headers['retry-after']).toBe(String(TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS));
    }
    temporal.unavailable = false;
    const redelivered = await deliver(event);
    expect(redelivered.json()).toEqual({ received: true, workflowId });
    expect((await deliver(event)).json()).toEqual({ received: true, duplicate: true });
    expect(temporal.signalsTo(workflowId)).toEqual([
      { name: stripeEventSignal.name, arg: { eventId: event.id, type: 'payment_intent.succeeded', paymentIntentId: 'pi_webhook_1' } },
    ]);
  });
});

describe('documented', () => {
  it('is in /openapi.json without the API key', async () => {
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const webhook = openapi.paths['/webhooks/stripe'].post;
    expect(webhook.security).toBeUndefined();
    expect(webhook.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'stripe-signature' }));
    expect(Object.keys(webhook.responses)).toEqual(expect.arrayContaining(['200', '400', '503']));
  });
});

describe('the memory of handled events', () => {
  it('is bounded: past its capacity the oldest event ID is forgotten first', () => {
    const ids = new RecentIds(3);
    expect(['evt_1', 'evt_2', 'evt_3'].map((id) => ids.add(id))).toEqual([true, true, true]);
    expect(ids.add('evt_1')).toBe(false);
    expect(ids.add('evt_4')).toBe(true);
    expect([ids.add('evt_1'), ids.add('evt_4')]).toEqual([true, false]);
  });
});
