/**
 * POST /api/runs/:workflowId/refund against the real Temporal dev server: a declined order refused,
 * the refundOrder run it starts (its ID and input), and the outcome Stripe's stand-in records. Which
 * orders are refused and the body's and headers' rules are tested in process in
 * test/unit/api/refund.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { buildApp } from '../../src/api/app.js';
import { readRunInput } from '../../src/api/read-runs.js';
import { freePort, waitUntil } from '../../dev/processes.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { REFUND_ORDER_WORKFLOW_TYPE, workflowIdForOrder } from '../../src/workflows/names.js';

const API_KEY = 'ask_refund_key_0001';
const auth = { authorization: `Bearer ${API_KEY}` };
const REASON = 'requested by an operator through the API';
let harness: Harness;
let app: FastifyInstance;
/** The same API with refunds started on a task queue no worker polls, and a short wait: refunds stay pending. */
let unattended: FastifyInstance;
/** The same API with a short wait: a refund still pending after a second is answered 202. */
let briefly: FastifyInstance;
/** The same API waiting 5 s for a refund's run. */
let withinSeconds: FastifyInstance;
const openRuns: WorkflowHandle[] = [];

beforeAll(async () => {
  harness = await startHarness();
  app = buildApp({ client: harness.client, taskQueue: harness.temporal.taskQueue, triggerApiKeys: [API_KEY] });
  unattended = buildApp({
    client: harness.client,
    taskQueue: `refunds-unattended-${randomUUID()}`,
    triggerApiKeys: [API_KEY],
    refundAnswerWaitMs: 1_000,
  });
  briefly = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    refundAnswerWaitMs: 1_000,
  });
  withinSeconds = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    refundAnswerWaitMs: 5_000,
  });
});
afterAll(async () => {
  await Promise.all(openRuns.map((handle) => handle.terminate('refund-api.test.ts is done').catch(() => undefined)));
  await app?.close();
  await unattended?.close();
  await briefly?.close();
  await withinSeconds?.close();
  await harness?.close();
});

interface RefundRequest {
  body?: unknown;
  headers?: Record<string, string>;
  on?: FastifyInstance;
}

function refund(workflowId: string, { body, headers = {}, on = app }: RefundRequest = {}) {
  return on.inject({
    method: 'POST',
    url: `/api/runs/${workflowId}/refund`,
    headers: { ...auth, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

async function paidOrder(amount = 4999, customerId = 'cus_abc') {
  const order = sampleOrder({ customerId, amount });
  const result = await harness.runOrder(order);
  expect(result).toMatchObject({ status: 'paid', paymentIntentId: expect.stringMatching(/^pi_/) });
  return { order, workflowId: workflowIdForOrder(order.orderId), result };
}

async function expectNoRefundRun(refundWorkflowId: string) {
  await expect(harness.client.workflow.getHandle(refundWorkflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('POST /api/runs/:workflowId/refund: who can be refunded', () => {
  it('answers 409 not_paid for a declined order, naming its status, and starts no refund', async () => {
    const order = sampleOrder({ customerId: 'cus_decline' });
    expect(await harness.runOrder(order)).toMatchObject({ status: 'payment_failed' });
    const response = await refund(workflowIdForOrder(order.orderId), { body: {}, headers: { 'idempotency-key': 'declined-1' } });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: {
        code: 'not_paid',
        message: `order ${order.orderId} is payment_failed; only a paid order can be refunded`,
        details: { status: 'payment_failed' },
      },
    });
    await expectNoRefundRun(`refund-${workflowIdForOrder(order.orderId)}-declined-1`);
  });

  it('answers 503 when Temporal is unreachable', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const offline = buildApp({ client: new Client({ connection }), taskQueue: 'nowhere', triggerApiKeys: [API_KEY] });
    const response = await refund('order-offline-1', { body: {}, headers: { 'idempotency-key': 'offline-1' }, on: offline });
    expect(response.statusCode).toBe(503);
    expect(response.json().error.code).toBe('temporal_unavailable');
    await offline.close();
    await connection.close();
  });
});

describe('POST /api/runs/:workflowId/refund: the refund run', () => {
  it('starts refundOrder with the contract input: no body, an empty JSON body and {} each mean a full refund', async () => {
    const { order, workflowId, result } = await paidOrder();
    const requests = [
      { label: 'no body', request: { headers: { 'idempotency-key': `none-${randomUUID()}` } } },
      { label: 'empty JSON body', request: { body: '', headers: { 'idempotency-key': `empty-${randomUUID()}` } } },
      { label: '{}', request: { body: {}, headers: { 'idempotency-key': `object-${randomUUID()}` } } },
    ];
    for (const { label, request } of requests) {
      const response = await refund(workflowId, { ...request, on: unattended });
      const refundWorkflowId = `refund-${workflowId}-${request.headers['idempotency-key']}`;
      expect(response.statusCode, label).toBe(202);
      expect(response.headers['retry-after'], label).toBe('5');
      expect(response.json(), label).toEqual({
        workflowId: refundWorkflowId,
        status: 'pending',
        message: expect.stringContaining(`temporal workflow show --workflow-id ${refundWorkflowId}`),
      });
      const handle = harness.client.workflow.getHandle(refundWorkflowId);
      openRuns.push(handle);
      const started = await handle.describe();
      expect(started.type).toBe(REFUND_ORDER_WORKFLOW_TYPE);
      expect(await readRunInput(harness.client, refundWorkflowId), label).toEqual({
        orderId: order.orderId,
        paymentIntentId: result.paymentIntentId,
        reason: REASON,
      });
    }
  });

  it('keys a refund by Idempotency-Key: a repeat is the same refund run, another amount under the key is 409', async () => {
    const { order, workflowId, result } = await paidOrder();
    const key = `partial-${randomUUID().slice(0, 8)}`;
    const first = await refund(workflowId, { body: { amount: 1000 }, headers: { 'idempotency-key': key }, on: unattended });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({
      workflowId: `refund-${workflowId}-${key}`,
      status: 'pending',
      message: expect.stringContaining('same Idempotency-Key'),
    });
    const handle = harness.client.workflow.getHandle(`refund-${workflowId}-${key}`);
    openRuns.push(handle);
    const { runId } = await handle.describe();
    expect(await readRunInput(harness.client, handle.workflowId)).toEqual({
      orderId: order.orderId,
      paymentIntentId: result.paymentIntentId,
      amount: 1000,
      reason: REASON,
    });

    const repeat = await refund(workflowId, { body: { amount: 1000 }, headers: { 'idempotency-key': key }, on: unattended });
    expect(repeat.statusCode).toBe(202);
    expect(repeat.json().workflowId).toBe(handle.workflowId);
    expect((await handle.describe()).runId).toBe(runId);

    for (const body of [{ amount: 2000 }, {}]) {
      const conflict = await refund(workflowId, { body, headers: { 'idempotency-key': key }, on: unattended });
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json().error).toMatchObject({ code: 'idempotency_key_reused', details: { workflowId: handle.workflowId } });
    }
  });
});

describe('POST /api/runs/:workflowId/refund: refund run IDs', () => {
  it("never answers with another order's refund when order ID and key run together into the same refund run ID", async () => {
    const base = `ord_pair_${randomUUID().slice(0, 8)}`;
    const [first, second] = [sampleOrder({ orderId: `${base}-a` }), sampleOrder({ orderId: base })];
    for (const order of [first, second]) expect(await harness.runOrder(order)).toMatchObject({ status: 'paid' });
    const refundWorkflowId = `refund-order-${base}-a-b`;
    const started = await refund(workflowIdForOrder(first.orderId), {
      body: { amount: 100 },
      headers: { 'idempotency-key': 'b' },
      on: unattended,
    });
    expect(started.json().workflowId).toBe(refundWorkflowId);
    openRuns.push(harness.client.workflow.getHandle(refundWorkflowId));

    const clash = await refund(workflowIdForOrder(second.orderId), {
      body: { amount: 100 },
      headers: { 'idempotency-key': 'a-b' },
      on: unattended,
    });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error).toMatchObject({ code: 'idempotency_key_reused', details: { workflowId: refundWorkflowId } });
    expect(clash.json().error.message).toContain('another order');
  });
});

// The whole way: the refundOrder workflow (src/workflows/refund-order.ts) and its refund activity on the
// harness's worker, against the Stripe stand-in's refunds.
describe('POST /api/runs/:workflowId/refund: refunding through Stripe', () => {
  it('refunds in part, then the rest; a repeated key answers the same refund; more than is left is 409 refund_refused', async () => {
    const { order, workflowId, result } = await paidOrder(4999);
    const partial = await refund(workflowId, { body: { amount: 1000 }, headers: { 'idempotency-key': 'part-1' } });
    expect(partial.statusCode).toBe(200);
    const partialBody = partial.json();
    expect(partialBody).toEqual({
      workflowId: `refund-${workflowId}-part-1`,
      refundId: expect.stringMatching(/^re_/),
      amount: 1000,
      currency: 'usd',
      status: 'succeeded',
      amountRefunded: 1000,
      amountPaid: 4999,
    });

    const repeat = await refund(workflowId, { body: { amount: 1000 }, headers: { 'idempotency-key': 'part-1' } });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toEqual(partialBody);

    const rest = await refund(workflowId, { headers: { 'idempotency-key': 'rest-1' } });
    expect(rest.statusCode).toBe(200);
    expect(rest.json()).toMatchObject({ workflowId: `refund-${workflowId}-rest-1`, amount: 3999, amountRefunded: 4999, amountPaid: 4999 });
    expect(rest.json().refundId).not.toBe(partialBody.refundId);

    const over = await refund(workflowId, { body: { amount: 1 }, headers: { 'idempotency-key': 'over-1' } });
    expect(over.statusCode).toBe(409);
    expect(over.json().error).toMatchObject({
      code: 'refund_refused',
      message: expect.any(String),
      details: { workflowId: `refund-${workflowId}-over-1` },
    });
    // The refusal is the key's outcome too.
    const overAgain = await refund(workflowId, { body: { amount: 1 }, headers: { 'idempotency-key': 'over-1' } });
    expect(overAgain.statusCode).toBe(409);
    expect(overAgain.json().error.message).toBe(over.json().error.message);

    // What reached Stripe: two refunds of this PaymentIntent, 1000 then 3999.
    const refunds = harness.sandbox.stripe.refundsFor(order.orderId);
    expect(refunds.map((recorded) => [recorded.paymentIntentId, recorded.amount])).toEqual([
      [result.paymentIntentId, 1000],
      [result.paymentIntentId, 3999],
    ]);
  });

  it('tells the order backend: partially_refunded with the amount so far, then refunded once nothing paid is left', async () => {
    const { order, workflowId } = await paidOrder(4999);
    expect((await refund(workflowId, { body: { amount: 1000 }, headers: { 'idempotency-key': 'backend-part' } })).statusCode).toBe(200);
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'partially_refunded', amountRefunded: 1000 });
    expect((await refund(workflowId, { headers: { 'idempotency-key': 'backend-rest' } })).statusCode).toBe(200);
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({
      status: 'refunded',
      amountRefunded: 4999,
      statuses: ['paid', 'partially_refunded', 'refunded'],
    });
  });

  it('a refund Stripe answers pending is answered 202 with the refund, then 200 once Stripe shows it succeeded', async () => {
    const { order, workflowId } = await paidOrder(4999, 'cus_refund_pending_4');
    const pending = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'pending-1' }, on: briefly });
    expect(pending.statusCode).toBe(202);
    expect(pending.json()).toMatchObject({ status: 'pending', refundId: expect.stringMatching(/^re_/), refundStatus: 'pending' });
    expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('paid');
    const settled = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'pending-1' } });
    expect(settled.statusCode).toBe(200);
    expect(settled.json()).toMatchObject({ refundId: pending.json().refundId, status: 'succeeded', amountRefunded: 4999 });
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'refunded', amountRefunded: 4999 });
  });

  it('a pending refund Stripe then fails: 409 refund_failed, the backend still says paid, ops hear the money was not returned', async () => {
    const { order, workflowId } = await paidOrder(4999, 'cus_refund_fails_1');
    const answer = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'fails-1' } });
    expect(answer.statusCode).toBe(409);
    expect(answer.json().error).toMatchObject({
      code: 'refund_failed',
      message: expect.stringContaining('the money was not returned to the customer'),
      details: { status: 'failed', failureReason: 'expired_or_canceled_card', amountRefunded: 0 },
    });
    expect(harness.sandbox.backend.orders.get(order.orderId)?.statuses).toEqual(['paid']);
    const alert = harness.sandbox.slack.messages.find(
      (message) => message.text.includes(order.orderId) && message.text.includes('NOT returned'),
    );
    expect(alert?.text).toContain('expired_or_canceled_card');
  });

  it('a backend that answers 401 to the refund record: answered 200 with what Stripe settled; ops told it is not a refusal', async () => {
    const { order, workflowId } = await paidOrder();
    const { backend } = harness.sandbox;
    const token = backend.token;
    backend.token = 'rotated_token_the_worker_does_not_have';
    try {
      // Past the refund, well within the run's minute before it asks the backend again.
      const answer = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'rotated-1' }, on: withinSeconds });
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ status: 'succeeded', amountRefunded: 4999 });
      expect(harness.sandbox.backend.orders.get(order.orderId)?.status).toBe('paid');
      const alert = await waitUntil(
        () => harness.sandbox.slack.messages.find((message) => message.text.includes(`record order ${order.orderId} as refunded`)),
        { timeoutMs: 10_000, what: 'the backend-misconfigured alert' },
      );
      expect(alert.text).toContain('not a refusal: nothing is refunded');
    } finally {
      backend.token = token;
    }
  });

  it('Stripe unreachable for a while: answered 202 (the run keeps trying), never "did not go through"; the repeat gets the refund', async () => {
    const { order, workflowId } = await paidOrder();
    // Three attempts of the refund meet a 503 (1 s, 2 s, 4 s apart), where they used to be all it got.
    harness.sandbox.stripe.failNext(3, { status: 503 });
    const first = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'down-1' }, on: briefly });
    expect(first.statusCode).toBe(202);
    const later = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'down-1' } });
    expect(later.statusCode).toBe(200);
    expect(harness.sandbox.stripe.refundsFor(order.orderId)).toHaveLength(1);
  });
});
