import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { buildApp, TRIGGER_PATH } from '../../src/api/app.js';
import { postTrigger } from '../support/trigger.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';

const API_KEY = 'ask_test_key_0001';
let harness: Harness;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  harness = await startHarness();
  app = buildApp({ client: harness.client, taskQueue: harness.temporal.taskQueue, triggerApiKeys: ['ask_other_key_0002', API_KEY] });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

const trigger = (body: unknown, headers: Record<string, string> = {}) => postTrigger(baseUrl, API_KEY, body, headers);

function readJson(response: Response): Promise<any> {
  return response.json();
}

async function expectNoRun(orderId: string) {
  await expect(harness.client.workflow.getHandle(`order-${orderId}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('POST /api/workflows/order-processing/trigger', () => {
  it('starts the workflow (201) and GET /api/runs/:workflowId returns its result', async () => {
    const params = sampleOrder();
    const response = await trigger({ connectionId: 'conn_1', params });
    expect(response.status).toBe(201);
    const body = await readJson(response);
    expect(body).toMatchObject({ id: `order-${params.orderId}`, workflowId: `order-${params.orderId}`, status: 'running', created: true });
    expect(body.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('location')).toBe(`/api/runs/order-${params.orderId}`);

    await harness.client.workflow.getHandle(body.workflowId).result();
    const run = await readJson(await fetch(`${baseUrl}/api/runs/${body.workflowId}`, { headers: { authorization: `Bearer ${API_KEY}` } }));
    expect(run).toMatchObject({
      workflowId: body.workflowId,
      runId: body.runId,
      status: 'completed',
      result: { status: 'paid', receipt: 'sent' },
    });
    expect(harness.sandbox.stripe.successfulCharges(params.orderId)).toHaveLength(1);
    // The Web UI's summary of the run: the order and its amount, no personal data.
    const description = await harness.client.workflow.getHandle(body.workflowId).describe();
    expect(await description.staticSummary()).toBe(`Order ${params.orderId}: $49.99`);
  });

  it('answers a repeat trigger with the existing run: one run, one charge', async () => {
    const params = sampleOrder();
    const responses = await Promise.all([trigger({ params }), trigger({ params }), trigger({ params })]);
    const bodies = await Promise.all(responses.map(readJson));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(bodies.map((body) => body.runId)).size).toBe(1);

    await harness.client.workflow.getHandle(`order-${params.orderId}`).result();
    const afterCompletion = await trigger({ params });
    expect(afterCompletion.status).toBe(200);
    expect(await readJson(afterCompletion)).toMatchObject({ runId: bodies[0].runId, status: 'completed', created: false });
    expect(harness.sandbox.stripe.successfulCharges(params.orderId)).toHaveLength(1);
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
  ])('rejects %s with 400 naming the field, and starts nothing', async (_label, override, field, reason) => {
    const params = { ...sampleOrder(), ...override };
    const response = await trigger({ params });
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error).toMatchObject({ code: 'invalid_order', details: { field } });
    expect(body.error.message).toContain(field);
    expect(body.error.message).toContain(reason);
    if (params.orderId) await expectNoRun(params.orderId);
  });

  it('rejects a body without params, or with unknown top-level fields', async () => {
    const missing = await trigger({ connectionId: 'x' });
    expect(missing.status).toBe(400);
    expect((await readJson(missing)).error).toMatchObject({ code: 'invalid_request', details: { field: 'params', reason: 'is required' } });

    const params = sampleOrder();
    const extra = await trigger({ params, priority: 'high' });
    expect(extra.status).toBe(400);
    expect((await readJson(extra)).error.details).toEqual({ field: 'priority', reason: expect.stringContaining('not a known field') });
    await expectNoRun(params.orderId);
  });

  it('answers 401 for a missing or wrong API key', async () => {
    const params = sampleOrder();
    for (const authorization of [undefined, 'Bearer wrong_key_123', `Basic ${API_KEY}`, `Bearer ${API_KEY}x`]) {
      const response = await fetch(`${baseUrl}${TRIGGER_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
        body: JSON.stringify({ params }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect((await readJson(response)).error.code).toBe('unauthorized');
    }
    await expectNoRun(params.orderId);
  });

  it('answers 413 for bodies over 100 KB, 415 for non-JSON and 400 for malformed JSON', async () => {
    const big = await trigger({ params: { ...sampleOrder(), padding: 'x'.repeat(101 * 1024) } });
    expect(big.status).toBe(413);
    expect((await readJson(big)).error.code).toBe('body_too_large');

    const text = await trigger('orderId=1', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);

    const malformed = await trigger('{"params": ');
    expect(malformed.status).toBe(400);
    expect((await readJson(malformed)).error.code).toBe('bad_request');
  });
});

describe('GET /api/runs/:workflowId', () => {
  it('answers 404 with a clear body for an unknown run', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/runs/order-does-not-exist',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'run_not_found', message: 'No run with workflow ID "order-does-not-exist"' } });
  });

  it('reports a failed run with its failure type and message', async () => {
    // A declined order whose record the backend refuses (a paid one would be refunded instead, and complete).
    const params = sampleOrder({ customerId: 'cus_decline' });
    harness.sandbox.backend.failNext(1, { status: 409 });
    const handle = await harness.startOrder(params);
    await handle.result().catch(() => undefined);
    const response = await app.inject({
      method: 'GET',
      url: `/api/runs/${handle.workflowId}`,
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(response.json()).toMatchObject({
      status: 'failed',
      failure: { type: 'OrderStatusRejected', message: expect.stringContaining('409') },
    });
  });
});
