/**
 * One schema per route: Fastify validates requests and serialises responses with them, @fastify/swagger
 * publishes them as /openapi.json, and json-schema-to-ts derives the handlers' TypeScript types.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { orderParamsSchema } from '../domain/order-schema.js';
import { RUN_STATUSES } from './run-status.js';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable, machine-readable', examples: ['invalid_order'] },
        message: { type: 'string', description: 'for people: what went wrong and what to do' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;

export const triggerBodySchema = {
  type: 'object',
  required: ['params'],
  additionalProperties: false,
  properties: {
    connectionId: { type: 'string', maxLength: 200, description: "the builder's connection ID; accepted and ignored" },
    params: orderParamsSchema,
  },
} as const;
export type TriggerBody = FromSchema<typeof triggerBodySchema>;

export const triggerHeadersSchema = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:/+=-]{1,255}$',
      description:
        'optional; at most one run starts per key: a repeat with the same key and the same params answers with the existing run, with other params (or another order) 409',
    },
  },
} as const;
export type TriggerHeaders = FromSchema<typeof triggerHeadersSchema>;

const startedRunSchema = {
  type: 'object',
  required: ['id', 'workflowId', 'runId', 'status', 'created'],
  properties: {
    id: { type: 'string' },
    workflowId: { type: 'string' },
    runId: { type: 'string' },
    status: { type: 'string', enum: [...RUN_STATUSES, 'unknown'] },
    created: { type: 'boolean', description: 'false when the order already had this run' },
  },
} as const;

export const triggerResponseSchema = {
  201: startedRunSchema,
  200: startedRunSchema,
  400: errorRef,
  401: errorRef,
  409: errorRef,
  413: errorRef,
  415: errorRef,
  429: errorRef,
  503: errorRef,
} as const;

export const runParamsSchema = {
  type: 'object',
  required: ['workflowId'],
  // Order runs only: `order-` and an order ID.
  properties: { workflowId: { type: 'string', pattern: `^order-${orderParamsSchema.properties.orderId.pattern.slice(1)}`, maxLength: 106 } },
} as const;
export type RunParams = FromSchema<typeof runParamsSchema>;

const timelineStepSchema = {
  type: 'object',
  required: ['name', 'activityType', 'state', 'attempts'],
  properties: {
    name: { type: 'string', examples: ['Charge Card'] },
    activityType: { type: 'string' },
    state: { type: 'string', enum: ['scheduled', 'running', 'retrying', 'completed', 'failed', 'timed_out', 'cancelled'] },
    attempts: { type: 'integer' },
    lastFailure: { type: 'string' },
    startTime: { type: 'string', format: 'date-time' },
    endTime: { type: 'string', format: 'date-time' },
  },
} as const;

/** What every run answer says of the run itself. */
const runSummaryProperties = {
  workflowId: { type: 'string' },
  runId: { type: 'string' },
  status: { type: 'string', enum: [...RUN_STATUSES, 'unknown'] },
  startTime: { type: 'string', format: 'date-time' },
  closeTime: { type: 'string', format: 'date-time' },
} as const;

export const runViewSchema = {
  type: 'object',
  required: ['workflowId', 'runId', 'status', 'startTime', 'timeline', 'webUiUrl'],
  properties: {
    ...runSummaryProperties,
    progress: { type: 'object', additionalProperties: true, description: 'the status query while the run is open' },
    result: { type: 'object', additionalProperties: true, description: 'the workflow result once completed' },
    failure: {
      type: 'object',
      required: ['message'],
      properties: { type: { type: 'string' }, message: { type: 'string' } },
    },
    timeline: { type: 'array', items: timelineStepSchema },
    webUiUrl: { type: 'string', format: 'uri' },
  },
} as const;

export const runListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: RUN_STATUSES },
    orderId: orderParamsSchema.properties.orderId,
    startedAfter: { type: 'string', format: 'date-time' },
    startedBefore: { type: 'string', format: 'date-time' },
    limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1-100 (default 20)' },
    cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,4096}\\.[A-Za-z0-9_-]{22}$', description: 'nextCursor of the previous page' },
  },
} as const;
export type RunListQuery = FromSchema<typeof runListQuerySchema>;

export const runListSchema = {
  type: 'object',
  required: ['runs'],
  properties: {
    runs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['workflowId', 'runId', 'status'],
        properties: runSummaryProperties,
      },
    },
    nextCursor: { type: 'string' },
  },
} as const;

export const cancelResponseSchema = {
  type: 'object',
  required: ['workflowId', 'runId', 'outcome', 'message'],
  properties: {
    workflowId: { type: 'string' },
    runId: { type: 'string' },
    outcome: {
      type: 'string',
      enum: ['cancelled', 'too_late', 'requested'],
      description:
        'cancelled: before the charge, nothing charged, order marked cancelled; too_late: the charge was in flight or done, the run records the true outcome; requested: no worker answered yet',
    },
    message: { type: 'string' },
  },
} as const;

export const healthSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;
