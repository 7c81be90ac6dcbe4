/**
 * Stripe's deliveries to POST /webhooks/stripe, signed with the endpoint's secret, and the refusal a hostile
 * one must get: what the hostile-webhook tests share, in process and through the real stack.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import Stripe from 'stripe';
import { STRIPE_WEBHOOK_PATH } from '../../src/api/app.js';
import type { ErrorBody } from '../../src/http/error-reply.js';

export interface WebhookAnswer {
  status: number;
  contentType: string | undefined;
  body: string;
}

export interface Delivery {
  /** Defaults to a valid signature of the payload now; `null` sends no Stripe-Signature header. */
  signature?: string | null;
  contentType?: string | null;
}

export const DEFAULT_CONTENT_TYPE = 'application/json; charset=utf-8';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An event of `type` about `object`, by default a PaymentIntent no order owns. */
export function stripeEvent(type: string, object: Record<string, unknown> = { id: 'pi_hostile', object: 'payment_intent', metadata: {} }) {
  return { id: `evt_${randomUUID().replaceAll('-', '')}`, object: 'event', api_version: '2025-09-30.clover', type, data: { object } };
}

/** Signing as Stripe does under `secret`, and delivering over a real socket to the endpoint at `baseUrl()`. */
export function stripeDeliveries(secret: string, baseUrl: () => string) {
  const sign = (payload: string, timestamp?: number) =>
    Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp !== undefined && { timestamp }) });

  /** POSTs as Stripe does; `payload` may be a stream (sent chunked, without Content-Length). */
  async function deliverOverHttp(
    payload: string | (() => ReadableStream<Uint8Array>),
    { signature, contentType = DEFAULT_CONTENT_TYPE }: Delivery = {},
  ): Promise<WebhookAnswer> {
    const streamed = typeof payload === 'function';
    const header = signature === undefined ? sign(streamed ? '' : payload) : signature;
    const response = await fetch(`${baseUrl()}${STRIPE_WEBHOOK_PATH}`, {
      method: 'POST',
      headers: {
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        ...(contentType !== null && { 'content-type': contentType }),
        ...(header !== null && { 'stripe-signature': header }),
      },
      // Bytes, not a string: fetch would add text/plain to a string sent without a content type.
      body: streamed ? payload() : new TextEncoder().encode(payload),
      // Node's fetch needs this to stream a body of unknown length.
      ...(streamed && { duplex: 'half' }),
    });
    return { status: response.status, contentType: response.headers.get('content-type') ?? undefined, body: await response.text() };
  }

  return { sign, deliverOverHttp };
}

/** A refusal: 4xx, never 5xx, in the project's one error shape; returns the error. */
export function expectRefusal(answer: WebhookAnswer, status: number, code: string): ErrorBody['error'] {
  const context = `${answer.status} ${answer.body.slice(0, 300)}`;
  expect(answer.status, context).toBe(status);
  expect(answer.contentType, context).toMatch(/^application\/json/);
  const parsed = JSON.parse(answer.body) as ErrorBody;
  expect(Object.keys(parsed), context).toEqual(['error']);
  expect(parsed.error, context).toEqual({ code, message: expect.any(String) });
  return parsed.error;
}
