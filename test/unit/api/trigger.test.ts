/**
 * POST /api/workflows/order-processing/trigger in process (`inject()`), on the real Temporal client
 * talking to the stand-in frontend: what the trigger asks Temporal to start, how it answers repeats
 * and conflicts, and everything it refuses before Temporal hears a word. Real runs (the charge, one
 * charge per order) are in test/e2e/api.test.ts and api-runs.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { TRIGGER_PATH } from '../../../src/api/app.js';
import { TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../../src/http/error-reply.js';
import { ORDER_IDEMPOTENCY_KEY } from '../../../src/domain/search-attributes.js';
import { KEY_CLAIM_WORKFLOW_TYPE, ORDER_WORKFLOW_TYPE, statusQuery } from '../../../src/workflows/names.js';
import { sampleOrder } from '../../support/orders.js';
import type { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { useApiOnStandIn } from '../../support/api-on-stand-in.js';
import { injectTrigger } from '../../support/trigger.js';

const { WorkflowIdReusePolicy, WorkflowExecutionStatus } = proto.temporal.api.enums.v1;
const API_KEY = 'ask_test_key_0001';
const TASK_QUEUE = 'order-processing-unit';

let temporal: TemporalStandIn;
let app: FastifyInstance;

useApiOnStandIn(
  { taskQueue: TASK_QUEUE, triggerApiKeys: ['ask_other_key_0002', API_KEY] },
  (standIn, built) => ([temporal, app] = [standIn, built]),
);

const trigger = (body: unknown, headers: Record<string, string> = {}) => injectTrigger(app, API_KEY, body, headers);

/** The order runs Temporal was asked to start. */
const orderStarts = () =>
  temporal.received('StartWorkflowExecution').filter((request) => request.workflowType.name === ORDER_WORKFLOW_TYPE);

describe('a valid trigger', () => {
  it("starts the order's run under its business key, once per order (REJECT_DUPLICATE), with a summary free of personal data", async () => {
    const params = sampleOrder();
    const response = await trigger({ connectionId: 'conn_1', params });
    expect(response.statusCode, response.body).toBe(201);
    const body = response.json();
    const workflowId = `order-${params.orderId}`;
    expect(body).toEqual({ id: workflowId, workflowId, runId: temporal.run(workflowId)!.runId, status: 'running', created: true });
    expect(body.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.location).toBe(`/api/runs/${workflowId}`);

    const [start] = orderStarts();
    expect(start).toMatchObject({
      namespace: 'default',
      workflowId,
      taskQueue: { name: TASK_QUEUE },
      workflowIdReusePolicy: WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    });
    expect(temporal.argOf(temporal.run(workflowId)!)).toEqual(params);
    expect(defaultPayloadConverter.fromPayload(start.userMetadata.summary)).toBe(`Order ${params.orderId}: $49.99`);
    // Without an Idempotency-Key the run carries no key.
    expect(start.searchAttributes?.indexedFields?.[ORDER_IDEMPOTENCY_KEY.name]).toBeUndefined();
  });

  it('answers a repeat with the existing run (200), and another order under the same ID 409 naming the fields, not their values', async () => {
    const order = sampleOrder();
    const workflowId = `order-${order.orderId}`;
    const first = await trigger({ params: order });
    expect(first.statusCode).toBe(201);
    const repeats = await Promise.all([trigger({ params: order }), trigger({ params: { ...order, currency: 'USD' } })]);
    for (const repeat of repeats) {
      expect(repeat.statusCode, repeat.body).toBe(200);
      expect(repeat.json()).toEqual({ ...first.json(), created: false });
      expect(repeat.headers.location).toBe(`/api/runs/${workflowId}`);
    }

    const conflict = await trigger({ params: { ...order, amount: 5000, email: 'other@example.com' } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({
      code: 'order_conflict',
      details: { workflowId, fields: ['params.amount', 'params.email'] },
    });
    expect(conflict.body).not.toContain('other@example.com');
    expect(temporal.runs()).toHaveLength(1);

    // Once the run has closed the order is still never started again.
    temporal.complete(workflowId, { orderId: order.orderId, status: 'paid' });
    const afterCompletion = await trigger({ params: order });
    expect(afterCompletion.statusCode).toBe(200);
    expect(afterCompletion.json()).toMatchObject({ runId: first.json().runId, status: 'completed', created: false });
    expect(temporal.runs()).toHaveLength(1);
  });

  it('claims an Idempotency-Key: the same key and order 200, the same key for another order 409 naming the holder', async () => {
    const key = 'key-unit-1';
    const order = sampleOrder();
    const first = await trigger({ params: order }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const start = orderStarts()[0];
    expect(defaultPayloadConverter.fromPayload(start.searchAttributes.indexedFields[ORDER_IDEMPOTENCY_KEY.name])).toBe(key);
    const claims = temporal.runs().filter((run) => run.workflowType === KEY_CLAIM_WORKFLOW_TYPE);
    expect(claims).toHaveLength(1);
    expect(temporal.argOf(claims[0])).toBe(`order-${order.orderId}`);

    const repeat = await trigger({ params: order }, { 'idempotency-key': key });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().runId).toBe(first.json().runId);

    const other = sampleOrder();
    const reused = await trigger({ params: other }, { 'idempotency-key': key });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error).toMatchObject({ code: 'idempotency_key_reused', details: { workflowId: `order-${order.orderId}` } });
    expect(temporal.run(`order-${other.orderId}`)).toBeUndefined();
  });

  it('with Prefer: wait and no worker to answer, answers 202 payment_pending with Location and Retry-After when the wait runs out', async () => {
    const params = sampleOrder();
    const workflowId = `order-${params.orderId}`;
    const response = await trigger({ params }, { prefer: 'wait=1' });
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe(`/api/runs/${workflowId}`);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toEqual({
      id: workflowId,
      workflowId,
      runId: temporal.run(workflowId)!.runId,
      status: 'running',
      created: true,
      payment: { status: 'payment_pending', reason: `Charge Card has not settled within 1 s: GET /api/runs/${workflowId}/payment` },
    });
    // The run's one payment update, asked for once.
    expect(temporal.received('UpdateWorkflowExecution').map((request) => request.request.meta.updateId)).toEqual(['payment']);
  });

  it('answers 202 with Location and Retry-After, never a 5xx, when the update is rejected while the run charges; the run goes on', async () => {
    temporal.rejectUpdates = true;
    const params = sampleOrder();
    const workflowId = `order-${params.orderId}`;
    const started = Date.now();
    const response = await trigger({ params }, { prefer: 'wait=20' });
    expect(response.statusCode).toBe(202);
    expect(Date.now() - started).toBeLessThan(10_000); // answered on the rejection, not when the wait ran out
    expect(response.headers.location).toBe(`/api/runs/${workflowId}`);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json().payment).toEqual({
      status: 'payment_pending',
      reason: `Charge Card has not settled within 20 s: GET /api/runs/${workflowId}/payment`,
    });
    expect(temporal.run(workflowId)?.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);

    // A repeat while it still charges: the same.
    temporal.answerQuery(workflowId, statusQuery.name, { step: 'charge-card', orderId: params.orderId });
    const repeat = await trigger({ params }, { prefer: 'wait=20' });
    expect(repeat.statusCode).toBe(202);
    expect(repeat.headers.location).toBe(`/api/runs/${workflowId}`);
    expect(repeat.headers['retry-after']).toBe('1');
    expect(repeat.json()).toMatchObject({ created: false, payment: { status: 'payment_pending' } });
    expect(temporal.runs()).toHaveLength(1);
  });

  it("answers a repeat with the run's payment now (paid), not the first answer the run's update stored", async () => {
    const params = sampleOrder();
    const workflowId = `order-${params.orderId}`;
    expect((await trigger({ params })).statusCode).toBe(201);
    temporal.answerQuery(workflowId, statusQuery.name, { step: 'send-receipt', status: 'paid', paymentIntentId: 'pi_unit_paid' });
    const repeat = await trigger({ params }, { prefer: 'wait=10' });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toMatchObject({ created: false, payment: { status: 'paid', paymentIntentId: 'pi_unit_paid' } });
    // Read from the run's status: the `payment` update, which stores its first result, is never asked.
    expect(temporal.received('UpdateWorkflowExecution')).toEqual([]);
  });

  it('answers a repeat whose wait runs out 202 with what is known of the payment, not a generic payment_pending', async () => {
    const params = sampleOrder();
    const workflowId = `order-${params.orderId}`;
    expect((await trigger({ params })).statusCode).toBe(201);
    const reason = 'Stripe did not answer: the run asks again';
    temporal.answerQuery(workflowId, statusQuery.name, { step: 'charge-card', status: 'payment_pending', reason });
    const repeat = await trigger({ params }, { prefer: 'wait=1' });
    expect(repeat.statusCode).toBe(202);
    expect(repeat.headers.location).toBe(`/api/runs/${workflowId}`);
    expect(repeat.headers['retry-after']).toBe('1');
    expect(repeat.json().payment).toEqual({ status: 'payment_pending', reason });
    expect(temporal.received('UpdateWorkflowExecution').map((request) => request.request.meta.updateId)).toEqual([
      'payment-after-payment_pending',
    ]);
  });

  it('answers 503 on_session_not_configured for an on-session order when the API cannot read client secrets, starting nothing', async () => {
    const response = await trigger({ params: { ...sampleOrder(), onSession: true, returnUrl: 'https://shop.example/back' } });
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('on_session_not_configured');
    expect(temporal.requests).toEqual([]);
  });
});

describe('a refused trigger: 4xx in the error shape, and Temporal hears nothing', () => {
  afterEach(() => {
    expect(temporal.requests).toEqual([]);
  });

  it.each([
    ['a missing orderId', { orderId: undefined }, 'params.orderId', 'is required'],
    ['an empty customerId', { customerId: '' }, 'params.customerId', 'must not be empty'],
    ['a string amount', { amount: '100' }, 'params.amount', 'must be an integer, got a string'],
    ['a float amount', { amount: 49.99 }, 'params.amount', 'positive integer'],
    ['a negative amount', { amount: -5 }, 'params.amount', 'positive integer'],
    ['an unknown currency', { currency: 'usdx' }, 'params.currency', 'ISO 4217'],
    ['a malformed email', { email: 'customer@' }, 'params.email', 'email address'],
    [
      'an unknown field',
      { coupon: 'FREE' },
      'params.coupon',
      'is not a known field (expected orderId, customerId, amount, currency, email, paymentMethodId, onSession, returnUrl)',
    ],
    ['onSession without a returnUrl', { onSession: true }, 'params.returnUrl', 'http(s) URL'],
  ])('rejects %s with 400 naming the field', async (_label, override, field, reason) => {
    // Prefer: wait changes nothing for what is refused.
    const response = await trigger({ params: { ...sampleOrder(), ...override } }, { prefer: 'wait=10' });
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error).toMatchObject({ code: 'invalid_order', details: { field } });
    expect(error.message).toContain(field);
    expect(error.message).toContain(reason);
  });

  it('rejects a body without params, or with unknown top-level fields', async () => {
    const missing = await trigger({ connectionId: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({ code: 'invalid_request', details: { field: 'params', reason: 'is required' } });

    const extra = await trigger({ params: sampleOrder(), priority: 'high' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.details).toEqual({ field: 'priority', reason: expect.stringContaining('not a known field') });
  });

  it('answers 401 with WWW-Authenticate for a missing or wrong API key', async () => {
    for (const authorization of [undefined, 'Bearer wrong_key_123', `Basic ${API_KEY}`, `Bearer ${API_KEY}x`]) {
      const response = await app.inject({
        method: 'POST',
        url: TRIGGER_PATH,
        headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
        payload: JSON.stringify({ params: sampleOrder() }),
      });
      expect(response.statusCode, authorization).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json()).toEqual({
        error: { code: 'unauthorized', message: 'Send a valid API key as "Authorization: Bearer <key>"' },
      });
    }
  });

  it('answers 413 for bodies over 100 KB, 415 for non-JSON and 400 for malformed JSON', async () => {
    const big = await trigger({ params: { ...sampleOrder(), padding: 'x'.repeat(101 * 1024) } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toEqual({ code: 'body_too_large', message: 'Request body exceeds 102400 bytes' });

    const text = await trigger('orderId=1', { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toEqual({ code: 'unsupported_media_type', message: 'Send the body as application/json' });

    const malformed = await trigger('{"params": ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('bad_request');
  });

  it.each([
    ["x' OR 1=1", 'a quote and spaces'],
    ['k'.repeat(256), 'more than 255 characters'],
    ['', 'an empty key'],
  ])('rejects the Idempotency-Key %j (%s) with 400 naming the header', async (key) => {
    const response = await trigger({ params: sampleOrder() }, { 'idempotency-key': key });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'invalid_request', details: { field: 'idempotency-key' } });
  });

  it.each(['wait=31', 'wait=abc', 'wait=-1', 'wait=5, wait=6'])('rejects Prefer: %s with 400 invalid_prefer', async (prefer) => {
    const response = await trigger({ params: sampleOrder() }, { prefer });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'invalid_prefer', details: { field: 'prefer' } });
  });
});

describe('the OpenAPI document of the trigger', () => {
  it('describes the Prefer header, the payment, the long poll and the Location and Retry-After headers', async () => {
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const trigger = openapi.paths[TRIGGER_PATH].post;
    expect(trigger.parameters.map((parameter: { name: string; in: string }) => `${parameter.in}:${parameter.name}`)).toEqual(
      expect.arrayContaining(['header:prefer', 'header:idempotency-key']),
    );
    expect(Object.keys(trigger.responses)).toEqual(expect.arrayContaining(['200', '201', '202']));
    expect(trigger.responses['201'].content['application/json'].schema.properties.payment.properties.status.enum).toEqual([
      'paid',
      'payment_failed',
      'requires_action',
      'payment_pending',
    ]);
    for (const code of ['200', '201']) expect(Object.keys(trigger.responses[code].headers)).toEqual(['location']);
    expect(trigger.responses['202'].headers).toEqual({
      location: { schema: { type: 'string' }, description: expect.stringContaining('/api/runs/<workflowId>') },
      'retry-after': { schema: { type: 'integer' }, description: expect.any(String) },
    });
    const payment = openapi.paths['/api/runs/{workflowId}/payment'].get;
    expect(Object.keys(payment.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '404']));
    expect(Object.keys(payment.responses['202'].headers)).toEqual(['location', 'retry-after']);
    expect(payment.responses['202'].headers['retry-after'].schema).toEqual({ type: 'integer' });
    expect(payment.parameters).toContainEqual(
      expect.objectContaining({
        in: 'query',
        name: 'after',
        schema: expect.objectContaining({ enum: ['payment_pending', 'requires_action'] }),
      }),
    );
  });
});

describe('Temporal not ready', () => {
  it('answers 503 search_attribute_missing naming what the namespace lacks, and starts nothing', async () => {
    delete temporal.searchAttributes[ORDER_IDEMPOTENCY_KEY.name];
    const keyed = await trigger({ params: sampleOrder() }, { 'idempotency-key': 'key-1' });
    expect(keyed.statusCode).toBe(503);
    expect(keyed.json().error).toMatchObject({
      code: 'search_attribute_missing',
      details: { searchAttributes: [ORDER_IDEMPOTENCY_KEY.name], namespace: 'default' },
    });
    // Without a key the run needs OrderOutcome only, which the namespace has.
    expect((await trigger({ params: sampleOrder() })).statusCode).toBe(201);
    expect(temporal.runs().map((run) => run.workflowType)).toEqual([ORDER_WORKFLOW_TYPE]);
  });

  it('answers 503 temporal_unavailable with Retry-After while the frontend cannot be reached, and /readyz says so', async () => {
    temporal.unavailable = true;
    const response = await trigger({ params: sampleOrder() });
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('temporal_unavailable');
    expect(response.headers['retry-after']).toBe(String(TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS));
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('temporal_unavailable');

    temporal.unavailable = false;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });
});
