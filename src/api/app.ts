import type Stripe from 'stripe';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { LOG_REDACTIONS } from '../http/bearer-token.js';
import { DEFAULT_RATE_LIMIT, DEFAULT_TEMPORAL_UI_URL, DEFAULT_WEBHOOK_RATE_LIMIT, type RateLimit } from '../config/api.js';
import { STRICT_AJV_OPTIONS } from '../domain/validate-order.js';
import type { Tracing } from '../telemetry/opentelemetry.js';
import type { ApiContext } from './context.js';
import { createCursorCodec } from './cursor.js';
import { createSearchAttributeCheck } from './search-attribute-check.js';
import apiMetrics from './plugins/metrics.js';
import errors, { answerClientError } from './plugins/error-handler.js';
import jsonBody from './plugins/json-body.js';
import openapi from './plugins/openapi.js';
import requestIdHeader, { requestIdOf } from './plugins/request-id.js';
import security from './plugins/security.js';
import requestTracing from './plugins/request-spans.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerTriggerRoute, TRIGGER_PATH } from './routes/trigger.js';
import { DEFAULT_REFUND_ANSWER_WAIT_MS, registerRefundRoute } from './routes/refund.js';
import { registerStripeWebhookRoute, STRIPE_WEBHOOK_PATH } from './routes/stripe-webhook.js';

export { STRIPE_WEBHOOK_PATH, TRIGGER_PATH };
const BODY_LIMIT_BYTES = 100 * 1024;

export interface AppDeps {
  client: Client;
  taskQueue: string;
  triggerApiKeys: readonly string[];
  /** Base URL of the Temporal Web UI, for links to runs. */
  webUiUrl?: string;
  /** Requests per API key (per client IP for requests without a valid key) in each window. */
  rateLimit?: RateLimit;
  /** POST /webhooks/stripe's signing secret (whsec_...); without it the route answers 503 webhooks_not_configured. */
  stripeWebhookSecret?: string;
  /** POST /webhooks/stripe's own limit, per client IP. */
  webhookRateLimit?: RateLimit;
  /** Reads an on-session order's client secret for the checkout; without it on-session orders are refused (503). */
  stripe?: Stripe;
  /** How long POST /api/runs/:workflowId/refund waits for the refund's outcome before answering 202. */
  refundAnswerWaitMs?: number;
  /** Log level, and where log lines go (stdout by default); off when omitted. */
  log?: { level: string; stream?: NodeJS.WritableStream };
  /** A span per request when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT; `startTracing`). */
  tracing?: Tracing;
}

/**
 * A factory, so tests can inject() or listen on a real port. Plugins before routes: a route keeps the hooks, error handler,
 * schemas and body parsers in force when it is added.
 */
export function buildApp({
  client,
  taskQueue,
  triggerApiKeys,
  webUiUrl = DEFAULT_TEMPORAL_UI_URL,
  rateLimit = DEFAULT_RATE_LIMIT,
  stripeWebhookSecret,
  webhookRateLimit = DEFAULT_WEBHOOK_RATE_LIMIT,
  refundAnswerWaitMs = DEFAULT_REFUND_ANSWER_WAIT_MS,
  stripe,
  log,
  tracing,
}: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: log ? { level: log.level, redact: LOG_REDACTIONS, ...(log.stream && { stream: log.stream }) } : false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Reject what does not match the schema; never drop unknown fields or coerce "100" into 100.
    ajv: { customOptions: STRICT_AJV_OPTIONS },
    clientErrorHandler: answerClientError,
    genReqId: requestIdOf,
  });
  if (tracing?.enabled) void app.register(requestTracing, { tracer: tracing.tracer });
  void app.register(apiMetrics, { triggerPath: TRIGGER_PATH });
  void app.register(requestIdHeader);
  void app.register(jsonBody);
  void app.register(errors);
  void app.register(security, { triggerApiKeys, rateLimit });
  void app.register(openapi);

  const context: ApiContext = {
    client,
    taskQueue,
    webUiUrl: webUiUrl.replace(/\/$/, ''),
    cursors: createCursorCodec(triggerApiKeys),
    findMissingSearchAttributes: createSearchAttributeCheck(client),
    ...(stripe && { stripe }),
  };
  void app.register(async (routes) => {
    registerTriggerRoute(routes, context);
    registerRunRoutes(routes, context);
    registerHealthRoutes(routes, context);
  });
  // Each in a context of its own: they read their bodies differently from the app's strict JSON parser.
  void app.register(async (routes) => {
    await routes.register(jsonBody, { emptyBodyAsObject: true });
    registerRefundRoute(routes, context, refundAnswerWaitMs);
  });
  void app.register(async (routes) =>
    registerStripeWebhookRoute(routes, { client, secret: stripeWebhookSecret, rateLimit: webhookRateLimit }),
  );
  return app;
}
