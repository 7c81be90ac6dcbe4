import type { FastifyInstance } from 'fastify';
import { WorkflowFailedError, WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { REFUND_REFUSED } from '../../domain/failures.js';
import { orderIdOfWorkflowId } from '../../domain/order.js';
import { REFUND_ORDER_WORKFLOW_TYPE, REFUNDED_ORDER_MEMO, type RefundOrderInput, type RefundOutcome } from '../../domain/payment.js';
import type { ApiContext } from '../context.js';
import { sendError } from '../errors.js';
import { readOrderRun, readRunInput } from '../runs.js';
import {
  refundBodySchema,
  refundHeadersSchema,
  refundResponseSchema,
  runParamsSchema,
  type RefundBody,
  type RefundHeaders,
  type RunParams,
} from '../schemas.js';

export const REFUND_PATH = '/api/runs/:workflowId/refund';
/** How long the route waits for a refund's outcome before it answers 202 (buildApp's refundAnswerWaitMs). */
export const DEFAULT_REFUND_ANSWER_WAIT_MS = 30_000;
const START_DEADLINE_MS = 10_000;
const REFUND_REASON = 'requested by an operator through the API';

type RefundHandle = WorkflowHandle<(input: RefundOrderInput) => Promise<RefundOutcome>>;

/** The REFUND_REFUSED failure somewhere in a failed refund run's cause chain (raised by the workflow or its activity). */
function refusal(error: unknown): ApplicationFailure | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && cause.type === REFUND_REFUSED) return cause;
  }
  return undefined;
}

/**
 * The refund run's outcome, or undefined when it has none within `waitMs` (it goes on; a repeat of
 * the request with the same Idempotency-Key answers with its outcome).
 */
async function outcomeWithin(context: ApiContext, handle: RefundHandle, waitMs: number): Promise<RefundOutcome | undefined> {
  const timeout = AbortSignal.timeout(waitMs);
  try {
    return await context.client.connection.withAbortSignal(timeout, () => handle.result());
  } catch (error) {
    if (timeout.aborted && !(error instanceof WorkflowFailedError)) return undefined;
    throw error;
  }
}

/** The innermost message of a failed run's cause chain: the activity's own words. */
function rootMessage(error: Error): string {
  let cause: Error = error;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}

function describeAmount(amount: number | undefined): string {
  return amount === undefined ? 'all that is left' : `${amount} (minor units)`;
}

/**
 * POST a paid order's refund, in full or in part: runs the refundOrder workflow on the API's task
 * queue and answers with Stripe's refund (200), 202 while it has not finished within the wait, or
 * 409 when the order is not paid, was charged before PaymentIntents, or Stripe refuses the refund.
 * Registered in a context of its own whose JSON parser reads an empty body as `{}`.
 */
export function registerRefundRoute(app: FastifyInstance, context: ApiContext, answerWaitMs: number): void {
  const { client, taskQueue } = context;
  app.post<{ Params: RunParams; Body: RefundBody; Headers: RefundHeaders }>(
    REFUND_PATH,
    {
      schema: {
        summary: 'Refund a paid order, in full or in part',
        description:
          "Runs the refundOrder workflow (workflow ID refund-<workflowId>-<Idempotency-Key, else the request ID>) and waits for Stripe's refund. " +
          '409 not_paid unless the order run completed with status paid; 409 refund_refused when Stripe refuses (more than is left, already refunded).',
        security: [{ apiKey: [] }],
        params: runParamsSchema,
        headers: refundHeadersSchema,
        body: refundBodySchema,
        response: refundResponseSchema,
      },
      preParsing: app.requireApiKey,
      // A request without a body (and without a content type) refunds in full, as `{}` does.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      const { amount } = request.body;
      const orderId = orderIdOfWorkflowId(workflowId)!; // the params schema admits order runs' IDs only
      const run = await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => readOrderRun(client, workflowId));
      if (!run) return sendError(reply, 404, 'run_not_found', `No run with workflow ID "${workflowId}"`);
      const status = run.result?.status ?? run.status;
      if (status !== 'paid') {
        return sendError(reply, 409, 'not_paid', `order ${orderId} is ${status}; only a paid order can be refunded`, { status });
      }
      const paymentIntentId = run.result?.paymentIntentId;
      if (!paymentIntentId) {
        const charge = run.result?.chargeId ? ` (charge ${run.result.chargeId})` : '';
        return sendError(
          reply,
          409,
          'not_refundable_here',
          `order ${orderId} was paid with the legacy Charges API${charge}, before PaymentIntents; refund it in the Stripe Dashboard`,
          { ...(run.result?.chargeId && { chargeId: run.result.chargeId }) },
        );
      }

      const idempotencyKey = request.headers['idempotency-key'];
      // Stripe takes idempotency keys of at most 255 characters; the activity's is `<this ID>/refund` (the header's length is capped for it).
      const refundWorkflowId = `refund-${workflowId}-${idempotencyKey ?? request.id}`;
      const input: RefundOrderInput = { orderId, paymentIntentId, ...(amount !== undefined && { amount }), reason: REFUND_REASON };
      let handle: RefundHandle;
      try {
        handle = await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
          client.workflow.start<(input: RefundOrderInput) => Promise<RefundOutcome>>(REFUND_ORDER_WORKFLOW_TYPE, {
            workflowId: refundWorkflowId,
            taskQueue,
            args: [input],
            memo: { [REFUNDED_ORDER_MEMO]: orderId },
            // One refund per key, ever: a repeat after the first finished (or failed) gets the first's outcome.
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            staticSummary: `Refund ${describeAmount(amount)} of order ${orderId}`,
          }),
        );
        request.log.info({ workflowId: refundWorkflowId, orderWorkflowId: workflowId, amount }, 'Refund workflow started');
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        const earlier = (await readRunInput(client, refundWorkflowId)) as RefundOrderInput | undefined;
        // Order IDs and keys may both hold "-": refund-order-a-b-c is order a's key b-c and order a-b's key c.
        if (earlier?.orderId !== orderId || earlier.paymentIntentId !== paymentIntentId) {
          return sendError(
            reply,
            409,
            'idempotency_key_reused',
            `Idempotency-Key makes the refund run ID ${refundWorkflowId}, which already refunds another order; use a new key`,
            { workflowId: refundWorkflowId },
          );
        }
        if (earlier.amount !== amount) {
          return sendError(
            reply,
            409,
            'idempotency_key_reused',
            `Idempotency-Key was already used to refund ${describeAmount(earlier.amount)} of order ${orderId}, not ${describeAmount(amount)}; use a new key`,
            { workflowId: refundWorkflowId },
          );
        }
        handle = client.workflow.getHandle(refundWorkflowId);
      }

      let outcome: RefundOutcome | undefined;
      try {
        outcome = await outcomeWithin(context, handle, answerWaitMs);
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        const refused = refusal(error);
        if (refused) return sendError(reply, 409, 'refund_refused', refused.message, { workflowId: refundWorkflowId });
        // Stripe unavailable through every attempt, or an answer that leaves the outcome unknown.
        return sendError(
          reply,
          502,
          'refund_failed',
          `The refund of order ${orderId} did not go through: ${rootMessage(error)}. Check the refunds of PaymentIntent ${paymentIntentId} in Stripe before trying again with a new Idempotency-Key`,
          { workflowId: refundWorkflowId, paymentIntentId },
        );
      }
      if (outcome === undefined) {
        const repeat = idempotencyKey ? 'the same Idempotency-Key' : `X-Request-Id: ${request.id}`;
        return reply.code(202).send({
          workflowId: refundWorkflowId,
          status: 'pending',
          message: `The refund has not finished within ${answerWaitMs / 1000} s; it goes on. Repeat this request with ${repeat} to get its outcome`,
        });
      }
      request.log.info(
        { workflowId: refundWorkflowId, refundId: outcome.refundId, amount: outcome.amount, status: outcome.status },
        'Order refunded',
      );
      return { workflowId: refundWorkflowId, ...outcome };
    },
  );
}
