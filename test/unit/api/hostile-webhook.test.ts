/**
 * "Prove it: hostile input" for POST /webhooks/stripe, in process. Whatever arrives, the endpoint never
 * answers 5xx to what it should refuse (Stripe would redeliver for days and count it toward disabling the
 * endpoint): a malformed or stale Stripe-Signature is 400 invalid_signature, a signed body that is no
 * event 400 invalid_event naming what is wrong, an unknown type 200 ignored, a redelivery 200 signalled
 * once; bodies over the limit 413, other content types 415. The app runs on the real Temporal client
 * talking to the stand-in frontend, which records the signals it receives; it listens on a loopback port
 * for deliveries sent as Stripe sends them. Signals reaching real runs are in test/e2e/hostile-webhook.test.ts.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { FastifyInstance } from 'fastify';
import { buildApp, STRIPE_WEBHOOK_PATH } from '../../../src/api/app.js';
import { startOrderWorkflow } from '../../../src/api/start-order.js';
import { type StripeEventHint } from '../../../src/domain/payment.js';
import { stripeEventSignal } from '../../../src/workflows/names.js';
import { sampleOrder } from '../../support/orders.js';
import { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { chunkedBody } from '../../support/chunked-body.js';
import {
  DEFAULT_CONTENT_TYPE,
  expectRefusal,
  nowSeconds,
  stripeDeliveries,
  stripeEvent,
  type Delivery,
  type WebhookAnswer,
} from '../../support/webhook-deliveries.js';

const SECRET = 'whsec_hostile_webhook_0001';
const TASK_QUEUE = 'order-processing-unit';
/** Bounded so the file stays within a few seconds. */
const RUNS = { numRuns: 300 };

const temporal = new TemporalStandIn();
let app: FastifyInstance;
let baseUrl: string;
const logLines: string[] = [];

beforeAll(async () => {
  const stream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(chunk.toString()), done()) });
  app = buildApp({
    client: temporal.client(),
    taskQueue: TASK_QUEUE,
    triggerApiKeys: ['ask_hostile_webhook_0001'],
    stripeWebhookSecret: SECRET,
    // Thousands of deliveries in seconds: the webhook's own rate limit is tested in webhooks.test.ts.
    webhookRateLimit: { max: 1_000_000, windowMs: 60_000 },
    log: { level: 'info', stream },
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
});

const { sign, deliverOverHttp } = stripeDeliveries(SECRET, () => baseUrl);

/** The v1 signature of `payload` at `timestamp` under this endpoint's secret, alone. */
const v1Of = (payload: string, timestamp: number) => sign(payload, timestamp).split(',v1=')[1];

/** POSTs the payload in-process (for volume), signed by default. */
async function deliverInjected(payload: string, { signature, contentType = DEFAULT_CONTENT_TYPE }: Delivery = {}): Promise<WebhookAnswer> {
  const header = signature === undefined ? sign(payload) : signature;
  const response = await app.inject({
    method: 'POST',
    url: STRIPE_WEBHOOK_PATH,
    headers: { ...(contentType !== null && { 'content-type': contentType }), ...(header !== null && { 'stripe-signature': header }) },
    payload,
  });
  return { status: response.statusCode, contentType: response.headers['content-type'], body: response.body };
}

/** An order's run that stays open (no worker polls the stand-in). */
async function openOrderRun(): Promise<{ orderId: string; workflowId: string }> {
  const order = sampleOrder();
  const handle = await startOrderWorkflow(temporal.client(), TASK_QUEUE, order);
  return { orderId: order.orderId, workflowId: handle.workflowId };
}

/** The stripeEvent signals the run received, decoded. */
function signalsReceived(workflowId: string): StripeEventHint[] {
  return temporal
    .signalsTo(workflowId)
    .filter(({ name }) => name === stripeEventSignal.name)
    .map(({ arg }) => arg as StripeEventHint);
}

describe('POST /webhooks/stripe with a malformed or stale Stripe-Signature: 400 invalid_signature', () => {
  const payload = JSON.stringify(stripeEvent('payment_intent.succeeded'));
  const t = nowSeconds();
  const valid = v1Of(payload, t);
  const other = v1Of(payload.replace('pi_hostile', 'pi_other'), t);

  it.each<[string, string | null, RegExp]>([
    ['no header', null, /no Stripe-Signature header/],
    ['an empty header', '', /no Stripe-Signature header/],
    ['an empty v1', `t=${t},v1=`, /v1 signature is not 64 lowercase hex digits/],
    ['a v1 without =', `t=${t},v1`, /v1 signature is not 64 lowercase hex digits/],
    ['an empty v1 beside a valid one', `t=${t},v1=,v1=${valid}`, /v1 signature is not 64 lowercase hex digits/],
    ['a v1 that is not hex', `t=${t},v1=${'z'.repeat(64)}`, /v1 signature is not 64 lowercase hex digits/],
    ['a v1 in upper case', `t=${t},v1=${valid.toUpperCase()}`, /v1 signature is not 64 lowercase hex digits/],
    ['no t', `v1=${valid}`, /no t=<timestamp>/],
    ['an empty t', `t=,v1=${valid}`, /t is not a Unix time/],
    ['a non-numeric t', `t=abc,v1=${valid}`, /t is not a Unix time/],
    ['a t with a digit prefix', `t=${t}abc,v1=${valid}`, /t is not a Unix time/],
    ['a negative t', `t=-${t},v1=${valid}`, /t is not a Unix time/],
    ['a fractional t', `t=${t}.5,v1=${valid}`, /t is not a Unix time/],
    ['t twice', `t=${t},t=${t},v1=${valid}`, /t=<timestamp> appears more than once/],
    ['garbage', 'garbage', /no t=<timestamp>/],
    ['only commas and equals signs', ',,=,=', /no t=<timestamp>/],
    ['a space after the comma', `t=${t}, v1=${valid}`, /no v1=<signature>/],
    ['the wrong scheme (v0 only)', `t=${t},v0=${valid}`, /no v1=<signature>/],
    ['a scheme spelled V1', `t=${t},V1=${valid}`, /no v1=<signature>/],
    ['several v1, none matching', `t=${t},v1=${other},v1=${'0'.repeat(64)},v1=${'f'.repeat(64)}`, /No signatures found matching/],
    ["another endpoint's secret", Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other_0001' }), /No signatures found/],
    ['a signature for another timestamp', `t=${t + 1},v1=${valid}`, /No signatures found matching/],
    ['a stale signature (301 s old)', sign(payload, nowSeconds() - 301), /Timestamp outside the tolerance zone/],
    ['a stale signature (t=1)', sign(payload, 1), /Timestamp outside the tolerance zone/],
  ])('refuses %s, naming what is wrong', async (_label, signature, reason) => {
    const error = expectRefusal(await deliverOverHttp(payload, { signature }), 400, 'invalid_signature');
    expect(error.message).toMatch(reason);
    expect(error.message).toContain('STRIPE_WEBHOOK_SECRET');
  });

  it('accepts a valid v1 beside another scheme and a non-matching v1 (secret rotation), so the refusals above are about form', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_rotation', object: 'customer' });
    const body = JSON.stringify(event);
    const at = nowSeconds();
    const answer = await deliverInjected(body, { signature: `t=${at},v1=${'0'.repeat(64)},v1=${v1Of(body, at)},v0=${'1'.repeat(64)}` });
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ received: true, ignored: true });
  });

  /** Headers built from Stripe-like items with hostile values: empty, missing, non-numeric, wrong scheme, repeated. */
  const hostileHeader = fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
    fc
      .array(
        fc.tuple(
          fc.constantFrom('t', 'v1', 'v0', 'V1', ' v1', 'v1 ', '', 'x'),
          fc.option(fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[0-9a-f]{64}$/), fc.integer().map(String)), {
            nil: undefined,
          }),
        ),
        { maxLength: 6 },
      )
      .map((items) => items.map(([key, value]) => (value === undefined ? key : `${key}=${value}`)).join(',')),
  );

  it('refuses every hostile Stripe-Signature with 400 invalid_signature, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(hostileHeader, async (signature) => {
        expectRefusal(await deliverInjected(payload, { signature }), 400, 'invalid_signature');
      }),
      RUNS,
    );
  });
});

describe('POST /webhooks/stripe with a signed body that is not an event: 400 invalid_event', () => {
  const withoutField = (field: string) => {
    const event: Record<string, unknown> = stripeEvent('payment_intent.succeeded');
    delete event[field];
    return JSON.stringify(event);
  };
  const withField = (field: string, value: unknown) => JSON.stringify({ ...stripeEvent('payment_intent.succeeded'), [field]: value });

  it.each<[string, string, RegExp]>([
    ['null', 'null', /it is null, not an object/],
    ['an array', '[]', /it is an array, not an object/],
    ['an array holding an event', JSON.stringify([stripeEvent('payment_intent.succeeded')]), /it is an array, not an object/],
    ['a number', '4999', /it is a number, not an object/],
    ['a string', '"evt_1"', /it is a string, not an object/],
    ['a boolean', 'true', /it is a boolean, not an object/],
    ['not JSON', 'id=evt_1&type=payment_intent.succeeded', /not JSON/],
    ['truncated JSON', JSON.stringify(stripeEvent('payment_intent.succeeded')).slice(0, -1), /not JSON/],
    ['an empty body', '', /not JSON/],
    ['an object without id', withoutField('id'), /id must be a non-empty string/],
    ['an empty id', withField('id', ''), /id must be a non-empty string/],
    ['a numeric id', withField('id', 42), /id must be a non-empty string/],
    ['an object without type', withoutField('type'), /type must be a string/],
    ['a type that is not a string', withField('type', ['payment_intent.succeeded']), /type must be a string/],
    ['a null type', withField('type', null), /type must be a string/],
    ['no data', withoutField('data'), /data.object must be an object/],
    ['a null data', withField('data', null), /data.object must be an object/],
    ['no data.object', withField('data', {}), /data.object must be an object/],
    ['a null data.object', withField('data', { object: null }), /data.object must be an object/],
    ['a data.object that is a string', withField('data', { object: 'pi_1' }), /data.object must be an object/],
    ['a data.object that is an array', withField('data', { object: [] }), /data.object must be an object/],
    [
      'a thin event (v2), which carries no object',
      JSON.stringify({ id: 'evt_thin_1', object: 'v2.core.event', type: 'v1.billing.meter.error_report_triggered' }),
      /data.object must be an object/,
    ],
  ])('refuses %s, naming what is wrong', async (_label, payload, reason) => {
    const error = expectRefusal(await deliverOverHttp(payload), 400, 'invalid_event');
    expect(error.message).toMatch(/^The signed body is not a Stripe event: /);
    expect(error.message).toMatch(reason);
  });

  it('refuses a signed POST with no body and no content type as an empty body: 400 invalid_event', async () => {
    const response = await app.inject({ method: 'POST', url: STRIPE_WEBHOOK_PATH, headers: { 'stripe-signature': sign('') } });
    const error = expectRefusal(
      { status: response.statusCode, contentType: response.headers['content-type'], body: response.body },
      400,
      'invalid_event',
    );
    expect(error.message).toMatch(/not JSON/);
  });

  it('answers any signed JSON value 200 when it is an event and 400 invalid_event when not, never a 5xx', async () => {
    const eventLike = fc.record(
      {
        id: fc.oneof(fc.stringMatching(/^evt_[A-Za-z0-9]{1,24}$/), fc.jsonValue({ maxDepth: 1 })),
        type: fc.oneof(
          fc.constantFrom('payment_intent.succeeded', 'charge.refunded', 'customer.created', ''),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        data: fc.oneof(
          fc.record({
            object: fc.oneof(
              fc.jsonValue({ maxDepth: 2 }),
              fc.record({
                id: fc.jsonValue({ maxDepth: 1 }),
                metadata: fc.jsonValue({ maxDepth: 2 }),
                payment_intent: fc.jsonValue({ maxDepth: 2 }),
              }),
            ),
          }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 3 }), eventLike), async (value) => {
        const answer = await deliverInjected(JSON.stringify(value));
        if (answer.status === 200) {
          const event = value as { id?: unknown; type?: unknown; data?: { object?: unknown } } | null;
          expect(
            typeof event?.id === 'string' && typeof event.type === 'string' && typeof event.data?.object === 'object',
            answer.body,
          ).toBe(true);
          expect(JSON.parse(answer.body)).toMatchObject({ received: true });
        } else {
          expectRefusal(answer, 400, 'invalid_event');
        }
      }),
      RUNS,
    );
  });
});

describe('POST /webhooks/stripe with a well-formed event of an odd kind', () => {
  it.each([
    ['an unknown type', stripeEvent('customer.subscription.paused', { id: 'sub_1', object: 'subscription' })],
    ['an empty type', stripeEvent('', { id: 'x' })],
    ['a type of 10 000 characters', stripeEvent('x'.repeat(10_000), { id: 'x' })],
    ['a routed-looking type in another case', stripeEvent('PAYMENT_INTENT.SUCCEEDED')],
  ])('acknowledges %s 200 and ignores it', async (_label, event) => {
    const answer = await deliverOverHttp(JSON.stringify(event));
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ received: true, ignored: true });
  });

  it('acknowledges a routed event whose object fields have odd types 200, routing nothing', async () => {
    const { orderId, workflowId } = await openOrderRun();
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
    expect(signalsReceived(workflowId)).toEqual([{ eventId: refund.id, type: 'charge.refunded' }]);
  });
});

describe('POST /webhooks/stripe with a duplicated delivery of a valid event', () => {
  it('answers 200 every time, in sequence or at once, and signals the run once', async () => {
    const { orderId, workflowId } = await openOrderRun();
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
    expect(signalsReceived(workflowId)).toEqual([{ eventId: event.id, type: 'payment_intent.succeeded', paymentIntentId: 'pi_dup_1' }]);
  });
});

describe('POST /webhooks/stripe with an oversized body or another content type', () => {
  const big = (bytes: number) => JSON.stringify({ ...stripeEvent('customer.created'), padding: 'x'.repeat(bytes) });
  it.each<[string, string | (() => ReadableStream<Uint8Array>)]>([
    ['a signed 101 KB event', big(101 * 1024)],
    ['a signed 5 MB event', big(5 * 1024 * 1024)],
    ['a 5 MB body streamed without Content-Length', chunkedBody(5 * 1024 * 1024)],
  ])('answers %s 413 body_too_large', async (_label, payload) => {
    const error = expectRefusal(await deliverOverHttp(payload), 413, 'body_too_large');
    expect(error.message).toMatch(/exceeds \d+ bytes/);
  });

  it.each<[string, string | null]>([
    ['text/plain', 'text/plain'],
    ['form-urlencoded', 'application/x-www-form-urlencoded'],
    ['another JSON flavour', 'application/vnd.api+json'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['no content type', null],
  ])('answers a signed event sent as %s 415 unsupported_media_type', async (_label, contentType) => {
    const payload = JSON.stringify(stripeEvent('customer.created'));
    expectRefusal(await deliverOverHttp(payload, { contentType }), 415, 'unsupported_media_type');
  });
});

describe('after the hostile deliveries', () => {
  it('logged no server error and still handles a genuine event', async () => {
    const errors = logLines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
    const { orderId, workflowId } = await openOrderRun();
    const event = stripeEvent('payment_intent.payment_failed', {
      id: 'pi_after_1',
      object: 'payment_intent',
      metadata: { order_id: orderId },
    });
    const answer = await deliverOverHttp(JSON.stringify(event));
    expect(answer.status, answer.body).toBe(200);
    expect(signalsReceived(workflowId)).toEqual([
      { eventId: event.id, type: 'payment_intent.payment_failed', paymentIntentId: 'pi_after_1' },
    ]);
    // Of everything this file delivered, three events reached a run: the odd refund, the redelivered one (once) and this one.
    expect(temporal.runs().flatMap((run) => run.signals)).toHaveLength(3);
    expect(temporal.received('StartWorkflowExecution')).toHaveLength(3);
  });
});
