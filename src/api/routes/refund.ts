import type { FastifyInstance } from 'fastify';
import { WorkflowFailedError, WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { REFUND_NOT_MADE_TYPES, REFUND_REFUSED } from '../../domain/failures.js';
import { UNSETTLED_REFUND_STATUSES, type RefundOrderInput, type RefundOutcome } from '../../domain/payment.js';
import type { ApiContext } from '../context.js';
import { sendError } from '../../http/error-reply.js';
import { readOrderRun, readRunInput } from '../read-runs.js';
import {
  refundBodySchema,
  refundHeadersSchema,
  refundResponseSchema,
  runParamsSchema,
  type RefundBody,
  type RefundHeaders,
  type RunParams,
} from '../schemas.js';
import {
  orderIdOfWorkflowId,
  REFUND_ORDER_WORKFLOW_TYPE,
  REFUNDED_ORDER_MEMO,
  refundQuery,
  refundWorkflowId,
} from '../../workflows/names.js';

export const REFUND_PATH = '/api/runs/:workflowId/refund';
/** How long the route waits for a refund's outcome before it answers 202 (buildApp's refundAnswerWaitMs). */
export const DEFAULT_REFUND_ANSWER_WAIT_MS = 30_000;
const START_DEADLINE_MS = 10_000;
/** How long the 202 answer waits for the refund run to say what Stripe answered so far. */
const QUERY_DEADLINE_MS = 2_000;
/** The Retry-After of a 202: when a repeat of the request may know more. */
const RETRY_AFTER_SECONDS = 5;
const REFUND_REASON = 'requested by an operator through the API';

type RefundHandle = WorkflowHandle<(input: RefundOrderInput) => Promise<RefundOutcome>>;

/** The first ApplicationFailure of one of `types` in a failed refund run's cause chain (raised by the workflow or its activity). */
function failureOfType(error: unknown, types: readonly string[]): ApplicationFailure | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && types.includes(cause.type ?? '')) return cause;
  }
  return undefined;
}

/** What the refund run has seen of the refund at Stripe so far, if it answers within a moment. */
async function refundSoFar(context: ApiContext, handle: RefundHandle): Promise<RefundOutcome | null> {
  return context.client.connection
    .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query<RefundOutcome | null>(refundQuery))
    .catch(() => null);
}

/** Undefined when the run has no outcome within `waitMs`: it goes on, and a repeat with the same key answers with it. */
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
 * Runs refundOrder and answers what Stripe's record shows, never its first answer (docs/api.md#routes). In a context of
 * its own, whose JSON parser reads an empty body as `{}`.
 */
export function registerRefundRoute(app: FastifyInstance, context: ApiContext, answerWaitMs: number): void {
  const { client, taskQueue } = context;
  app.post<{ Params: RunParams; Body: RefundBody; Headers: RefundHeaders }>(
    REFUND_PATH,
    {
      schema: {
        summary: 'Refund a paid order, in full or in part',
        description:
          "Runs the refundOrder workflow (workflow ID refund-<workflowId>-<Idempotency-Key>) and answers what Stripe's record shows: 200 succeeded; " +
          '202 pending (Stripe has not settled it, or has not answered yet; Retry-After); 409 refund_failed when Stripe failed or canceled it. ' +
          '400 idempotency_key_required without the header; 409 not_paid unless the order run completed with status paid; 409 refund_refused when ' +
          "Stripe refuses (more than is left, already refunded); 502 refund_not_made only when Stripe shows no refund under the run's keys.",
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
      const idempotencyKey = request.headers['idempotency-key'];
      if (!idempotencyKey) {
        return sendError(
          reply,
          400,
          'idempotency_key_required',
          'A refund needs an Idempotency-Key header (at most 100 of A-Z a-z 0-9 _ . : / + = -): a retry with the same key never refunds twice',
          { field: 'idempotency-key' },
        );
      }
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

      // Stripe's keys are at most 255 characters and the activity's is `<this ID>/refund/<n>`: the header's length is capped for it.
      const refundRunId = refundWorkflowId(workflowId, idempotencyKey);
      const input: RefundOrderInput = { orderId, paymentIntentId, ...(amount !== undefined && { amount }), reason: REFUND_REASON };
      let handle: RefundHandle;
      try {
        handle = await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
          client.workflow.start<(input: RefundOrderInput) => Promise<RefundOutcome>>(REFUND_ORDER_WORKFLOW_TYPE, {
            workflowId: refundRunId,
            taskQueue,
            args: [input],
            memo: { [REFUNDED_ORDER_MEMO]: orderId },
            // One refund per key, ever: a repeat after the first finished (or failed) gets the first's outcome.
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            staticSummary: `Refund ${describeAmount(amount)} of order ${orderId}`,
          }),
        );
        request.log.info({ workflowId: refundRunId, orderWorkflowId: workflowId, amount }, 'Refund workflow started');
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        const earlier = (await readRunInput(client, refundRunId)) as RefundOrderInput | undefined;
        // Order IDs and keys may both hold "-": refund-order-a-b-c is order a's key b-c and order a-b's key c.
        if (earlier?.orderId !== orderId || earlier.paymentIntentId !== paymentIntentId) {
          return sendError(
            reply,
            409,
            'idempotency_key_reused',
            `Idempotency-Key makes the refund run ID ${refundRunId}, which already refunds another order; use a new key`,
            { workflowId: refundRunId },
          );
        }
        if (earlier.amount !== amount) {
          return sendError(
            reply,
            409,
            'idempotency_key_reused',
            `Idempotency-Key was already used to refund ${describeAmount(earlier.amount)} of order ${orderId}, not ${describeAmount(amount)}; use a new key`,
            { workflowId: refundRunId },
          );
        }
        handle = client.workflow.getHandle(refundRunId);
      }

      let outcome: RefundOutcome | undefined;
      try {
        outcome = await outcomeWithin(context, handle, answerWaitMs);
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        const refused = failureOfType(error, [REFUND_REFUSED]);
        if (refused) return sendError(reply, 409, 'refund_refused', refused.message, { workflowId: refundRunId });
        // Stripe's record shows no refund under the run's keys, or Stripe refused the request itself: nothing was refunded.
        const notMade = failureOfType(error, REFUND_NOT_MADE_TYPES);
        if (notMade) {
          return sendError(
            reply,
            502,
            'refund_not_made',
            `The refund of order ${orderId} was not made: ${notMade.message}. Try again with a new Idempotency-Key`,
            { workflowId: refundRunId, paymentIntentId },
          );
        }
        return sendError(
          reply,
          502,
          'refund_outcome_unknown',
          `The refund of order ${orderId} has no known outcome: ${rootMessage(error)}. Check the refunds of PaymentIntent ${paymentIntentId} in Stripe before refunding again`,
          { workflowId: refundRunId, paymentIntentId },
        );
      }
      const seen = outcome ?? (await refundSoFar(context, handle));
      // Settled at Stripe while the run still records it (a misconfigured backend is asked again for days): that is the answer.
      if (seen && !UNSETTLED_REFUND_STATUSES.includes(seen.status)) outcome = seen;
      if (outcome === undefined || UNSETTLED_REFUND_STATUSES.includes(outcome.status)) {
        const state = seen
          ? `Stripe holds refund ${seen.refundId} as ${seen.status}; the run records it once Stripe settles it`
          : `The refund has not finished within ${answerWaitMs / 1000} s; it goes on`;
        return reply
          .code(202)
          .header('retry-after', String(RETRY_AFTER_SECONDS))
          .send({
            workflowId: refundRunId,
            status: 'pending',
            ...(seen && { refundId: seen.refundId, refundStatus: seen.status }),
            message: `${state}. Repeat this request with the same Idempotency-Key to get its outcome, or watch it with temporal workflow show --workflow-id ${refundRunId}`,
          });
      }
      if (outcome.status !== 'succeeded') {
        const reason = outcome.failureReason ? ` (${outcome.failureReason})` : '';
        return sendError(
          reply,
          409,
          'refund_failed',
          `Stripe ${outcome.status === 'canceled' ? 'canceled' : 'failed'} refund ${outcome.refundId} of order ${orderId}${reason}: the money was not returned to the customer, and ops were told. Refund again with a new Idempotency-Key once the cause is fixed`,
          { workflowId: refundRunId, ...outcome },
        );
      }
      request.log.info(
        { workflowId: refundRunId, refundId: outcome.refundId, amount: outcome.amount, status: outcome.status },
        'Order refunded',
      );
      return { workflowId: refundRunId, ...outcome };
    },
  );
}
