import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { orderParamsSchema } from '../../domain/order-schema.js';
import { ROUTED_STRIPE_EVENTS, type StripeEventHint } from '../../domain/payment.js';
import type { RateLimit } from '../../config/api.js';
import { sendError } from '../../http/error-reply.js';
import { RecentIds } from '../recent-ids.js';
import { readStripeWebhook } from '../stripe-webhook-event.js';
import { stripeWebhookHeadersSchema, stripeWebhookResponseSchema } from '../schemas.js';
import { stripeEventSignal, workflowIdForOrder } from '../../workflows/names.js';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';
/** Event IDs remembered to answer Stripe's redeliveries without signalling again. */
const REMEMBERED_EVENTS = 10_000;
/** Stripe waits for an answer only a few seconds: past this, answer 503 and let it redeliver. */
const SIGNAL_DEADLINE_MS = 5_000;
const ORDER_ID = new RegExp(orderParamsSchema.properties.orderId.pattern);
const ORDER_ID_MAX_LENGTH = orderParamsSchema.properties.orderId.maxLength;

export interface StripeWebhookOptions {
  client: Client;
  /** The endpoint's signing secret (whsec_...); without one the route answers 503. */
  secret?: string;
  /** Per client IP: Stripe's delivery addresses, not an API key. */
  rateLimit: RateLimit;
}

type RoutedEventType = StripeEventHint['type'];

function isRouted(type: string): type is RoutedEventType {
  return (ROUTED_STRIPE_EVENTS as readonly string[]).includes(type);
}

/** A field of the event's object as the route needs it: a string, or nothing (Stripe's shapes change; a signed event can be odd). */
function stringField(object: unknown, field: string): string | undefined {
  const value = typeof object === 'object' && object !== null ? (object as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The PaymentIntent a routed event is about: the object itself, or the refunded charge's (its ID, or expanded). */
function paymentIntentIdOf(type: RoutedEventType, object: Record<string, unknown>): string | undefined {
  if (type !== 'charge.refunded') return stringField(object, 'id');
  return typeof object.payment_intent === 'string' ? object.payment_intent : stringField(object.payment_intent, 'id');
}

/**
 * Every verified event is answered 200, taken by a run or not, or Stripe redelivers it for days (docs/payments.md#stripe-webhooks).
 * In its own context: the body is read as bytes, never through the app's JSON parser.
 */
export function registerStripeWebhookRoute(app: FastifyInstance, { client, secret, rateLimit }: StripeWebhookOptions): void {
  // The signature covers the exact bytes Stripe sent: parsed and re-serialised JSON would not verify.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const handled = new RecentIds(REMEMBERED_EVENTS);

  app.post<{ Body: Buffer; Headers: { 'stripe-signature'?: string } }>(
    STRIPE_WEBHOOK_PATH,
    {
      config: { rateLimit: { max: rateLimit.max, timeWindow: rateLimit.windowMs, keyGenerator: (request) => `webhook-ip:${request.ip}` } },
      schema: {
        summary: 'Stripe webhook endpoint (payment_intent.succeeded, .payment_failed, .canceled, charge.refunded)',
        description:
          "Body: the Stripe event exactly as Stripe sent it, signed in Stripe-Signature with the endpoint's secret (STRIPE_WEBHOOK_SECRET). " +
          'Routed by data.object.metadata.order_id to the run order-<order_id> as the stripeEvent signal. No API key.',
        headers: stripeWebhookHeadersSchema,
        response: stripeWebhookResponseSchema,
      },
    },
    async (request, reply) => {
      if (secret === undefined) {
        return sendError(
          reply,
          503,
          'webhooks_not_configured',
          "Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_...) and restart the API",
        );
      }
      // A POST without a body (and so without a content type) is checked as an empty one.
      const delivery = readStripeWebhook(request.body ?? Buffer.alloc(0), request.headers['stripe-signature'] ?? '', secret);
      if ('refusal' in delivery) return sendError(reply, 400, delivery.refusal.code, delivery.refusal.message);
      const { id: eventId, type } = delivery.event;
      if (!handled.add(eventId)) {
        request.log.info({ eventId, type }, 'Stripe event already handled: not signalled again');
        return { received: true, duplicate: true };
      }
      if (!isRouted(type)) {
        request.log.debug({ eventId, type }, 'Stripe event of a type no run listens for: ignored');
        return { received: true, ignored: true };
      }

      const object = delivery.event.data.object;
      const orderId = stringField(object.metadata, 'order_id');
      if (orderId === undefined || !ORDER_ID.test(orderId) || orderId.length > ORDER_ID_MAX_LENGTH) {
        request.log.info({ eventId, type }, 'Stripe event names no order (data.object.metadata.order_id): not routed');
        return { received: true, skipped: 'no_order_id' };
      }
      const workflowId = workflowIdForOrder(orderId);
      const paymentIntentId = paymentIntentIdOf(type, object);
      const hint: StripeEventHint = { eventId, type, ...(paymentIntentId && { paymentIntentId }) };
      try {
        await client.connection.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
          client.workflow.getHandle(workflowId).signal<[StripeEventHint]>(stripeEventSignal, hint),
        );
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          request.log.info({ eventId, type, workflowId }, 'Stripe event for an order with no open run (unknown, or finished): not routed');
          return { received: true, workflowId, skipped: 'no_open_run' };
        }
        // Not delivered: Stripe's redelivery must find the event unhandled.
        handled.forget(eventId);
        throw error;
      }
      request.log.info({ eventId, type, workflowId }, 'Stripe event signalled to the order run');
      return { received: true, workflowId };
    },
  );
}
