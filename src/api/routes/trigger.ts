import { trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { type Order } from '../../domain/order.js';
import { ORDER_ID_ATTRIBUTE } from '../../domain/span-attributes.js';
import { InvalidOrderError, parseOrder } from '../../domain/validate-order.js';
import { claimIdempotencyKey, startOrderWorkflow } from '../start-order.js';
import type { ApiContext } from '../context.js';
import { sendError } from '../../http/error-reply.js';
import { PAYMENT_RETRY_AFTER_SECONDS, readPayment, waitForFirstPayment, waitPreference, withClientSecret } from '../payment-wait.js';
import { readRunInput } from '../read-runs.js';
import { runStatus } from '../run-status.js';
import { missingForTrigger, sendSearchAttributesMissing } from '../search-attribute-check.js';
import { triggerBodySchema, triggerHeadersSchema, triggerResponseSchema, type TriggerBody, type TriggerHeaders } from '../schemas.js';
import { workflowIdForOrder } from '../../workflows/names.js';

export const TRIGGER_PATH = '/api/workflows/order-processing/trigger';
const START_DEADLINE_MS = 10_000;

const COMPARED_FIELDS = ['customerId', 'amount', 'currency', 'email', 'paymentMethodId'] as const;

/** The fields (never their values: they are personal data) in which two normalised orders differ. */
function differingFields(existing: Order, requested: Order): string[] {
  return COMPARED_FIELDS.filter((field) => existing[field] !== requested[field]).map((field) => `params.${field}`);
}

/** Temporal's client retries an unreachable server; past the deadline the caller gets a 503 to retry. */
function withStartDeadline<T>(context: ApiContext, start: () => Promise<T>): Promise<T> {
  return context.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, start);
}

/**
 * Claimed before the run starts, so one key starts at most one run; answers 409 when another order holds it. Returns a
 * boolean, not the reply: an awaited reply is a thenable and resolves to undefined.
 */
async function refusedIdempotencyKey(
  context: ApiContext,
  reply: FastifyReply,
  idempotencyKey: string,
  workflowId: string,
): Promise<boolean> {
  const holder = await withStartDeadline(context, () => claimIdempotencyKey(context.client, context.taskQueue, idempotencyKey, workflowId));
  if (holder === workflowId) return false;
  sendError(reply, 409, 'idempotency_key_reused', `Idempotency-Key was already used for run ${holder}, a different order; use a new key`, {
    workflowId: holder,
  });
  return true;
}

interface StartedRun {
  id: string;
  workflowId: string;
  runId: string;
  status: string;
  created: boolean;
}

/**
 * With `Prefer: wait`: a new run's first answer; a repeat's is the run's payment now, as GET .../payment answers it. 202 when
 * the wait runs out first, with what is known: the run goes on, and `GET <Location>/payment` answers later.
 */
async function answerWithRun(
  context: ApiContext,
  reply: FastifyReply,
  code: 200 | 201,
  run: StartedRun,
  waitMs: number | undefined,
): Promise<FastifyReply> {
  const location = `/api/runs/${encodeURIComponent(run.workflowId)}`;
  reply.header('location', location);
  if (waitMs === undefined) return reply.code(code).send(run);
  const waited = run.created
    ? await waitForFirstPayment(context.client, run.workflowId, waitMs)
    : await readPayment(context.client, run.workflowId, waitMs);
  if (waited && 'answer' in waited)
    return reply.code(code).send({ ...run, payment: await withClientSecret(context.stripe, waited.answer) });
  const unsettled = {
    status: 'payment_pending',
    reason: `Charge Card has not settled within ${waitMs / 1000} s: GET ${location}/payment`,
  } as const;
  return reply
    .code(202)
    .header('retry-after', String(PAYMENT_RETRY_AFTER_SECONDS))
    .send({ ...run, payment: waited?.known ? await withClientSecret(context.stripe, waited.known) : unsettled });
}

/**
 * POST `{ connectionId?, params }` (connectionId accepted and ignored). One order, one run: a repeat answers with the existing
 * run, or 409 when its params or Idempotency-Key disagree with it (docs/api.md#routes).
 */
export function registerTriggerRoute(app: FastifyInstance, context: ApiContext): void {
  const { client, taskQueue } = context;
  app.post<{ Body: TriggerBody; Headers: TriggerHeaders }>(
    TRIGGER_PATH,
    {
      schema: {
        summary: 'Start the order workflow for one order',
        security: [{ apiKey: [] }],
        body: triggerBodySchema,
        headers: triggerHeadersSchema,
        response: triggerResponseSchema,
      },
      preParsing: app.requireApiKey,
    },
    async (request, reply) => {
      let order: Order;
      try {
        order = parseOrder(request.body.params);
      } catch (error) {
        if (!(error instanceof InvalidOrderError)) throw error;
        const field = `params.${error.field}`;
        return sendError(reply, 400, 'invalid_order', `${field} ${error.reason}`, { field, reason: error.reason });
      }
      if (order.confirmOnSession && !context.stripe) {
        const message = "params.onSession needs STRIPE_SECRET_KEY on the API: it reads the PaymentIntent's client secret for the checkout";
        return sendError(reply, 503, 'on_session_not_configured', message);
      }
      const waitMs = waitPreference(request.headers.prefer);
      if (typeof waitMs === 'string') return sendError(reply, 400, 'invalid_prefer', `Prefer ${waitMs}`, { field: 'prefer' });
      const workflowId = workflowIdForOrder(order.orderId);
      trace.getActiveSpan()?.setAttribute(ORDER_ID_ATTRIBUTE, order.orderId);
      const idempotencyKey = request.headers['idempotency-key'];
      const missing = missingForTrigger(await context.findMissingSearchAttributes(), Boolean(idempotencyKey));
      if (missing) return sendSearchAttributesMissing(reply, missing);
      if (idempotencyKey && (await refusedIdempotencyKey(context, reply, idempotencyKey, workflowId))) return reply;
      try {
        const handle = await withStartDeadline(context, () => startOrderWorkflow(client, taskQueue, request.body.params, idempotencyKey));
        request.log.info({ workflowId, runId: handle.firstExecutionRunId }, 'Order workflow started');
        const run = { id: workflowId, workflowId, runId: handle.firstExecutionRunId, status: 'running', created: true };
        return await answerWithRun(context, reply, 201, run, waitMs);
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      let existingOrder: Order;
      try {
        existingOrder = parseOrder(await readRunInput(client, workflowId));
      } catch (error) {
        if (!(error instanceof InvalidOrderError)) throw error;
        // A run started elsewhere (the CLI) with params the trigger would refuse.
        return sendError(
          reply,
          409,
          'order_conflict',
          `Order ${order.orderId} already has a run, started with invalid params (${error.message})`,
          { workflowId },
        );
      }
      const differences = differingFields(existingOrder, order);
      if (differences.length > 0) {
        return sendError(
          reply,
          409,
          'order_conflict',
          `Order ${order.orderId} already has a run with different ${differences.join(', ')}; an order is processed once`,
          { workflowId, fields: differences },
        );
      }
      // Only the run's identity and status: no history, result or status query (which waits when no worker answers).
      let existing;
      try {
        existing = await client.workflow.getHandle(workflowId).describe();
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        return sendError(
          reply,
          409,
          'order_conflict',
          `Order ${order.orderId} already had a run that is no longer visible (past retention); it is not started again`,
          { workflowId },
        );
      }
      const run = { id: workflowId, workflowId, runId: existing.runId, status: runStatus(existing.status.name), created: false };
      return answerWithRun(context, reply, 200, run, waitMs);
    },
  );
}
