import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { StripeStandIn } from '../../dev/sandbox/stripe.js';

const SECRET = 'whsec_sandbox_test_secret';

/** A delivery the receiver verified with Stripe's own code. */
interface Received {
  event: Stripe.Event;
  body: string;
  header: string;
  at: number;
}

/** A webhook endpoint as the service must write one: verifies `Stripe-Signature` over the raw body, answers fast. */
interface Receiver {
  url: string;
  received: Received[];
  /** Deliveries whose signature did not verify (answered 400). */
  refused: unknown[];
  /** Statuses to answer to the next deliveries, in order; 200 once they are used up. */
  answers: number[];
  /** How long to hold each answer. */
  holdMs: number;
  close(): Promise<void>;
}

async function startReceiver(secret = SECRET): Promise<Receiver> {
  const receiver: Omit<Receiver, 'url' | 'close'> = { received: [], refused: [], answers: [], holdMs: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = String(request.headers['stripe-signature']);
      let status = receiver.answers.shift() ?? 200;
      try {
        receiver.received.push({ event: Stripe.webhooks.constructEvent(body, header, secret), body, header, at: Date.now() });
      } catch (error) {
        receiver.refused.push(error);
        status = 400;
      }
      setTimeout(() => response.writeHead(status).end(), receiver.holdMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

let standIn: StripeStandIn;
let stripe: Stripe;
let receiver: Receiver;

beforeEach(async () => {
  standIn = new StripeStandIn();
  const baseUrl = await standIn.listen();
  stripe = new Stripe('sk_test_x', { host: '127.0.0.1', port: new URL(baseUrl).port, protocol: 'http', maxNetworkRetries: 0 });
  receiver = await startReceiver();
  standIn.sendWebhooksTo(receiver.url, SECRET);
});
afterEach(async () => {
  await standIn.close();
  await receiver.close();
});

function payment(orderId: string, customer = 'cus_abc'): Stripe.PaymentIntentCreateParams {
  return {
    amount: 4999,
    currency: 'usd',
    customer,
    payment_method: 'pm_card_visa',
    confirm: true,
    off_session: true,
    metadata: { order_id: orderId },
  };
}

/** The PaymentIntent of a payment declined off session for authentication. */
async function authenticationRequired(orderId: string): Promise<string> {
  const error = (await stripe.paymentIntents
    .create(payment(orderId, 'cus_authenticate'))
    .catch((failure: unknown) => failure)) as Stripe.errors.StripeError;
  expect(error.code).toBe('authentication_required');
  return error.payment_intent!.id;
}

function receivedTypes(): string[] {
  return receiver.received.map(({ event }) => event.type);
}

describe('events', () => {
  it("payment_intent.succeeded: Stripe's event, signed, with the PaymentIntent and the request's idempotency key", async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_ok'), { idempotencyKey: 'key-ok' });
    await standIn.webhooksSettled();
    expect(receiver.refused).toEqual([]);
    const [{ event, header }] = receiver.received as [Received];
    expect(event).toMatchObject({
      object: 'event',
      type: 'payment_intent.succeeded',
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: 'key-ok' },
      data: {
        object: {
          id: intent.id,
          object: 'payment_intent',
          status: 'succeeded',
          latest_charge: intent.latest_charge,
          metadata: { order_id: 'ord_ok' },
        },
      },
    });
    expect(event.id).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(typeof event.api_version).toBe('string');
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(standIn.events.map((created) => created.id)).toEqual([event.id]);
    expect(standIn.webhookDeliveries).toEqual([
      { eventId: event.id, type: 'payment_intent.succeeded', orderId: 'ord_ok', status: 200, deliveredAt: expect.any(Number), attempt: 1 },
    ]);
  });

  it('payment_intent.payment_failed for a decline, payment_intent.canceled for a cancel', async () => {
    const declined = (await stripe.paymentIntents
      .create(payment('ord_declined', 'cus_decline_insufficient_funds'))
      .catch((error: unknown) => error)) as Stripe.errors.StripeError;
    await stripe.paymentIntents.cancel(declined.payment_intent!.id);
    await standIn.webhooksSettled();
    expect(receivedTypes()).toEqual(['payment_intent.payment_failed', 'payment_intent.canceled']);
    expect(receiver.received[0].event.data.object).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds' },
    });
    expect(receiver.received[1].event.data.object).toMatchObject({ id: declined.payment_intent!.id, status: 'canceled' });
  });

  it('charge.refunded with the charge, its payment_intent and the order_id copied from the PaymentIntent', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_refunded'));
    await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 }, { idempotencyKey: 'key-refund' });
    await standIn.webhooksSettled();
    expect(receivedTypes()).toEqual(['payment_intent.succeeded', 'charge.refunded']);
    expect(receiver.received[1].event).toMatchObject({
      request: { idempotency_key: 'key-refund' },
      data: {
        object: {
          id: intent.latest_charge,
          object: 'charge',
          amount: 4999,
          amount_refunded: 1000,
          refunded: false,
          payment_intent: intent.id,
          metadata: { order_id: 'ord_refunded' },
        },
      },
    });
    expect(standIn.webhookDeliveries.map((delivery) => delivery.orderId)).toEqual(['ord_refunded', 'ord_refunded']);
  });

  it('authentication: payment_failed for authentication_required, succeeded when the holder completes it', async () => {
    const id = await authenticationRequired('ord_sca');
    standIn.completeCustomerAction(id, 'succeeds');
    await standIn.webhooksSettled();
    expect(receivedTypes()).toEqual(['payment_intent.payment_failed', 'payment_intent.succeeded']);
    expect(receiver.received[0].event.data.object).toMatchObject({ id, last_payment_error: { code: 'authentication_required' } });
    expect(receiver.received[1].event).toMatchObject({ request: { idempotency_key: null }, data: { object: { id, status: 'succeeded' } } });
  });

  it('authentication: payment_failed again when the holder fails it', async () => {
    const id = await authenticationRequired('ord_sca_fail');
    standIn.completeCustomerAction(id, 'fails');
    await standIn.webhooksSettled();
    expect(receivedTypes()).toEqual(['payment_intent.payment_failed', 'payment_intent.payment_failed']);
    expect(receiver.received[1].event.data.object).toMatchObject({
      id,
      last_payment_error: { code: 'payment_intent_authentication_failure' },
    });
  });

  it('charge.dispute.created is created, but not sent: the endpoint subscribes to the routed events only', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_disputed'));
    standIn.openDispute(intent.latest_charge as string);
    await standIn.webhooksSettled();
    expect(standIn.events.map((event) => [event.type, event.pending_webhooks])).toEqual([
      ['payment_intent.succeeded', 1],
      ['charge.dispute.created', 0],
    ]);
    expect(receivedTypes()).toEqual(['payment_intent.succeeded']);
  });

  it('are created without an endpoint too, and sent to none', async () => {
    const quiet = new StripeStandIn();
    const client = new Stripe('sk_test_x', {
      host: '127.0.0.1',
      port: new URL(await quiet.listen()).port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    try {
      await client.paymentIntents.create(payment('ord_quiet'));
      await quiet.webhooksSettled();
      expect(quiet.events).toMatchObject([{ type: 'payment_intent.succeeded', pending_webhooks: 0 }]);
      expect(quiet.webhookDeliveries).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it('a receiver with the wrong secret cannot verify them', async () => {
    await stripe.paymentIntents.create(payment('ord_secret'));
    await standIn.webhooksSettled();
    const [{ body, header }] = receiver.received as [Received];
    expect(() => Stripe.webhooks.constructEvent(body, header, 'whsec_another_endpoint')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );

    standIn.sendWebhooksTo(receiver.url, 'whsec_another_endpoint');
    await stripe.paymentIntents.create(payment('ord_secret'));
    await standIn.webhooksSettled();
    expect(receiver.refused).toHaveLength(3);
    expect(receiver.refused[0]).toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
    expect(receiver.received).toHaveLength(1);
  });
});

describe('delivery', () => {
  it('never delays the answer that caused the event', async () => {
    receiver.holdMs = 1_500;
    const started = Date.now();
    await stripe.paymentIntents.create(payment('ord_async'));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(standIn.webhookDeliveries).toEqual([]);
    await standIn.webhooksSettled();
    expect(standIn.webhookDeliveries).toMatchObject([{ status: 200 }]);
  });

  it('retries a non-2xx answer about 1 s later, as Stripe does', async () => {
    receiver.answers.push(500);
    await stripe.paymentIntents.create(payment('ord_retry'));
    await standIn.webhooksSettled();
    const [first, second] = standIn.webhookDeliveries;
    expect(standIn.webhookDeliveries.map(({ status, attempt }) => [status, attempt])).toEqual([
      [500, 1],
      [200, 2],
    ]);
    expect(second.eventId).toBe(first.eventId);
    expect(second.deliveredAt - first.deliveredAt).toBeGreaterThanOrEqual(900);
  });

  it('gives up after 3 attempts; a network error counts as a failed attempt (status 0)', async () => {
    receiver.answers.push(500, 503, 500);
    await stripe.paymentIntents.create(payment('ord_give_up'));
    await standIn.webhooksSettled();
    expect(standIn.webhookDeliveries.map((delivery) => delivery.status)).toEqual([500, 503, 500]);

    const closed = await startReceiver();
    await closed.close();
    standIn.sendWebhooksTo(closed.url, SECRET);
    await stripe.paymentIntents.create(payment('ord_unreachable'));
    await standIn.webhooksSettled();
    expect(
      standIn.webhookDeliveries.filter((delivery) => delivery.orderId === 'ord_unreachable').map((delivery) => delivery.status),
    ).toEqual([0, 0, 0]);
  });

  it('late: held webhookLateMs, then sent', async () => {
    standIn.webhookDelivery = 'late';
    standIn.webhookLateMs = 600;
    await stripe.paymentIntents.create(payment('ord_late'));
    const answeredAt = Date.now();
    await sleep(300);
    expect(receiver.received).toEqual([]);
    await standIn.webhooksSettled();
    expect(receivedTypes()).toEqual(['payment_intent.succeeded']);
    expect(receiver.received[0].at - answeredAt).toBeGreaterThanOrEqual(500);
  });

  it('twice: the same event arrives again', async () => {
    standIn.webhookDelivery = 'twice';
    await stripe.paymentIntents.create(payment('ord_twice'));
    await standIn.webhooksSettled();
    const ids = receiver.received.map(({ event }) => event.id);
    expect(ids).toEqual([standIn.events[0].id, standIn.events[0].id]);
    expect(standIn.webhookDeliveries.map((delivery) => delivery.attempt)).toEqual([1, 1]);
  });

  it("out_of_order: an event is held until the PaymentIntent's next event was sent", async () => {
    standIn.webhookDelivery = 'out_of_order';
    const id = await authenticationRequired('ord_swapped');
    await sleep(200);
    expect(receiver.received).toEqual([]);
    const completedAt = Date.now();
    standIn.completeCustomerAction(id, 'succeeds');
    await standIn.webhooksSettled();
    expect(standIn.events.map((event) => event.type)).toEqual(['payment_intent.payment_failed', 'payment_intent.succeeded']);
    expect(receivedTypes()).toEqual(['payment_intent.succeeded', 'payment_intent.payment_failed']);
    // Released by the overtaking event, not by the 5 s that would have let it go anyway.
    expect(receiver.received[1].at - completedAt).toBeLessThan(2_000);
  });

  it('out_of_order: with no next event, the event goes after 5 s', async () => {
    standIn.webhookDelivery = 'out_of_order';
    await stripe.paymentIntents.create(payment('ord_alone'));
    const answeredAt = Date.now();
    await standIn.webhooksSettled();
    expect(receivedTypes()).toEqual(['payment_intent.succeeded']);
    expect(receiver.received[0].at - answeredAt).toBeGreaterThanOrEqual(4_900);
  });

  it('missing: never sent, and resendEvent delivers it on demand', async () => {
    standIn.webhookDelivery = 'missing';
    await stripe.paymentIntents.create(payment('ord_missing'));
    await standIn.webhooksSettled();
    expect(receiver.received).toEqual([]);
    expect(standIn.webhookDeliveries).toEqual([]);
    const [event] = standIn.events;
    await standIn.resendEvent(event.id);
    expect(receiver.received.map((received) => received.event.id)).toEqual([event.id]);
    expect(() => standIn.resendEvent('evt_unknown')).toThrow(/evt_unknown/);
  });

  it('random: a mode drawn per event, until unset', async () => {
    const rolls = [0, 0.9];
    standIn.setRandomWebhookDelivery({ random: () => rolls.shift() ?? 0, modes: ['on_time', 'missing'] });
    await stripe.paymentIntents.create(payment('ord_random_1'));
    await stripe.paymentIntents.create(payment('ord_random_2'));
    standIn.setRandomWebhookDelivery(undefined);
    standIn.webhookDelivery = 'twice';
    await stripe.paymentIntents.create(payment('ord_random_3'));
    await standIn.webhooksSettled();
    const orders = receiver.received.map(({ event }) => (event.data.object as Stripe.PaymentIntent).metadata.order_id);
    expect(orders).toEqual(['ord_random_1', 'ord_random_3', 'ord_random_3']);
  });

  it('close() drops what is still held', async () => {
    standIn.webhookDelivery = 'late';
    standIn.webhookLateMs = 60_000;
    await stripe.paymentIntents.create(payment('ord_closed'));
    const closing = Date.now();
    await standIn.close();
    await standIn.webhooksSettled();
    expect(Date.now() - closing).toBeLessThan(1_000);
    expect(receiver.received).toEqual([]);
  });
});
