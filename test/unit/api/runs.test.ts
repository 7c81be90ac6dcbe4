/**
 * The run routes (GET /api/runs, GET /api/runs/:workflowId, .../payment, .../cancel) in process, on
 * the real Temporal client talking to the stand-in frontend: their keys, parameters and answers for
 * runs that do not exist or have closed, and the visibility query the list sends. Runs' timelines,
 * progress, lists of real runs and cancellation honoured by a worker are in test/e2e/api-runs.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { OrderProgress } from '../../../src/domain/order.js';
import { ORDER_WORKFLOW_TYPE, statusQuery } from '../../../src/workflows/names.js';
import { sampleOrder } from '../../support/orders.js';
import type { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { useApiOnStandIn } from '../../support/api-on-stand-in.js';
import { injectTrigger } from '../../support/trigger.js';

const API_KEY = 'ask_runs_key_0001';
const TASK_QUEUE = 'order-processing-unit';
const auth = { authorization: `Bearer ${API_KEY}` };

let temporal: TemporalStandIn;
let app: FastifyInstance;

useApiOnStandIn(
  { taskQueue: TASK_QUEUE, triggerApiKeys: [API_KEY], webUiUrl: 'http://ui.example:8233/' },
  (standIn, built) => ([temporal, app] = [standIn, built]),
);

const get = (url: string, headers: Record<string, string> = auth) => app.inject({ method: 'GET', url, headers });

async function startOrder() {
  const order = sampleOrder();
  const response = await injectTrigger(app, API_KEY, { params: order });
  expect(response.statusCode).toBe(201);
  return { order, workflowId: `order-${order.orderId}` };
}

describe('GET /api/runs/:workflowId', () => {
  it('answers 404 with a clear body for an unknown run', async () => {
    const response = await get('/api/runs/order-does-not-exist');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'run_not_found', message: 'No run with workflow ID "order-does-not-exist"' } });
  });

  it('needs the API key, and reaches order runs only', async () => {
    expect((await get('/api/runs/order-x', {})).statusCode).toBe(401);
    const other = await get('/api/runs/some-other-workflow');
    expect(other.statusCode).toBe(400);
    expect(other.json().error).toMatchObject({ code: 'invalid_request', details: { field: 'workflowId' } });
    expect(temporal.requests).toEqual([]);
  });

  it('shows a closed run with its result and a Web UI link', async () => {
    const { workflowId } = await startOrder();
    temporal.complete(workflowId, { orderId: 'x', status: 'paid', receipt: 'sent' });
    const run = (await get(`/api/runs/${workflowId}`)).json();
    expect(run).toMatchObject({
      workflowId,
      runId: temporal.run(workflowId)!.runId,
      status: 'completed',
      result: { status: 'paid', receipt: 'sent' },
      timeline: [],
    });
    expect(run.webUiUrl).toBe(`http://ui.example:8233/namespaces/default/workflows/${workflowId}/${run.runId}/history`);
  });
});

describe('GET /api/runs', () => {
  it('rejects malformed filters with 400 before asking Temporal', async () => {
    for (const query of [
      'status=paused',
      'outcome=shipped',
      "orderId=x'%20OR%20'1'='1",
      'limit=1000',
      'limit=0',
      'startedAfter=yesterday',
      'cursor=%24%24',
      'cursor=bm90LWEtdG9rZW4.AAAAAAAAAAAAAAAAAAAAAA',
      'sort=asc',
    ]) {
      const response = await get(`/api/runs?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code, query).toBe('invalid_request');
    }
    expect((await get('/api/runs', {})).statusCode).toBe(401);
    expect(temporal.requests).toEqual([]);
  });

  it('sends one visibility query built from validated filters, and pages with a signed cursor', async () => {
    const started = [await startOrder(), await startOrder(), await startOrder()];
    const after = '2020-01-01T00:00:00.000Z';
    const firstPage = (await get(`/api/runs?status=running&startedAfter=${after}&limit=2`)).json();
    const [request] = temporal.received('ListWorkflowExecutions');
    expect(request).toMatchObject({
      namespace: 'default',
      pageSize: 2,
      query: `WorkflowType = '${ORDER_WORKFLOW_TYPE}' AND TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Running' AND StartTime > '${after}'`,
    });
    expect(firstPage.runs).toHaveLength(2);
    expect(firstPage.nextCursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    const secondPage = (await get(`/api/runs?status=running&startedAfter=${after}&limit=2&cursor=${firstPage.nextCursor}`)).json();
    expect(secondPage.nextCursor).toBeUndefined();
    const listed = [...firstPage.runs, ...secondPage.runs].map((run: { workflowId: string }) => run.workflowId).sort();
    expect(listed).toEqual(started.map(({ workflowId }) => workflowId).sort());

    const byOrder = (await get(`/api/runs?orderId=${started[1].order.orderId}&outcome=paid`)).json();
    expect(temporal.received('ListWorkflowExecutions').at(-1)!.query).toBe(
      `WorkflowType = '${ORDER_WORKFLOW_TYPE}' AND TaskQueue = '${TASK_QUEUE}' AND OrderOutcome = 'paid' AND WorkflowId = '${started[1].workflowId}'`,
    );
    expect(byOrder.runs).toEqual([]);
  });
});

describe('GET /api/runs/:workflowId/payment', () => {
  /** An order run whose worker answers the status query with `progress`. */
  async function runAt(progress: OrderProgress) {
    const { workflowId } = await startOrder();
    temporal.answerQuery(workflowId, statusQuery.name, progress);
    return workflowId;
  }
  const paymentUpdates = () => temporal.received('UpdateWorkflowExecution').map((request) => request.request.meta.updateId);
  const onSessionAction: OrderProgress = {
    step: 'customer-action',
    status: 'payment_pending',
    customerAsked: 'on_session',
    paymentIntentId: 'pi_unit_1',
    reason: 'Waiting for the customer to confirm the payment: the bank asks for the card holder',
  };

  it('answers 404 for an order with no run, and 400 for a malformed Prefer or after', async () => {
    const unknown = await get('/api/runs/order-no_such_order/payment');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('run_not_found');
    for (const prefer of ['wait=31', 'wait=abc']) {
      const response = await get('/api/runs/order-no_such_order/payment', { ...auth, prefer });
      expect(response.statusCode, prefer).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'invalid_prefer', details: { field: 'prefer' } });
    }
    for (const query of ['after=paid', 'after=', 'since=requires_action']) {
      const response = await get(`/api/runs/order-no_such_order/payment?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code, query).toBe('invalid_request');
    }
  });

  it('answers requires_action at once to a caller that has not shown it, without asking the run for an update', async () => {
    const workflowId = await runAt(onSessionAction);
    const response = await get(`/api/runs/${workflowId}/payment`, { ...auth, prefer: 'wait=10' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      workflowId,
      payment: { status: 'requires_action', paymentIntentId: 'pi_unit_1', reason: onSessionAction.reason },
    });
    expect(paymentUpdates()).toEqual([]);
  });

  it('with after=requires_action, waits past it; when the wait runs out, 202 with it, Location to wait again and Retry-After', async () => {
    const workflowId = await runAt(onSessionAction);
    const response = await get(`/api/runs/${workflowId}/payment?after=requires_action`, { ...auth, prefer: 'wait=1' });
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe(`/api/runs/${workflowId}/payment?after=requires_action`);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json().payment).toEqual({ status: 'requires_action', paymentIntentId: 'pi_unit_1', reason: onSessionAction.reason });
    expect(paymentUpdates()).toEqual(['payment-after-requires_action']);
  });

  it("long-polls past payment_pending; without a wait answers 202 with the run's pending answer, asking no update", async () => {
    const pending: OrderProgress = { step: 'charge-card', status: 'payment_pending', reason: 'Stripe is processing the payment' };
    const workflowId = await runAt(pending);
    const now = await get(`/api/runs/${workflowId}/payment`);
    expect(now.statusCode).toBe(202);
    expect(now.headers.location).toBe(`/api/runs/${workflowId}/payment`);
    expect(now.json().payment).toEqual({ status: 'payment_pending', reason: pending.reason });
    expect(paymentUpdates()).toEqual([]);
    const waited = await get(`/api/runs/${workflowId}/payment`, { ...auth, prefer: 'wait=1' });
    expect(waited.statusCode).toBe(202);
    expect(waited.json().payment).toEqual({ status: 'payment_pending', reason: pending.reason });
    expect(paymentUpdates()).toEqual(['payment-after-payment_pending']);
  });

  it('answers a completed run at once, even one that ended payment_pending: nothing will come after it', async () => {
    const workflowId = await runAt({ step: 'completed', status: 'payment_pending', paymentIntentId: 'pi_unit_2' });
    const response = await get(`/api/runs/${workflowId}/payment`, { ...auth, prefer: 'wait=10' });
    expect(response.statusCode).toBe(200);
    expect(response.json().payment).toEqual({ status: 'payment_pending', paymentIntentId: 'pi_unit_2' });
    expect(paymentUpdates()).toEqual([]);
  });

  it('answers 202 with Location and Retry-After, never a 5xx, when the run rejects the update while it charges', async () => {
    const workflowId = await runAt({ step: 'charge-card' });
    temporal.rejectUpdates = true;
    const started = Date.now();
    const response = await get(`/api/runs/${workflowId}/payment`, { ...auth, prefer: 'wait=20' });
    expect(response.statusCode).toBe(202);
    expect(Date.now() - started).toBeLessThan(10_000); // answered on the rejection, not when the wait ran out
    expect(response.headers.location).toBe(`/api/runs/${workflowId}/payment`);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toEqual({ workflowId, payment: { status: 'payment_pending', reason: 'Charge Card has not settled yet' } });
    expect(paymentUpdates()).toEqual(['payment-after-payment_pending']);
  });
});

describe('POST /api/runs/:workflowId/cancel', () => {
  it('answers 404 for an unknown run and 409 run_closed for a finished one, requesting no cancellation', async () => {
    const unknown = await app.inject({ method: 'POST', url: '/api/runs/order-nope/cancel', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('run_not_found');

    const { workflowId } = await startOrder();
    temporal.complete(workflowId, { orderId: 'x', status: 'paid' });
    const closed = await app.inject({ method: 'POST', url: `/api/runs/${workflowId}/cancel`, headers: auth });
    expect(closed.statusCode).toBe(409);
    expect(closed.json().error).toMatchObject({ code: 'run_closed', details: { status: 'completed' } });
    expect(temporal.received('RequestCancelWorkflowExecution')).toEqual([]);
  });
});
