import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { isGrpcServiceError } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { workflowIdForOrder, type OrderParams } from '../domain/order.js';
import { startOrderWorkflow } from '../start-order.js';
import { InvalidOrderError, parseOrder } from '../domain/validate-order.js';
import { createBearerKeyCheck } from './auth.js';
import { sendError } from './errors.js';
import { describeRun } from './runs.js';

export const TRIGGER_PATH = '/api/workflows/order-processing/trigger';
export const BODY_LIMIT_BYTES = 100 * 1024;
const READINESS_DEADLINE_MS = 2_000;

export interface AppDeps {
  client: Client;
  taskQueue: string;
  triggerApiKeys: readonly string[];
  logger?: FastifyServerOptions['logger'];
}

interface TriggerBody {
  connectionId?: string;
  params: unknown;
}

const triggerBodySchema = {
  type: 'object',
  required: ['params'],
  additionalProperties: false,
  properties: {
    connectionId: { type: 'string', maxLength: 200 },
    params: { type: 'object' },
  },
} as const;

interface SchemaError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: { missingProperty?: string; additionalProperty?: string };
}

/** The first schema violation as a field and a reason, in the same terms as order validation errors. */
function describeSchemaError([first]: SchemaError[]): { field: string; reason: string } {
  const path = first?.instancePath.slice(1).replaceAll('/', '.') ?? '';
  const prefix = path ? `${path}.` : '';
  if (first?.keyword === 'required') return { field: `${prefix}${first.params.missingProperty}`, reason: 'is required' };
  if (first?.keyword === 'additionalProperties') {
    return { field: `${prefix}${first.params.additionalProperty}`, reason: 'is not a known field (expected connectionId, params)' };
  }
  return { field: path || 'body', reason: first?.message ?? 'is invalid' };
}

/** Temporal cannot be reached (down, or the deadline passed): the client should retry later. */
function isTemporalUnavailable(error: unknown): boolean {
  return (
    isGrpcServiceError(error) &&
    [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED].includes(error.code)
  );
}

/** The HTTP trigger and run lookup. Built by a factory so tests can inject() or listen on a real port. */
export function buildApp({ client, taskQueue, triggerApiKeys, logger = false }: AppDeps): FastifyInstance {
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Reject what does not match the schema; never drop unknown fields or coerce "100" into 100.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  // JSON only: anything else is answered 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  const isAuthorized = createBearerKeyCheck(triggerApiKeys);

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    if (error.validation) {
      const { field, reason } = describeSchemaError(error.validation as SchemaError[]);
      return sendError(reply, 400, 'invalid_request', `${field} ${reason}`, { field, reason });
    }
    if (error.statusCode === 413) {
      return sendError(reply, 413, 'body_too_large', `Request body exceeds ${BODY_LIMIT_BYTES} bytes`);
    }
    if (error.statusCode === 415) {
      return sendError(reply, 415, 'unsupported_media_type', 'Send the body as application/json');
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, 'bad_request', error.message);
    }
    if (isTemporalUnavailable(error)) {
      request.log.warn({ err: error }, 'Temporal unavailable');
      return sendError(reply, 503, 'temporal_unavailable', 'The workflow service is unavailable; retry later');
    }
    request.log.error({ err: error }, 'Unhandled error');
    return sendError(reply, 500, 'internal_error', 'Internal error');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`),
  );

  app.post<{ Body: TriggerBody }>(
    TRIGGER_PATH,
    {
      schema: { body: triggerBodySchema },
      onRequest: async (request, reply) => {
        if (!isAuthorized(request.headers.authorization)) {
          reply.header('www-authenticate', 'Bearer');
          return sendError(reply, 401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>"');
        }
      },
    },
    async (request, reply) => {
      let orderId: string;
      try {
        orderId = parseOrder(request.body.params).orderId;
      } catch (error) {
        if (!(error instanceof InvalidOrderError)) throw error;
        const field = `params.${error.field}`.replace('params.params', 'params');
        return sendError(reply, 400, 'invalid_order', `${field} ${error.reason}`, { field, reason: error.reason });
      }
      const workflowId = workflowIdForOrder(orderId);
      try {
        const handle = await startOrderWorkflow(client, taskQueue, request.body.params as OrderParams);
        request.log.info({ workflowId, runId: handle.firstExecutionRunId }, 'Order workflow started');
        return reply
          .code(201)
          .header('location', `/api/runs/${encodeURIComponent(workflowId)}`)
          .send({ id: workflowId, workflowId, runId: handle.firstExecutionRunId, status: 'running', created: true });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        const existing = await describeRun(client, workflowId);
        if (!existing) throw error;
        return reply
          .code(200)
          .header('location', `/api/runs/${encodeURIComponent(workflowId)}`)
          .send({ id: workflowId, workflowId, runId: existing.runId, status: existing.status, created: false });
      }
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await client.connection.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => client.workflowService.getSystemInfo({}));
      return { status: 'ready' };
    } catch {
      return sendError(reply, 503, 'temporal_unavailable', 'Temporal is not reachable');
    }
  });

  app.get<{ Params: { workflowId: string } }>('/api/runs/:workflowId', async (request, reply) => {
    const run = await describeRun(client, request.params.workflowId);
    if (!run) return sendError(reply, 404, 'run_not_found', `No run with workflow ID "${request.params.workflowId}"`);
    return run;
  });

  return app;
}
