/** One schema per route, so validation, /openapi.json and the handlers' TypeScript types can never disagree. */
import type { FromSchema } from 'json-schema-to-ts';
import { MAX_AMOUNT, orderParamsSchema } from '../domain/order-schema.js';
import { ROUTED_STRIPE_EVENTS } from '../domain/payment.js';
import { ORDER_OUTCOMES } from '../domain/search-attributes.js';
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
    connectionId: { type: 'string', maxLength: 200, description: 'accepted for compatibility with the original trigger payload; ignored' },
    params: orderParamsSchema,
  },
} as const;
export type TriggerBody = FromSchema<typeof triggerBodySchema>;

/** An Idempotency-Key header's characters: a workflow ID may hold them, a visibility query cannot be broken by them. */
const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9_.:/+=-]{1,255}$';

/** Headers of a route that takes an optional Idempotency-Key, and what the key means there. */
function idempotencyKeyHeaders<Description extends string, Pattern extends string>(description: Description, pattern: Pattern) {
  return { type: 'object', properties: { 'idempotency-key': { type: 'string', pattern, description } } } as const;
}

const preferWaitHeader = {
  type: 'string',
  maxLength: 200,
  description:
    'optional, RFC 7240: `wait=<seconds>` (at most 30) answers once Charge Card has settled, with `payment`, or 202 when the wait runs out first',
} as const;

export const triggerHeadersSchema = {
  type: 'object',
  properties: {
    ...idempotencyKeyHeaders(
      'optional; at most one run starts per key: a repeat with the same key and the same params answers with the existing run, with other params (or another order) 409',
      IDEMPOTENCY_KEY_PATTERN,
    ).properties,
    prefer: preferWaitHeader,
  },
} as const;
export type TriggerHeaders = FromSchema<typeof triggerHeadersSchema>;

export const paymentSchema = {
  type: 'object',
  required: ['status'],
  description: "The payment's outcome once Charge Card has settled (with `Prefer: wait`)",
  properties: {
    status: { type: 'string', enum: ['paid', 'payment_failed', 'requires_action', 'payment_pending'] },
    paymentIntentId: { type: 'string' },
    declineCode: { type: 'string' },
    reason: { type: 'string' },
    clientSecret: {
      type: 'string',
      description: "requires_action on session: the PaymentIntent's client secret for Stripe.js handleNextAction",
    },
  },
} as const;

const startedRunSchema = {
  type: 'object',
  required: ['id', 'workflowId', 'runId', 'status', 'created'],
  properties: {
    id: { type: 'string' },
    workflowId: { type: 'string' },
    runId: { type: 'string' },
    status: { type: 'string', enum: [...RUN_STATUSES, 'unknown'] },
    created: { type: 'boolean', description: 'false when the order already had this run' },
    payment: paymentSchema,
  },
} as const;

const retryAfterHeader = { type: 'integer', description: 'seconds to wait before asking again' } as const;
const runLocationHeader = { type: 'string', description: 'the run, /api/runs/<workflowId>; its payment at <Location>/payment' } as const;

export const triggerResponseSchema = {
  201: { ...startedRunSchema, headers: { location: runLocationHeader } },
  200: { ...startedRunSchema, headers: { location: runLocationHeader } },
  202: {
    ...startedRunSchema,
    description: 'Prefer: wait ran out first: the run goes on; `payment` is what is known of it; GET Location/payment',
    headers: { location: runLocationHeader, 'retry-after': retryAfterHeader },
  },
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
  properties: {
    workflowId: { type: 'string', pattern: `^order-${orderParamsSchema.properties.orderId.pattern.slice(1)}`, maxLength: 106 },
  },
} as const;
export type RunParams = FromSchema<typeof runParamsSchema>;

export const paymentHeadersSchema = { type: 'object', properties: { prefer: preferWaitHeader } } as const;
export type PaymentHeaders = FromSchema<typeof paymentHeadersSchema>;

export const paymentQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: {
      type: 'string',
      enum: ['payment_pending', 'requires_action'],
      description: 'the undecided answer the caller has already shown (default payment_pending): answers once the payment is anything else',
    },
  },
} as const;
export type PaymentQuery = FromSchema<typeof paymentQuerySchema>;

const runPaymentSchema = {
  type: 'object',
  required: ['workflowId', 'payment'],
  properties: { workflowId: { type: 'string' }, payment: paymentSchema },
} as const;

export const paymentResponseSchema = {
  200: { ...runPaymentSchema, description: "an answer the caller has not seen (other than `after`), or a completed run's last" },
  202: {
    ...runPaymentSchema,
    description: 'nothing new within the wait: `payment` is what is known now; GET Location for what comes after it',
    headers: {
      location: { type: 'string', description: 'this long poll past the answer given (?after=requires_action for requires_action)' },
      'retry-after': retryAfterHeader,
    },
  },
  400: errorRef,
  401: errorRef,
  404: errorRef,
} as const;

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
  outcome: { type: 'string', enum: ORDER_OUTCOMES, description: "the run's OrderOutcome search attribute, once the outcome is known" },
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
    outcome: { type: 'string', enum: ORDER_OUTCOMES, description: "the order's outcome (OrderOutcome search attribute)" },
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

export const refundBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    amount: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_AMOUNT,
      description: `must be a positive integer in the order currency's minor unit (1000 for $10.00), at most ${MAX_AMOUNT}; leave it out to refund all that is left`,
      examples: [1000],
    },
  },
  description: 'an empty body, or {}, refunds all that is left of the payment',
} as const;
export type RefundBody = FromSchema<typeof refundBodySchema>;

export const refundHeadersSchema = idempotencyKeyHeaders(
  "required (400 idempotency_key_required without it), at most 100 characters (it goes into Stripe's 255-character key with the order's workflow ID); one refund per key and order: a repeat with the same key answers with that refund's outcome (409 if its amount differs)",
  '^[A-Za-z0-9_.:/+=-]{1,100}$',
);
export type RefundHeaders = FromSchema<typeof refundHeadersSchema>;

const refundOutcomeSchema = {
  type: 'object',
  required: ['workflowId', 'refundId', 'amount', 'currency', 'status', 'amountRefunded', 'amountPaid'],
  properties: {
    workflowId: { type: 'string', description: 'the refund run: refund-<order workflow ID>-<Idempotency-Key>' },
    refundId: { type: 'string', examples: ['re_123'] },
    amount: { type: 'integer', description: "this refund's amount, minor units" },
    currency: { type: 'string', examples: ['usd'] },
    status: {
      type: 'string',
      description: "Stripe's refund status; a 200 answer is always succeeded (a failed refund is 409 refund_failed)",
    },
    amountRefunded: {
      type: 'integer',
      description: "what the payment's succeeded refunds gave back so far (this refund once it succeeded; pending refunds not counted)",
    },
    amountPaid: { type: 'integer', description: 'what the payment took' },
  },
} as const;

const refundPendingSchema = {
  type: 'object',
  required: ['workflowId', 'status', 'message'],
  properties: {
    workflowId: { type: 'string' },
    status: { type: 'string', enum: ['pending'] },
    refundId: { type: 'string', description: 'the refund, once Stripe answered' },
    refundStatus: { type: 'string', description: "Stripe's status of the refund so far: pending or requires_action" },
    message: { type: 'string', description: 'what is known, and how to watch for the outcome (Retry-After says when to ask again)' },
  },
} as const;

export const refundResponseSchema = {
  200: refundOutcomeSchema,
  202: refundPendingSchema,
  400: errorRef,
  401: errorRef,
  404: errorRef,
  409: errorRef,
  413: errorRef,
  415: errorRef,
  429: errorRef,
  502: errorRef,
  503: errorRef,
} as const;

export const stripeWebhookHeadersSchema = {
  type: 'object',
  properties: {
    'stripe-signature': {
      type: 'string',
      description: "Stripe's signature of the raw body with the endpoint's signing secret (STRIPE_WEBHOOK_SECRET)",
    },
  },
} as const;

export const stripeWebhookResponseSchema = {
  200: {
    type: 'object',
    required: ['received'],
    properties: {
      received: { type: 'boolean', enum: [true] },
      workflowId: { type: 'string', description: 'the order run the event is about' },
      duplicate: { type: 'boolean', enum: [true], description: 'this event ID was handled before: nothing is signalled again' },
      ignored: {
        type: 'boolean',
        enum: [true],
        description: `an event type no run listens for (routed: ${ROUTED_STRIPE_EVENTS.join(', ')})`,
      },
      skipped: {
        type: 'string',
        enum: ['no_order_id', 'no_open_run'],
        description:
          'not delivered, and not to be retried: the object names no metadata.order_id, or the order has no open run (unknown, or finished)',
      },
    },
  },
  400: errorRef,
  413: errorRef,
  415: errorRef,
  429: errorRef,
  503: errorRef,
} as const;
