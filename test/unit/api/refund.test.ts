/**
 * POST /api/runs/:workflowId/refund in process, on the real Temporal client talking to the stand-in
 * frontend, whose order runs are closed here as a worker would close them: which orders can be
 * refunded, the body's and the headers' rules, and that nothing refused starts a refund run. Refunds
 * that run (their input, their keys, Stripe's outcomes) are in test/e2e/refund-api.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import proto from '@temporalio/proto';
import { buildApp } from '../../../src/api/app.js';
import { startOrderWorkflow } from '../../../src/api/start-order.js';
import type { OrderResult } from '../../../src/domain/order.js';
import { MAX_AMOUNT } from '../../../src/domain/order-schema.js';
import {
  CHARGE_OUTCOME_UNKNOWN,
  CHARGE_REJECTED,
  REFUND_NOT_MADE,
  REFUND_REFUSED,
  STRIPE_UNAVAILABLE,
} from '../../../src/domain/failures.js';
import { REFUND_ORDER_WORKFLOW_TYPE, workflowIdForOrder } from '../../../src/workflows/names.js';
import { sampleOrder } from '../../support/orders.js';
import type { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { useApiOnStandIn } from '../../support/api-on-stand-in.js';

const API_KEY = 'ask_refund_key_0001';
const TASK_QUEUE = 'order-processing-unit';
const auth = { authorization: `Bearer ${API_KEY}` };

let temporal: TemporalStandIn;
let app: FastifyInstance;

useApiOnStandIn({ taskQueue: TASK_QUEUE, triggerApiKeys: [API_KEY] }, (standIn, built) => ([temporal, app] = [standIn, built]));

interface RefundRequest {
  body?: unknown;
  headers?: Record<string, string>;
}

function refund(workflowId: string, { body, headers = {} }: RefundRequest = {}) {
  return app.inject({
    method: 'POST',
    url: `/api/runs/${workflowId}/refund`,
    headers: { ...auth, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** An order run, closed with `result` when one is given (as the worker would), else left open. */
async function orderRun(result?: Partial<OrderResult>) {
  const order = sampleOrder();
  const workflowId = workflowIdForOrder(order.orderId);
  await startOrderWorkflow(temporal.client(), TASK_QUEUE, order);
  if (result) temporal.complete(workflowId, { orderId: order.orderId, receipt: 'sent', opsNotified: false, ...result });
  return { order, workflowId };
}

const paidOrder = () => orderRun({ status: 'paid', paymentIntentId: 'pi_paid_1' });

/** No refund run was started. */
function expectNoRefundRun(): void {
  expect(temporal.runs().filter((run) => run.workflowType === REFUND_ORDER_WORKFLOW_TYPE)).toEqual([]);
}

describe('who can be refunded', () => {
  it('answers 404 for an unknown run, 400 for an ID that is not an order run, 401 without the API key', async () => {
    const unknown = await refund('order-no-such-order', { body: {}, headers: { 'idempotency-key': 'unknown-1' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'run_not_found', message: 'No run with workflow ID "order-no-such-order"' } });

    const notAnOrder = await refund('refund-order-x-key', { body: {}, headers: { 'idempotency-key': 'not-an-order-1' } });
    expect(notAnOrder.statusCode).toBe(400);
    expect(notAnOrder.json().error.details.field).toBe('workflowId');

    const { workflowId } = await paidOrder();
    const anonymous = await app.inject({
      method: 'POST',
      url: `/api/runs/${workflowId}/refund`,
      headers: { 'idempotency-key': 'anon-1' },
      payload: {},
    });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('unauthorized');
    expectNoRefundRun();
  });

  it('answers 409 not_paid for a declined order, naming its status, and for an order whose run is still open', async () => {
    const declined = await orderRun({ status: 'payment_failed' });
    const response = await refund(declined.workflowId, { body: {}, headers: { 'idempotency-key': 'declined-1' } });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: {
        code: 'not_paid',
        message: `order ${declined.order.orderId} is payment_failed; only a paid order can be refunded`,
        details: { status: 'payment_failed' },
      },
    });

    const open = await orderRun();
    const openResponse = await refund(open.workflowId, { headers: { 'idempotency-key': 'open-1' } });
    expect(openResponse.statusCode).toBe(409);
    expect(openResponse.json().error).toEqual({
      code: 'not_paid',
      message: `order ${open.order.orderId} is running; only a paid order can be refunded`,
      details: { status: 'running' },
    });
    expectNoRefundRun();
  });

  it('answers 409 not_refundable_here for an order paid with the legacy Charges API', async () => {
    const chargeId = 'ch_legacy_1';
    const { workflowId } = await orderRun({ status: 'paid', chargeId });
    const response = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'legacy-1' } });
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toMatchObject({ code: 'not_refundable_here', details: { chargeId } });
    expect(response.json().error.message).toContain('Stripe Dashboard');
    expectNoRefundRun();
  });

  it('starts a refund of a paid order under its key: refund-<workflowId>-<key>, one per key (REJECT_DUPLICATE)', async () => {
    const quick = buildApp({ client: temporal.client(), taskQueue: TASK_QUEUE, triggerApiKeys: [API_KEY], refundAnswerWaitMs: 1 });
    const { order, workflowId } = await paidOrder();
    const response = await quick.inject({
      method: 'POST',
      url: `/api/runs/${workflowId}/refund`,
      headers: { ...auth, 'idempotency-key': 'full-1' },
    });
    await quick.close();
    // No worker: the refund is pending.
    expect(response.statusCode).toBe(202);
    const [run] = temporal.runs().filter((candidate) => candidate.workflowType === REFUND_ORDER_WORKFLOW_TYPE);
    expect(run).toMatchObject({ workflowId: `refund-${workflowId}-full-1`, taskQueue: TASK_QUEUE });
    expect(run.start.workflowIdReusePolicy).toBe(
      proto.temporal.api.enums.v1.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    );
    expect(temporal.argOf(run)).toEqual({
      orderId: order.orderId,
      paymentIntentId: 'pi_paid_1',
      reason: 'requested by an operator through the API',
    });
  });
});

describe('a refund run that fails', () => {
  it.each([
    [REFUND_NOT_MADE, 502, 'refund_not_made'],
    [CHARGE_REJECTED, 502, 'refund_not_made'],
    [CHARGE_OUTCOME_UNKNOWN, 502, 'refund_outcome_unknown'],
    [STRIPE_UNAVAILABLE, 502, 'refund_outcome_unknown'],
    [REFUND_REFUSED, 409, 'refund_refused'],
  ])('failed %s: %i %s, "not made" only when Stripe shows nothing was refunded', async (type, status, code) => {
    const { workflowId } = await paidOrder();
    const answered = refund(workflowId, { headers: { 'idempotency-key': `fails-${type}` } });
    const refundRunId = `refund-${workflowId}-fails-${type}`;
    await vi.waitFor(() => expect(temporal.run(refundRunId)).toBeDefined());
    temporal.fail(refundRunId, type, `the refund failed (${type})`);
    const response = await answered;
    expect(response.statusCode).toBe(status);
    expect(response.json().error).toMatchObject({ code, message: expect.stringContaining(`the refund failed (${type})`) });
    if (code === 'refund_outcome_unknown') expect(response.json().error.message).toContain('before refunding again');
  });
});

describe('the body and headers', () => {
  it.each([
    ['a string amount', { amount: '100' }, 'amount', 'must be an integer, got a string'],
    ['a zero amount', { amount: 0 }, 'amount', 'positive integer'],
    ['a negative amount', { amount: -100 }, 'amount', 'positive integer'],
    ['a fraction', { amount: 10.5 }, 'amount', 'positive integer'],
    ['an amount over the maximum', { amount: MAX_AMOUNT + 1 }, 'amount', `at most ${MAX_AMOUNT}`],
    ['an unknown field', { amount: 100, reason: 'because' }, 'reason', 'is not a known field (expected amount)'],
    ['null', null, 'body', 'must be an object, got null'],
    ['an array', [100], 'body', 'must be an object, got an array'],
  ])('rejects %s with 400 naming the field, and starts no refund', async (_label, body, field, reason) => {
    const { workflowId } = await paidOrder();
    const response = await refund(workflowId, { body, headers: { 'idempotency-key': 'bad-body-1' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect(response.json().error.message).toContain(reason);
    expectNoRefundRun();
  });

  it('rejects a malformed Idempotency-Key, malformed JSON and a body that is not JSON', async () => {
    const { workflowId } = await paidOrder();
    const badKey = await refund(workflowId, { body: {}, headers: { 'idempotency-key': "x' OR 1=1" } });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().error.details.field).toBe('idempotency-key');
    expect((await refund(workflowId, { body: '{"amount": ' })).statusCode).toBe(400);
    const duplicate = await refund(workflowId, { body: '{"amount": 1, "amount": 4999}' });
    expect(duplicate.statusCode).toBe(400);
    expect(duplicate.json().error.message).toContain('"amount" more than once');
    const text = await refund(workflowId, { body: 'amount=100', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(415);
    // Stripe's idempotency keys hold 255 characters: the refund's is `refund-<order workflow ID>-<key>/refund`.
    const longKey = await refund(workflowId, { body: {}, headers: { 'idempotency-key': 'k'.repeat(101) } });
    expect(longKey.statusCode).toBe(400);
    expect(longKey.json().error.details.field).toBe('idempotency-key');
    expectNoRefundRun();
  });

  it('refuses a refund without an Idempotency-Key (400 idempotency_key_required), before anything is read or started', async () => {
    const { workflowId } = await paidOrder();
    const before = temporal.requests.length;
    const response = await refund(workflowId, { body: {} });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'idempotency_key_required',
      message: expect.stringContaining('Idempotency-Key'),
      details: { field: 'idempotency-key' },
    });
    expect(temporal.requests.slice(before)).toEqual([]);
  });

  it('is documented in /openapi.json with its body', async () => {
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const route = openapi.paths['/api/runs/{workflowId}/refund'].post;
    expect(route.security).toEqual([{ apiKey: [] }]);
    expect(route.requestBody.content['application/json'].schema.properties.amount).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: MAX_AMOUNT,
    });
    expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '404', '409']));
  });
});
