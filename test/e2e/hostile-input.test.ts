/**
 * "Prove it: hostile input", through the real stack: hostile requests over a real socket to the API in
 * front of a Temporal dev server and a worker start no workflow, call no provider, and leave the API
 * answering a valid order, which is paid; and Parse Order refuses the same input when a run is started
 * directly. The battery itself (about 2,000 property-based and hand-written requests) runs in process in
 * test/unit/api/hostile-input.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import Stripe from 'stripe';
import { buildApp, STRIPE_WEBHOOK_PATH, TRIGGER_PATH } from '../../src/api/app.js';
import type { ErrorBody } from '../../src/http/error-reply.js';
import { INVALID_ORDER } from '../../src/domain/failures.js';
import type { OrderParams } from '../../src/domain/order.js';
import { sampleOrder, startHarness, uniqueOrderId, type Harness } from '../support/harness.js';
import { stripeKeyedRequests } from '../support/sandbox-records.js';
import { chunkedBody } from '../support/chunked-body.js';

const API_KEY = 'ask_hostile_key_0001';
const WEBHOOK_SECRET = 'whsec_hostile_0001';

let harness: Harness;
let app: FastifyInstance;
let baseUrl: string;
/** Every orderId string sent, so we can check afterwards that none of them has a run. */
const sentOrderIds = new Set<string>();

beforeAll(async () => {
  harness = await startHarness();
  app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    stripeWebhookSecret: WEBHOOK_SECRET,
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

/** A valid order under a fresh ID, with `overrides` applied (an `undefined` value drops the field). */
function hostileOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...sampleOrder({ orderId: uniqueOrderId('hostile') }), ...overrides };
}

/** Remembers the orderId a body names (a trigger's, or a Stripe event's), if it names one as a string. */
function noteOrderId(body: RequestBody): void {
  if (typeof body === 'function') return;
  try {
    const parsed = JSON.parse(body) as { params?: { orderId?: unknown }; data?: { object?: { metadata?: { order_id?: unknown } } } };
    const orderId = parsed?.params?.orderId ?? parsed?.data?.object?.metadata?.order_id;
    if (typeof orderId === 'string') sentOrderIds.add(orderId);
  } catch {
    // Not JSON: it names no order.
  }
}

function triggerBody(params: unknown): string {
  return JSON.stringify({ connectionId: 'conn_hostile', params });
}

/** A valid body whose `field` value is replaced by raw JSON text (for what JSON.stringify cannot write). */
function bodyWithRawField(field: string, rawValue: string): string {
  const placeholder = '\u0001placeholder\u0001';
  return triggerBody(hostileOrder({ [field]: placeholder })).replace(JSON.stringify(placeholder), rawValue);
}

type RequestBody = string | (() => ReadableStream<Uint8Array>);

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

async function overHttp(path: string, body: RequestBody, headers: Record<string, string>): Promise<Answer> {
  const streamed = typeof body === 'function';
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers,
    body: streamed ? body() : body,
    // Node's fetch needs this to stream a body of unknown length (chunked).
    ...(streamed && { duplex: 'half' }),
  });
  return { status: response.status, headers: Object.fromEntries(response.headers.entries()), text: await response.text() };
}

function withDefaults(overrides: Record<string, string | undefined>): Record<string, string> {
  const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...overrides };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

const invalidOrder = (field: string) => ({ status: 400, code: 'invalid_order', field: `params.${field}` });
const validBody = () => triggerBody(hostileOrder());

/** One of each kind of hostile request the unit battery sends, here through the real stack. */
interface HostileRequest {
  path?: string;
  body: RequestBody;
  headers?: Record<string, string | undefined>;
  status: number;
  code: string;
  field?: string;
}

const hostileRequests: Record<string, HostileRequest> = {
  'malformed JSON': { body: '{"params": {orderId: "ord_1"}}', status: 400, code: 'bad_request' },
  'JSON sent as text/plain': { body: validBody(), headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  'a 5 MB body streamed without Content-Length': { body: chunkedBody(5 * 1024 * 1024), status: 413, code: 'body_too_large' },
  'an amount as a string': { body: triggerBody(hostileOrder({ amount: '4999' })), ...invalidOrder('amount') },
  'an RTL override in customerId': { body: triggerBody(hostileOrder({ customerId: 'cus_\u202eabc' })), ...invalidOrder('customerId') },
  'a duplicate amount, the last one valid': {
    body: bodyWithRawField('amount', '"4999", "amount": 4999'),
    status: 400,
    code: 'bad_request',
  },
  'a __proto__ key in params': {
    body: `{"params":{"__proto__":{"polluted":true},${JSON.stringify(hostileOrder()).slice(1)}}`,
    status: 400,
    code: 'bad_request',
  },
  'a CRLF in orderId': { body: triggerBody(hostileOrder({ orderId: 'ord_1\r\nX-Injected: 1' })), ...invalidOrder('orderId') },
  'a Bcc header in email': {
    body: triggerBody(hostileOrder({ email: 'customer@example.com\r\nBcc: victim@example.com' })),
    ...invalidOrder('email'),
  },
  'a forged key': { body: validBody(), headers: { authorization: 'Bearer ask_forged_key_9999' }, status: 401, code: 'unauthorized' },
  'a 100 KB Authorization header': {
    body: validBody(),
    headers: { authorization: `Bearer ${'k'.repeat(100 * 1024)}` },
    status: 431,
    code: 'headers_too_large',
  },
  'a forged Stripe signature naming an order': {
    path: STRIPE_WEBHOOK_PATH,
    body: JSON.stringify({
      id: 'evt_hostile_forged',
      object: 'event',
      type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_hostile', metadata: { order_id: hostileOrder().orderId } } },
    }),
    headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: '{}', secret: WEBHOOK_SECRET }) },
    status: 400,
    code: 'invalid_signature',
  },
};

describe('hostile input through the real stack', () => {
  it.each(Object.entries(hostileRequests))('refuses %s in the error shape, calling no provider', async (_label, request) => {
    noteOrderId(request.body);
    const answer = await overHttp(request.path ?? TRIGGER_PATH, request.body, withDefaults(request.headers ?? {}));
    expect(answer.status, answer.text).toBe(request.status);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['x-injected']).toBeUndefined();
    const parsed = JSON.parse(answer.text) as ErrorBody;
    expect(Object.keys(parsed)).toEqual(['error']);
    expect(parsed.error.code).toBe(request.code);
    if (request.field) expect(parsed.error.details?.field).toBe(request.field);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(harness.sandbox.stripe.requests).toHaveLength(0);
  });
});

/** The IDs of every run on this file's task queue, as visibility shows them. */
async function workflowIdsOnTaskQueue(): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of harness.client.workflow.list({ query: `TaskQueue = '${harness.temporal.taskQueue}'` })) {
    ids.push(execution.workflowId);
  }
  return ids;
}

/** Up to `count` items spread evenly over `items`. */
function spreadSample<T>(items: T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, index) => index % step === 0).slice(0, count);
}

describe('after the hostile requests', () => {
  it('started no run for any order they named and called no provider', async () => {
    expect(sentOrderIds.size).toBeGreaterThan(0);
    // IDs holding lone surrogates are not valid UTF-8, so Temporal refuses to even look them up;
    // the task-queue listing in the next test covers them.
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const orderId of spreadSample(
      [...sentOrderIds].filter((id) => !loneSurrogate.test(id)),
      40,
    )) {
      await expect(harness.client.workflow.getHandle(`order-${orderId}`).describe(), orderId).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
    const { stripe, resend, slack, backend } = harness.sandbox;
    expect([stripe, resend, slack, backend].map((standIn) => standIn.requests.length)).toEqual([0, 0, 0, 0]);
  });

  it('still answers a valid order with 201, which is paid and is the only run on the task queue', async () => {
    const params = sampleOrder({ orderId: uniqueOrderId('after_battery') });
    const answer = await overHttp(TRIGGER_PATH, triggerBody(params), withDefaults({}));
    expect(answer.status, answer.text).toBe(201);
    const workflowId = `order-${params.orderId}`;
    expect(await harness.client.workflow.getHandle(workflowId).result()).toMatchObject({ status: 'paid', receipt: 'sent' });

    // Visibility is eventually consistent: wait until the valid run shows, then it must be alone.
    await vi.waitFor(async () => expect(await workflowIdsOnTaskQueue()).toContain(workflowId), { timeout: 15_000, interval: 250 });
    expect(await workflowIdsOnTaskQueue()).toEqual([workflowId]);
    // The one valid order's payment: the check for an earlier payment, its customer read, its PaymentIntent created and confirmed.
    expect(
      harness.sandbox.stripe.requests.map((request) => `${request.method} ${request.path.replace(/pi_\w+/, 'pi_*').replace(/\?.*$/, '')}`),
    ).toEqual([
      'GET /v1/payment_intents/search',
      `GET /v1/customers/${params.customerId}`,
      'POST /v1/payment_intents',
      'POST /v1/payment_intents/pi_*/confirm',
    ]);
    expect(harness.sandbox.stripe.paymentIntents).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Parse Order, reached by starting runs directly (no API in front)
// ---------------------------------------------------------------------------------------------

/** A valid order under a fresh ID with one field broken; `raw` is JSON text spliced in as-is. */
function brokenOrder(overrides: Record<string, unknown>, raw?: string): OrderParams {
  const params = hostileOrder(overrides);
  if (raw === undefined) return params as unknown as OrderParams;
  // JSON.parse keeps "__proto__" as an own key, as a client's JSON would arrive.
  return JSON.parse(`{${raw},${JSON.stringify(params).slice(1)}`) as OrderParams;
}

describe('Parse Order run through the workflow with hostile params', () => {
  it.each<[string, OrderParams, string]>([
    ['an amount as a string', brokenOrder({ amount: '4999' }), 'amount'],
    ['a NaN amount (null on the wire)', brokenOrder({ amount: Number.NaN }), 'amount'],
    ['an amount of 1e308', brokenOrder({ amount: 1e308 }), 'amount'],
    ['an own __proto__ key', brokenOrder({}, '"__proto__":{"polluted":true}'), '__proto__'],
    ['a constructor key', brokenOrder({}, '"constructor":{"prototype":{"polluted":true}}'), 'constructor'],
    ['control characters in email', brokenOrder({ email: 'customer\u0000\r\n@example.com' }), 'email'],
    ['an RTL override in customerId', brokenOrder({ customerId: 'cus_\u202eabc' }), 'customerId'],
    ['a currency object', brokenOrder({ currency: { code: 'usd' } }), 'currency'],
    ['missing fields', brokenOrder({ customerId: undefined, amount: undefined, email: undefined }), 'customerId'],
  ])('fails with non-retryable InvalidOrder for %s, without a charge', async (_label, params, field) => {
    const handle = await harness.startOrder(params);
    const error = await handle.result().then(
      () => expect.fail('the run completed'),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: INVALID_ORDER, nonRetryable: true, details: [{ field, reason: expect.any(String) }] });

    // Parse Order (a local activity: a marker, no activity task) was the only step, and Stripe heard nothing for this order.
    const history = await handle.fetchHistory();
    expect(history.events?.filter((event) => event.activityTaskScheduledEventAttributes)).toEqual([]);
    const localActivities = history.events?.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    expect(localActivities).toHaveLength(1);
    expect(localActivities![0].markerRecordedEventAttributes?.failure).toBeTruthy();
    expect(stripeKeyedRequests(harness.sandbox, params.orderId, 'charge')).toHaveLength(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
