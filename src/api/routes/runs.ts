import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiContext } from '../context.js';
import { sendError } from '../../http/error-reply.js';
import { runStatus } from '../run-status.js';
import { describeRun, listRuns, queryProgress } from '../read-runs.js';
import { nextPaymentLocation, PAYMENT_RETRY_AFTER_SECONDS, readPayment, waitPreference, withClientSecret } from '../payment-wait.js';
import {
  cancelResponseSchema,
  runListQuerySchema,
  paymentHeadersSchema,
  paymentQuerySchema,
  paymentResponseSchema,
  runListSchema,
  runParamsSchema,
  runViewSchema,
  type PaymentHeaders,
  type PaymentQuery,
  type RunListQuery,
  type RunParams,
} from '../schemas.js';
import { workflowIdForOrder } from '../../workflows/names.js';

const errorRef = { $ref: 'Error#' } as const;
/** How long the cancel endpoint waits for the run to say whether it honoured the cancellation. */
const CANCEL_ANSWER_WAIT_MS = 5_000;

const CANCEL_MESSAGES = {
  cancelled: 'Cancelled before the charge: nothing was charged and the order is marked cancelled in the backend.',
  too_late: 'The charge was already in flight or done: the run goes on and records the true payment outcome.',
  requested:
    'Cancellation requested, but no worker has handled it yet. It is honoured only if the charge has not started; GET the run to see the outcome.',
} as const;

/** Run inspection and control: list, details with timeline, cancel. Behind the same API keys as the trigger. */
export function registerRunRoutes(app: FastifyInstance, context: ApiContext): void {
  const { client } = context;
  const requireKey = app.requireApiKey;

  app.get<{ Querystring: RunListQuery }>(
    '/api/runs',
    {
      schema: {
        summary: 'List order runs',
        security: [{ apiKey: [] }],
        querystring: runListQuerySchema,
        response: { 200: runListSchema, 400: errorRef, 401: errorRef },
      },
      preParsing: requireKey,
    },
    async (request, reply) => {
      const { status, outcome, orderId, startedAfter, startedBefore, limit, cursor } = request.query;
      const pageToken = cursor === undefined ? undefined : context.cursors.decode(cursor);
      if (cursor !== undefined && pageToken === undefined) {
        return sendError(reply, 400, 'invalid_request', 'cursor is not a nextCursor this API returned', { field: 'cursor' });
      }
      const { runs, nextPageToken } = await listRuns(client, context.taskQueue, {
        status,
        outcome,
        ...(orderId && { orderWorkflowId: workflowIdForOrder(orderId) }),
        ...(startedAfter && { startedAfter: new Date(startedAfter) }),
        ...(startedBefore && { startedBefore: new Date(startedBefore) }),
        limit: Number(limit ?? 20),
        ...(pageToken && { cursor: pageToken }),
      });
      return { runs, ...(nextPageToken && { nextCursor: context.cursors.encode(nextPageToken) }) };
    },
  );

  app.get<{ Params: RunParams }>(
    '/api/runs/:workflowId',
    {
      schema: {
        summary: 'A run: status, current step, result or failure, step timeline',
        security: [{ apiKey: [] }],
        params: runParamsSchema,
        response: { 200: runViewSchema, 401: errorRef, 404: errorRef },
      },
      preParsing: requireKey,
    },
    async (request, reply) => {
      const run = await describeRun(client, request.params.workflowId, context.webUiUrl);
      if (!run) return sendError(reply, 404, 'run_not_found', `No run with workflow ID "${request.params.workflowId}"`);
      return run;
    },
  );

  app.get<{ Params: RunParams; Querystring: PaymentQuery; Headers: PaymentHeaders }>(
    '/api/runs/:workflowId/payment',
    {
      schema: {
        summary: "The order's payment the caller has not seen; a long poll with Prefer: wait=<seconds>",
        security: [{ apiKey: [] }],
        params: runParamsSchema,
        querystring: paymentQuerySchema,
        headers: paymentHeadersSchema,
        response: paymentResponseSchema,
      },
      preParsing: requireKey,
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      const waitMs = waitPreference(request.headers.prefer);
      if (typeof waitMs === 'string') return sendError(reply, 400, 'invalid_prefer', `Prefer ${waitMs}`, { field: 'prefer' });
      const waited = await readPayment(client, workflowId, waitMs ?? 0, request.query.after);
      if (!waited) return sendError(reply, 404, 'run_not_found', `No run with workflow ID "${workflowId}"`);
      if ('answer' in waited) return { workflowId, payment: await withClientSecret(context.stripe, waited.answer) };
      const payment = waited.known
        ? await withClientSecret(context.stripe, waited.known)
        : ({ status: 'payment_pending', reason: 'Charge Card has not settled yet' } as const);
      return reply
        .code(202)
        .header('location', nextPaymentLocation(workflowId, payment))
        .header('retry-after', String(PAYMENT_RETRY_AFTER_SECONDS))
        .send({ workflowId, payment });
    },
  );

  app.post<{ Params: RunParams }>(
    '/api/runs/:workflowId/cancel',
    {
      schema: {
        summary: 'Cancel a run: honoured before the charge, otherwise the run records the true outcome',
        security: [{ apiKey: [] }],
        params: runParamsSchema,
        response: { 200: cancelResponseSchema, 202: cancelResponseSchema, 401: errorRef, 404: errorRef, 409: errorRef },
      },
      preParsing: requireKey,
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      const handle = client.workflow.getHandle(workflowId);
      let description;
      try {
        description = await handle.describe();
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          return sendError(reply, 404, 'run_not_found', `No run with workflow ID "${workflowId}"`);
        throw error;
      }
      const status = runStatus(description.status.name);
      if (status !== 'running') {
        return sendError(reply, 409, 'run_closed', `Run ${workflowId} is already ${status}; there is nothing to cancel`, { status });
      }
      try {
        await handle.cancel();
      } catch (error) {
        // The run closed between the look-up and the request.
        if (error instanceof WorkflowNotFoundError)
          return sendError(reply, 409, 'run_closed', `Run ${workflowId} has closed; there is nothing to cancel`);
        throw error;
      }
      const deadline = Date.now() + CANCEL_ANSWER_WAIT_MS;
      while (Date.now() < deadline) {
        const cancellation = (await queryProgress(client, workflowId))?.cancellation;
        if (cancellation) {
          const outcome = cancellation === 'honoured' ? 'cancelled' : 'too_late';
          return { workflowId, runId: description.runId, outcome, message: CANCEL_MESSAGES[outcome] };
        }
        await sleep(100);
      }
      return reply.code(202).send({ workflowId, runId: description.runId, outcome: 'requested', message: CANCEL_MESSAGES.requested });
    },
  );
}
