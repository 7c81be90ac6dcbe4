import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { isGrpcServiceError, ServiceError, type Client } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { STRICT_AJV_OPTIONS } from '../domain/validate-order.js';
import { describeSchemaError } from '../domain/schema-errors.js';
import { createBearerTokenVerifier } from '../bearer-token.js';
import type { ApiContext } from './context.js';
import { sendError } from './errors.js';
import { createCursorCodec } from './cursor.js';
import { acceptStrictJsonOnly, answerClientError } from './request-guards.js';
import { registerApiMetrics } from './metrics.js';
import { errorSchema } from './schemas.js';
import { createSearchAttributeCheck } from './search-attributes.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerTriggerRoute, TRIGGER_PATH } from './routes/trigger.js';
import { DEFAULT_REFUND_ANSWER_WAIT_MS, registerRefundRoute } from './routes/refund.js';
import { registerStripeWebhookRoute, STRIPE_WEBHOOK_PATH } from './routes/stripe-webhook.js';

export { STRIPE_WEBHOOK_PATH, TRIGGER_PATH };
const BODY_LIMIT_BYTES = 100 * 1024;
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RateLimit {
  /** Requests per API key (per client IP for requests without a valid key) in each window. */
  max: number;
  windowMs: number;
}

export interface AppDeps {
  client: Client;
  taskQueue: string;
  triggerApiKeys: readonly string[];
  /** Base URL of the Temporal Web UI, for links to runs. */
  webUiUrl?: string;
  rateLimit?: RateLimit;
  /** POST /webhooks/stripe's signing secret (whsec_...); without it the route answers 503 webhooks_not_configured. */
  stripeWebhookSecret?: string;
  /** POST /webhooks/stripe's own limit, per client IP. */
  webhookRateLimit?: RateLimit;
  /** How long POST /api/runs/:workflowId/refund waits for the refund's outcome before answering 202. */
  refundAnswerWaitMs?: number;
  /** Log level, and where log lines go (stdout by default); off when omitted. */
  log?: { level: string; stream?: NodeJS.WritableStream };
}

/** Headers that must never reach a log line (request bodies, holding customers' emails, are never logged). */
const LOG_REDACTIONS = ['req.headers.authorization', 'req.headers.cookie'];

const DEFAULT_RATE_LIMIT: RateLimit = { max: 600, windowMs: 60_000 };
const DEFAULT_WEBHOOK_RATE_LIMIT: RateLimit = { max: 1200, windowMs: 60_000 };

/** Temporal cannot be reached (down, or the deadline passed): the client should retry later. */
function isTemporalUnavailable(error: unknown): boolean {
  // The client wraps gRPC errors in its ServiceError, with the gRPC error as the cause.
  const grpcError = error instanceof ServiceError ? error.cause : error;
  return (
    isGrpcServiceError(grpcError) &&
    [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED].includes(grpcError.code)
  );
}

/** The HTTP API. Built by a factory so tests can inject() or listen on a real port. */
export function buildApp({
  client,
  taskQueue,
  triggerApiKeys,
  webUiUrl = 'http://localhost:8233',
  rateLimit: limit = DEFAULT_RATE_LIMIT,
  stripeWebhookSecret,
  webhookRateLimit = DEFAULT_WEBHOOK_RATE_LIMIT,
  refundAnswerWaitMs = DEFAULT_REFUND_ANSWER_WAIT_MS,
  log,
}: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: log ? { level: log.level, redact: LOG_REDACTIONS, ...(log.stream && { stream: log.stream }) } : false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Reject what does not match the schema; never drop unknown fields or coerce "100" into 100.
    ajv: { customOptions: STRICT_AJV_OPTIONS },
    clientErrorHandler: answerClientError,
    // A caller's X-Request-Id is kept when it is well-formed; it is in every log line and response.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
  });
  registerApiMetrics(app, { triggerPath: TRIGGER_PATH });
  acceptStrictJsonOnly(app);
  const verifyApiKey = createBearerTokenVerifier(triggerApiKeys);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addSchema(errorSchema);

  void app.register(helmet, { contentSecurityPolicy: false, global: true });
  void app.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request) => verifyApiKey(request.headers.authorization) ?? `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: {
        code: 'rate_limited',
        message: `More than ${context.max} requests in ${context.after}; retry after ${Math.ceil(context.ttl / 1000)} s`,
      },
    }),
  });
  void app.register(swagger, {
    openapi: {
      info: {
        title: 'Order processing API',
        version: '1.0.0',
        description:
          "Trigger durable order runs (charge, receipt or ops alert, order status), inspect, cancel or refund them; receive Stripe's webhook events.",
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'one of TRIGGER_API_KEYS' } } },
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown; validationContext?: string }, request, reply) => {
    if (error.validation) {
      const context = error.validationContext ?? 'body';
      const problem = describeSchemaError((error.validation as Parameters<typeof describeSchemaError>[0][])[0]!, context);
      const code = problem.field.startsWith('params.') ? 'invalid_order' : 'invalid_request';
      return sendError(reply, 400, code, `${problem.field} ${problem.reason}`, { ...problem });
    }
    if (error.statusCode === 429) return reply.code(429).send(error);
    if (error.statusCode === 413) return sendError(reply, 413, 'body_too_large', `Request body exceeds ${BODY_LIMIT_BYTES} bytes`);
    if (error.statusCode === 415) return sendError(reply, 415, 'unsupported_media_type', 'Send the body as application/json');
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
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`));

  const context: ApiContext = {
    client,
    taskQueue,
    webUiUrl: webUiUrl.replace(/\/$/, ''),
    isAuthorized: (authorization) => verifyApiKey(authorization) !== undefined,
    cursors: createCursorCodec(triggerApiKeys),
    findMissingSearchAttribute: createSearchAttributeCheck(client),
  };
  void app.register(async (routes) => {
    registerTriggerRoute(routes, context);
    registerRunRoutes(routes, context);
    registerHealthRoutes(routes, context);
    routes.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());
  });
  // Each in a context of its own: they read their bodies differently from the app's strict JSON parser.
  void app.register(async (routes) => registerRefundRoute(routes, context, refundAnswerWaitMs));
  void app.register(async (routes) => registerStripeWebhookRoute(routes, { client, secret: stripeWebhookSecret, rateLimit: webhookRateLimit }));
  return app;
}
