/**
 * The API over a real socket in front of a Temporal dev server and a worker: a trigger starts a run that
 * pays, repeats attach to it, and the run's view shows its result or failure. What the API refuses, and
 * answers without a run, is tested in process in test/unit/api/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
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
});

describe('GET /api/runs/:workflowId', () => {
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
