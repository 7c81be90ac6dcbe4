import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { startSandbox } from '../../dev/sandbox/index.js';
import { StripeStandIn } from '../../dev/sandbox/stripe.js';
import { startStripeMock } from '../support/stripe-mock.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let standIn: StripeStandIn;
let baseUrl: string;
let stripe: Stripe;

beforeEach(async () => {
  standIn = new StripeStandIn();
  baseUrl = await standIn.listen();
  stripe = new Stripe('sk_test_x', {
    host: '127.0.0.1',
    port: new URL(baseUrl).port,
    protocol: 'http',
    maxNetworkRetries: 0,
    timeout: 5_000,
  });
});
afterEach(async () => {
  await standIn.close();
});

interface RawAnswer {
  status: number;
  replayed: string | null;
  keyEcho: string | null;
  body: { error?: Record<string, unknown> } & Record<string, unknown>;
}

/** Parameters form-encoded as the SDK encodes them: `metadata[order_id]=...`. */
function form(params: object): URLSearchParams {
  const encoded = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && typeof value === 'object') {
      for (const [inner, innerValue] of Object.entries(value as object)) encoded.append(`${name}[${inner}]`, String(innerValue));
    } else if (value !== undefined) {
      encoded.append(name, String(value));
    }
  }
  return encoded;
}

/** A form-encoded POST as the SDK sends it, with the answer's headers in view. */
async function post(path: string, params: object, key?: string): Promise<RawAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer sk_test_x',
      'content-type': 'application/x-www-form-urlencoded',
      ...(key && { 'idempotency-key': key }),
    },
    body: form(params),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    keyEcho: response.headers.get('idempotency-key'),
    body: (await response.json()) as RawAnswer['body'],
  };
}

async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeError);
  return error as Stripe.errors.StripeError;
}

/** The order's payment as the worker sends it: create, confirm at once, off session. */
function payment(orderId: string, customer = 'cus_abc', paymentMethod = 'pm_card_visa'): Stripe.PaymentIntentCreateParams {
  return {
    amount: 4999,
    currency: 'usd',
    customer,
    payment_method: paymentMethod,
    confirm: true,
    off_session: true,
    metadata: { order_id: orderId },
  };
}

describe('customers', () => {
  it('exist for any cus_ ID, with pm_card_visa as default payment method unless cus_no_payment_method', async () => {
    const customer = (await stripe.customers.retrieve('cus_abc')) as Stripe.Customer;
    expect(customer).toMatchObject({ id: 'cus_abc', object: 'customer', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const without = (await stripe.customers.retrieve('cus_no_payment_method')) as Stripe.Customer;
    expect(without.invoice_settings.default_payment_method).toBeNull();
  });

  it('are missing (404 resource_missing) for IDs that are not cus_', async () => {
    const error = await stripeError(stripe.customers.retrieve('abc'));
    expect(error).toMatchObject({
      statusCode: 404,
      type: 'StripeInvalidRequestError',
      code: 'resource_missing',
      param: 'id',
      message: "No such customer: 'abc'",
    });
  });
});

describe('PaymentIntents', () => {
  it('confirmed at creation succeed: one succeeded charge for the order, linked to the PaymentIntent', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 4999,
      currency: 'usd',
      customer: 'cus_abc',
      payment_method: 'pm_card_visa',
      confirm: true,
      off_session: true,
      description: 'Order ord_1',
      metadata: { order_id: 'ord_1' },
    });
    expect(intent).toMatchObject({
      object: 'payment_intent',
      status: 'succeeded',
      amount: 4999,
      amount_received: 4999,
      customer: 'cus_abc',
      livemode: false,
    });
    expect(intent.id).toMatch(/^pi_[0-9a-f]{24}$/);
    const [charge] = standIn.successfulCharges('ord_1');
    expect(standIn.successfulCharges('ord_1')).toHaveLength(1);
    expect(charge).toMatchObject({ paymentIntentId: intent.id, amount: 4999, currency: 'usd', customer: 'cus_abc' });
    expect(intent.latest_charge).toBe(charge.id);
    expect(standIn.paymentIntentsFor('ord_1').map((stored) => stored.id)).toEqual([intent.id]);
  });

  it('wait for a payment method, then for confirmation; confirmed once, a second confirm is refused', async () => {
    const bare = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc' });
    expect(bare.status).toBe('requires_payment_method');
    const intent = await stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      customer: 'cus_abc',
      payment_method: 'pm_card_visa',
    });
    expect(intent.status).toBe('requires_confirmation');
    expect(standIn.charges).toHaveLength(0);

    expect(await stripe.paymentIntents.confirm(intent.id, { off_session: true })).toMatchObject({
      status: 'succeeded',
      amount_received: 100,
    });
    const error = await stripeError(stripe.paymentIntents.confirm(intent.id));
    expect(error).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(error.message).toMatch(/^You cannot confirm this PaymentIntent because it has a status of succeeded\./);
    expect(error.payment_intent?.status).toBe('succeeded');
    expect(standIn.charges).toHaveLength(1);
  });

  it('cannot be confirmed without a payment method, nor with one that does not exist', async () => {
    const missing = await stripeError(
      stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_no_payment_method', confirm: true }),
    );
    expect(missing).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(missing.message).toMatch(/^You cannot confirm this PaymentIntent because it's missing a payment method\./);
    const unknown = await stripeError(
      stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc', payment_method: 'card_123' }),
    );
    expect(unknown).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_method' });
    expect(standIn.paymentIntents).toHaveLength(0);
  });

  it('refuse invalid and unknown parameters as Stripe does', async () => {
    const amount = await stripeError(stripe.paymentIntents.create({ amount: 'forty' as unknown as number, currency: 'usd' }));
    expect(amount).toMatchObject({ statusCode: 400, param: 'amount', code: 'parameter_invalid_integer' });
    const currency = await stripeError(stripe.paymentIntents.create({ amount: 100, currency: 'dollars' }));
    expect(currency).toMatchObject({ statusCode: 400, param: 'currency' });
    const unknown = await stripeError(
      stripe.paymentIntents.create({ amount: 100, currency: 'usd', colour: 'red' } as Stripe.PaymentIntentCreateParams),
    );
    expect(unknown).toMatchObject({ statusCode: 400, param: 'colour', code: 'parameter_unknown' });
    expect(standIn.paymentIntents).toHaveLength(0);
  });

  it('are declined for cus_decline_<code>: 402 with the failed charge and the PaymentIntent back in requires_payment_method', async () => {
    const error = await stripeError(stripe.paymentIntents.create(payment('ord_decline', 'cus_decline_insufficient_funds')));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({
      statusCode: 402,
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    });
    const [failed] = standIn.charges;
    expect(failed).toMatchObject({ status: 'failed', orderId: 'ord_decline' });
    expect(error.charge).toBe(failed.id);
    expect(error.payment_intent).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: failed.id,
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', charge: failed.id },
    });
    expect(standIn.successfulCharges('ord_decline')).toHaveLength(0);
  });

  it("are declined for Stripe's declining test payment methods", async () => {
    const expired = await stripeError(stripe.paymentIntents.create(payment('ord_pm', 'cus_abc', 'pm_card_chargeDeclinedExpiredCard')));
    expect(expired).toMatchObject({ statusCode: 402, code: 'expired_card', decline_code: 'expired_card' });
    const generic = await stripeError(stripe.paymentIntents.create(payment('ord_pm', 'cus_abc', 'pm_card_chargeDeclined')));
    expect(generic).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline' });
  });

  it('unknown ones are missing (404 resource_missing)', async () => {
    const error = await stripeError(stripe.paymentIntents.retrieve('pi_unknown'));
    expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('cancel', () => {
  it('cancels a PaymentIntent that has not succeeded', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc' });
    const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    expect(canceled.canceled_at).toBeGreaterThan(0);
  });

  it('refuses a succeeded PaymentIntent with payment_intent_unexpected_state', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_cancel'));
    const error = await stripeError(stripe.paymentIntents.cancel(intent.id));
    expect(error).toMatchObject({
      statusCode: 400,
      code: 'payment_intent_unexpected_state',
      message:
        'You cannot cancel this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.',
    });
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });
});

describe('idempotency keys', () => {
  it('replay a 200 with Idempotent-Replayed: true; the work happened once', async () => {
    const first = await post('/v1/payment_intents', payment('ord_replay'), 'key-replay');
    const second = await post('/v1/payment_intents', payment('ord_replay'), 'key-replay');
    expect(first).toMatchObject({ status: 200, replayed: null, keyEcho: 'key-replay' });
    expect(second).toMatchObject({ status: 200, replayed: 'true', keyEcho: 'key-replay' });
    expect(second.body).toEqual(first.body);
    expect(standIn.paymentIntents).toHaveLength(1);
    expect(standIn.charges).toHaveLength(1);
  });

  it('replay a 402 decline', async () => {
    const first = await post('/v1/payment_intents', payment('ord_replay_decline', 'cus_decline'), 'key-decline');
    const second = await post('/v1/payment_intents', payment('ord_replay_decline', 'cus_decline'), 'key-decline');
    expect(first).toMatchObject({ status: 402, replayed: null });
    expect(second).toMatchObject({ status: 402, replayed: 'true' });
    expect(second.body).toEqual(first.body);
    expect(standIn.charges).toHaveLength(1);
  });

  it('refuse other parameters or another endpoint under the same key (idempotency_error, not stored)', async () => {
    await post('/v1/payment_intents', payment('ord_a'), 'key-params');
    const otherParams = await post('/v1/payment_intents', payment('ord_b'), 'key-params');
    expect(otherParams).toMatchObject({ status: 400, body: { error: { type: 'idempotency_error' } } });
    expect(otherParams.body.error?.message).toBe(
      "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'key-params' if you meant to execute a different request.",
    );
    const intentId = standIn.paymentIntents[0].id;
    const otherEndpoint = await post(`/v1/payment_intents/${intentId}/cancel`, {}, 'key-params');
    expect(otherEndpoint).toMatchObject({ status: 400, body: { error: { type: 'idempotency_error' } } });
    const sdk = await stripeError(stripe.paymentIntents.create({ amount: 1, currency: 'usd' }, { idempotencyKey: 'key-params' }));
    expect(sdk).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(await post('/v1/payment_intents', payment('ord_a'), 'key-params')).toMatchObject({ status: 200, replayed: 'true' });
    expect(standIn.paymentIntents).toHaveLength(1);
  });

  it('store nothing for a request refused by validation: the key is still free', async () => {
    const refused = await post('/v1/payment_intents', { ...payment('ord_valid'), amount: -5 }, 'key-validation');
    expect(refused).toMatchObject({ status: 400, body: { error: { type: 'invalid_request_error', param: 'amount' } } });
    const accepted = await post('/v1/payment_intents', payment('ord_valid'), 'key-validation');
    expect(accepted).toMatchObject({ status: 200, replayed: null });
  });

  it('are forgotten 24 h after they were stored: the same key then makes a new PaymentIntent', async () => {
    const first = await post('/v1/payment_intents', payment('ord_expiry'), 'key-expiry');
    // A minute's margin for the real time the requests take.
    standIn.advanceClock(DAY_MS - 60_000);
    expect(await post('/v1/payment_intents', payment('ord_expiry'), 'key-expiry')).toMatchObject({ status: 200, replayed: 'true' });
    standIn.advanceClock(60_000 + 1);
    const later = await post('/v1/payment_intents', payment('ord_expiry'), 'key-expiry');
    expect(later).toMatchObject({ status: 200, replayed: null });
    expect(later.body.id).not.toBe(first.body.id);
    expect(standIn.successfulCharges('ord_expiry')).toHaveLength(2);
  });

  it('are ignored on GETs', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const response = await fetch(`${baseUrl}/v1/payment_intents/${intent.id}`, {
      headers: { authorization: 'Bearer sk_test_x', 'idempotency-key': 'key-get' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('failures after the card was charged', () => {
  it('cus_error_after_charge: the 500 is stored and replayed to every retry, while retrieve and list show the payment succeeded', async () => {
    const error = await stripeError(
      stripe.paymentIntents.create(payment('ord_err', 'cus_error_after_charge'), { idempotencyKey: 'key-err' }),
    );
    expect(error).toMatchObject({ statusCode: 500, type: 'StripeAPIError' });
    const retry = await post('/v1/payment_intents', payment('ord_err', 'cus_error_after_charge'), 'key-err');
    expect(retry).toMatchObject({ status: 500, replayed: 'true', body: { error: { type: 'api_error' } } });

    const listed = await stripe.paymentIntents.list({ customer: 'cus_error_after_charge' });
    expect(listed.data.map((intent) => intent.status)).toEqual(['succeeded']);
    expect((await stripe.paymentIntents.retrieve(listed.data[0].id)).status).toBe('succeeded');
    expect(standIn.successfulCharges('ord_err')).toHaveLength(1);
  });

  it('cus_lost_after_charge: the first answer is lost, the retry gets the stored 200; one charge', async () => {
    await expect(post('/v1/payment_intents', payment('ord_lost', 'cus_lost_after_charge'), 'key-lost')).rejects.toThrow();
    expect(standIn.successfulCharges('ord_lost')).toHaveLength(1);
    const retry = await post('/v1/payment_intents', payment('ord_lost', 'cus_lost_after_charge'), 'key-lost');
    expect(retry).toMatchObject({ status: 200, replayed: 'true', body: { status: 'succeeded' } });
    expect(standIn.successfulCharges('ord_lost')).toHaveLength(1);
  });

  it('cus_lost_after_charge through the SDK: it retries a closed connection once, under the same key, and gets the replay', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_lost_sdk', 'cus_lost_after_charge'));
    expect(intent.status).toBe('succeeded');
    expect(standIn.requests.map((request) => request.status)).toEqual([0, 200]);
    expect(new Set(standIn.requests.map((request) => request.headers['idempotency-key'])).size).toBe(1);
    expect(standIn.successfulCharges('ord_lost_sdk')).toHaveLength(1);
  });

  it('cus_slow_<s>: the key is in use (409) while the answer is held, then the answer is replayed', async () => {
    const held = post('/v1/payment_intents', payment('ord_slow', 'cus_slow_1'), 'key-slow');
    await expect.poll(() => standIn.charges.length).toBe(1);
    const concurrent = await post('/v1/payment_intents', payment('ord_slow', 'cus_slow_1'), 'key-slow');
    expect(concurrent).toMatchObject({ status: 409, body: { error: { type: 'idempotency_error', code: 'idempotency_key_in_use' } } });
    expect(concurrent.body.error?.message).toBe(
      'There is currently another in-progress request using this Idempotency Key (that probably means you submitted twice, and the other request is still going through): key-slow. Please try again later.',
    );
    const first = await held;
    expect(first).toMatchObject({ status: 200, replayed: null, body: { status: 'succeeded' } });
    const after = await post('/v1/payment_intents', payment('ord_slow', 'cus_slow_1'), 'key-slow');
    expect(after).toMatchObject({ status: 200, replayed: 'true' });
    expect(after.body.id).toBe(first.body.id);
    expect(standIn.successfulCharges('ord_slow')).toHaveLength(1);
  });

  it('cus_slow_<s>: another change of the PaymentIntent while its confirmation is held is refused 429 lock_timeout', async () => {
    const created = await stripe.paymentIntents.create({
      amount: 4999,
      currency: 'usd',
      customer: 'cus_slow_1',
      payment_method: 'pm_card_visa',
      metadata: { order_id: 'ord_lock' },
    });
    const held = stripe.paymentIntents.confirm(created.id, { off_session: true }, { idempotencyKey: 'key-lock-confirm' });
    await expect.poll(() => standIn.successfulCharges('ord_lock').length).toBe(1);
    const refused = await post(`/v1/payment_intents/${created.id}/cancel`, {}, 'key-lock-cancel');
    expect(refused).toMatchObject({ status: 429, body: { error: { type: 'invalid_request_error', code: 'lock_timeout' } } });
    expect((await held).status).toBe('succeeded');
    // Once the confirmation answered, the lock is gone: the cancel is answered on its merits (a succeeded payment cannot be).
    expect((await post(`/v1/payment_intents/${created.id}/cancel`, {}, 'key-lock-cancel-2')).status).toBe(400);
  });

  it('an injected statusAfterHandling fault is stored for the key and replayed', async () => {
    standIn.failNext(1, { statusAfterHandling: 500 });
    expect(await post('/v1/payment_intents', payment('ord_fault'), 'key-fault')).toMatchObject({ status: 500, replayed: null });
    expect(await post('/v1/payment_intents', payment('ord_fault'), 'key-fault')).toMatchObject({ status: 500, replayed: 'true' });
    expect(standIn.successfulCharges('ord_fault')).toHaveLength(1);
  });

  it('an injected dropAfterHandling fault loses the answer, not the work: the retry gets the replay', async () => {
    standIn.failNext(1, { dropAfterHandling: true });
    await expect(post('/v1/payment_intents', payment('ord_drop'), 'key-drop')).rejects.toThrow();
    expect(await post('/v1/payment_intents', payment('ord_drop'), 'key-drop')).toMatchObject({ status: 200, replayed: 'true' });
    expect(standIn.successfulCharges('ord_drop')).toHaveLength(1);
  });
});

describe('failures before executing store nothing', () => {
  it('cus_fail_500_x1: the first attempt gets 500, the retry under the same key executes', async () => {
    const failed = await post('/v1/payment_intents', payment('ord_fail', 'cus_fail_500_x1'), 'key-fail');
    expect(failed).toMatchObject({ status: 500, body: { error: { type: 'api_error' } } });
    expect(standIn.charges).toHaveLength(0);
    expect(await post('/v1/payment_intents', payment('ord_fail', 'cus_fail_500_x1'), 'key-fail')).toMatchObject({
      status: 200,
      replayed: null,
    });
    expect(standIn.successfulCharges('ord_fail')).toHaveLength(1);
  });

  it('an injected status fault', async () => {
    standIn.failNext(1, { status: 429 });
    expect(await post('/v1/payment_intents', payment('ord_429'), 'key-429')).toMatchObject({ status: 429 });
    expect(await post('/v1/payment_intents', payment('ord_429'), 'key-429')).toMatchObject({ status: 200, replayed: null });
  });

  it('cus_down_<s>: every request about the customer gets 503 until <s> seconds of the clock have passed', async () => {
    const down = await stripeError(stripe.customers.retrieve('cus_down_30'));
    expect(down).toMatchObject({ statusCode: 503, type: 'StripeAPIError' });
    expect(await post('/v1/payment_intents', payment('ord_down', 'cus_down_30'), 'key-down')).toMatchObject({ status: 503 });
    await expect(stripe.paymentIntents.list({ customer: 'cus_down_30' })).rejects.toMatchObject({ statusCode: 503 });
    expect(standIn.paymentIntents).toHaveLength(0);

    standIn.advanceClock(30_000);
    expect(await post('/v1/payment_intents', payment('ord_down', 'cus_down_30'), 'key-down')).toMatchObject({
      status: 200,
      replayed: null,
    });
    expect(((await stripe.customers.retrieve('cus_down_30')) as Stripe.Customer).id).toBe('cus_down_30');
  });

  it('cus_down: down for good, searches naming it included', async () => {
    standIn.advanceClock(7 * DAY_MS);
    await expect(stripe.paymentIntents.search({ query: "customer:'cus_down'" })).rejects.toMatchObject({ statusCode: 503 });
    await expect(stripe.paymentIntents.create(payment('ord_down_forever', 'cus_down'))).rejects.toMatchObject({ statusCode: 503 });
  });
});

describe('list and search', () => {
  it('list is strongly consistent, newest first, filtered by customer, paginated', async () => {
    const mine = [];
    for (const order of ['ord_l1', 'ord_l2', 'ord_l3']) mine.push((await stripe.paymentIntents.create(payment(order, 'cus_list'))).id);
    await stripe.paymentIntents.create(payment('ord_other', 'cus_other'));

    const page = await stripe.paymentIntents.list({ customer: 'cus_list', limit: 2 });
    expect(page).toMatchObject({ object: 'list', has_more: true, url: '/v1/payment_intents' });
    expect(page.data.map((intent) => intent.id)).toEqual([mine[2], mine[1]]);
    const all = await stripe.paymentIntents.list({ customer: 'cus_list', limit: 2 }).autoPagingToArray({ limit: 10 });
    expect(all.map((intent) => intent.id)).toEqual([...mine].reverse());
    const created = Math.floor(standIn.now() / 1000);
    expect(await stripe.paymentIntents.list({ customer: 'cus_list', created: { gt: created } })).toMatchObject({ data: [] });
  });

  it("search finds a PaymentIntent by metadata['order_id'] and customer only searchLagMs after it changed", async () => {
    const query = "metadata['order_id']:'ord_search' AND customer:'cus_search'";
    const intent = await stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      customer: 'cus_search',
      payment_method: 'pm_card_visa',
      metadata: { order_id: 'ord_search' },
    });
    expect(await stripe.paymentIntents.search({ query })).toMatchObject({
      object: 'search_result',
      data: [],
      has_more: false,
      next_page: null,
    });

    standIn.advanceClock(60_000);
    const found = await stripe.paymentIntents.search({ query });
    expect(found.data.map((hit) => [hit.id, hit.status])).toEqual([[intent.id, 'requires_confirmation']]);

    await stripe.paymentIntents.confirm(intent.id);
    expect((await stripe.paymentIntents.search({ query })).data[0]?.status).toBe('requires_confirmation');
    standIn.advanceClock(60_000);
    expect((await stripe.paymentIntents.search({ query })).data[0]?.status).toBe('succeeded');
    expect(await stripe.paymentIntents.search({ query: "metadata['order_id']:'ord_other'" })).toMatchObject({ data: [] });
  });

  it('search refuses a query it cannot read', async () => {
    await expect(stripe.paymentIntents.search({ query: 'amount>100' })).rejects.toMatchObject({ statusCode: 400, param: 'query' });
  });
});

describe('events', () => {
  it('list the last 30 days newest first, by type or types, paged with starting_after; each carries its object as it was then', async () => {
    const paid = await stripe.paymentIntents.create(payment('ord_events'));
    const refund = await stripe.refunds.create({ payment_intent: paid.id });
    await stripe.paymentIntents.cancel((await stripe.paymentIntents.create({ amount: 100, currency: 'usd' })).id);
    const types = ['payment_intent.succeeded', 'charge.refunded'];

    const first = await stripe.events.list({ types, limit: 1 });
    expect(first).toMatchObject({ object: 'list', has_more: true, url: '/v1/events' });
    expect(first.data.map((event) => event.type)).toEqual(['charge.refunded']);
    const all = await stripe.events.list({ types, limit: 1 }).autoPagingToArray({ limit: 10 });
    expect(all.map((event) => event.type)).toEqual(['charge.refunded', 'payment_intent.succeeded']);
    // The PaymentIntent as it was when it succeeded; the charge as the refund left it, with the order's metadata.
    expect(all[1].data.object).toMatchObject({
      id: paid.id,
      object: 'payment_intent',
      status: 'succeeded',
      metadata: { order_id: 'ord_events' },
    });
    expect(all[0].data.object).toMatchObject({
      object: 'charge',
      payment_intent: paid.id,
      refunded: true,
      amount_refunded: refund.amount,
      metadata: { order_id: 'ord_events' },
    });

    // `type` takes one type or a group; `types[]=` as a browser encodes it works as the SDK's `types[0]=`.
    expect((await stripe.events.list({ type: 'payment_intent.*' })).data.map((event) => event.type)).toEqual([
      'payment_intent.canceled',
      'payment_intent.succeeded',
    ]);
    const raw = await fetch(`${baseUrl}/v1/events?types[]=payment_intent.canceled&types[]=charge.refunded`, {
      headers: { authorization: 'Bearer sk_test_x' },
    });
    expect(((await raw.json()) as Stripe.ApiList<Stripe.Event>).data.map((event) => event.type)).toEqual([
      'payment_intent.canceled',
      'charge.refunded',
    ]);
    const now = Math.floor(standIn.now() / 1000);
    expect((await stripe.events.list({ created: { gt: now } })).data).toEqual([]);
    await expect(stripe.events.list({ type: 'charge.refunded', types })).rejects.toMatchObject({ statusCode: 400, param: 'types' });
    await expect(stripe.events.list({ starting_after: 'evt_missing' })).rejects.toMatchObject({ statusCode: 400, param: 'starting_after' });

    standIn.advanceClock(31 * DAY_MS);
    expect((await stripe.events.list({ types })).data).toEqual([]);
  });

  it('a refund lists refund.created; one that settles refund.updated and charge.refund.updated, and refund.failed when it fails', async () => {
    const paid = await stripe.paymentIntents.create(payment('ord_refund_events', 'cus_refund_fails_600'));
    const since = Math.floor(standIn.now() / 1000);
    const refund = await stripe.refunds.create({ payment_intent: paid.id });
    expect(refund.status).toBe('pending');
    expect(standIn.settleRefund(refund.id, 'failed')).toBe(true);
    const events = await stripe.events.list({ created: { gte: since }, limit: 100 });
    const refundEvents = events.data.filter((event) => event.type.startsWith('refund.') || event.type.startsWith('charge.refund'));
    expect(refundEvents.map((event) => event.type).reverse()).toEqual([
      'refund.created',
      'charge.refunded',
      'charge.refund.updated',
      'refund.updated',
      'refund.failed',
    ]);
    expect(refundEvents[0].data.object).toMatchObject({ object: 'refund', id: refund.id, status: 'failed' });
  });
});

describe('disputes', () => {
  it("openDispute: Stripe's dispute on the charge, the charge disputed, the dispute listed and a charge.dispute.created event", async () => {
    const paid = await stripe.paymentIntents.create(payment('ord_dispute'));
    const chargeId = paid.latest_charge as string;
    const dispute = standIn.openDispute(chargeId, 'product_not_received');
    expect(dispute).toMatchObject({
      object: 'dispute',
      amount: 4999,
      currency: 'usd',
      charge: chargeId,
      payment_intent: paid.id,
      reason: 'product_not_received',
      status: 'needs_response',
    });
    expect(dispute!.id).toMatch(/^dp_/);
    expect(dispute!.evidence_details.due_by).toBe(dispute!.created + 7 * 24 * 60 * 60);
    expect(standIn.openDispute(chargeId)).toBeUndefined();
    expect((await stripe.charges.retrieve(chargeId)).disputed).toBe(true);

    const [event] = (await stripe.events.list({ type: 'charge.dispute.created' })).data;
    expect(event.data.object).toEqual(dispute);
    // Listed with the PaymentIntent in place of its ID: the order's metadata in one request per page.
    const listed = await stripe.disputes.list({ created: { gte: dispute!.created }, expand: ['data.payment_intent'] });
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]).toMatchObject({ id: dispute!.id, payment_intent: { id: paid.id, metadata: { order_id: 'ord_dispute' } } });
    expect((await stripe.disputes.list({ payment_intent: 'pi_other' })).data).toEqual([]);
    await expect(stripe.disputes.list({ expand: ['data.balance_transactions'] })).rejects.toMatchObject({
      statusCode: 400,
      param: 'expand',
    });
  });

  it('are not opened on a declined charge or an unknown one', async () => {
    await stripe.paymentIntents.create(payment('ord_dispute_declined', 'cus_decline')).catch(() => undefined);
    const [declined] = standIn.charges;
    expect(standIn.openDispute(declined.id)).toBeUndefined();
    expect(standIn.openDispute('ch_missing')).toBeUndefined();
    expect((await stripe.events.list({ type: 'charge.dispute.created' })).data).toEqual([]);
  });
});

describe('refunds', () => {
  it('refund the whole payment by default: the refund, the charge marked refunded, the record by order', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_refund'));
    const refund = await stripe.refunds.create({
      payment_intent: intent.id,
      reason: 'requested_by_customer',
      metadata: { order_id: 'ord_refund' },
    });
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 4999,
      charge: intent.latest_charge,
      payment_intent: intent.id,
      currency: 'usd',
      status: 'succeeded',
      reason: 'requested_by_customer',
      metadata: { order_id: 'ord_refund' },
    });
    expect(refund.id).toMatch(/^re_[0-9a-f]{24}$/);
    expect(await stripe.refunds.retrieve(refund.id)).toEqual(refund);
    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({
      amount: 4999,
      amount_refunded: 4999,
      refunded: true,
      payment_intent: intent.id,
      metadata: { order_id: 'ord_refund' },
    });
    expect(standIn.refundsFor('ord_refund')).toEqual([
      expect.objectContaining({ id: refund.id, amount: 4999, chargeId: charge.id, paymentIntentId: intent.id }),
    ]);
    expect(standIn.successfulCharges('ord_refund')[0]).toMatchObject({ amountRefunded: 4999 });
  });

  it('refund part of the payment, then the rest by default; a charge fully refunded is refused (charge_already_refunded)', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_partial'));
    expect(await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 })).toMatchObject({ amount: 1000 });
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({ amount_refunded: 1000, refunded: false });
    expect(await stripe.refunds.create({ charge: intent.latest_charge as string })).toMatchObject({
      amount: 3999,
      payment_intent: intent.id,
    });
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({ amount_refunded: 4999, refunded: true });

    const again = await stripeError(stripe.refunds.create({ payment_intent: intent.id, amount: 1 }));
    expect(again).toMatchObject({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'charge_already_refunded',
      message: `Charge ${intent.latest_charge as string} has already been refunded.`,
    });
    expect(standIn.refundsFor('ord_partial').map((refund) => refund.amount)).toEqual([1000, 3999]);

    // The list is Stripe's record of what was refunded: newest first, by PaymentIntent or by charge, paged.
    const listed = await stripe.refunds.list({ payment_intent: intent.id });
    expect(listed).toMatchObject({ object: 'list', url: '/v1/refunds', has_more: false });
    expect(listed.data.map((refund) => refund.amount)).toEqual([3999, 1000]);
    const byCharge = await stripe.refunds.list({ charge: intent.latest_charge as string, limit: 1 });
    expect(byCharge).toMatchObject({ has_more: true, data: [{ amount: 3999 }] });
    const next = await stripe.refunds.list({ charge: intent.latest_charge as string, starting_after: byCharge.data[0].id });
    expect(next.data.map((refund) => refund.amount)).toEqual([1000]);
    expect((await stripe.refunds.list({ payment_intent: 'pi_never_made' })).data).toEqual([]);
  });

  it("refuse more than what is left, in Stripe's words; the refusal is stored for the key", async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_over'));
    await stripe.refunds.create({ payment_intent: intent.id, amount: 999 });
    const over = await post('/v1/refunds', { payment_intent: intent.id, amount: 4001 }, 'key-over');
    expect(over).toMatchObject({
      status: 400,
      replayed: null,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'amount_too_large',
          param: 'amount',
          message: 'Refund amount ($40.01) is greater than unrefunded amount on charge ($40.00)',
        },
      },
    });
    expect(await post('/v1/refunds', { payment_intent: intent.id, amount: 4001 }, 'key-over')).toMatchObject({
      status: 400,
      replayed: 'true',
      body: over.body,
    });
    expect(standIn.refundsFor('ord_over')).toHaveLength(1);
  });

  it('refuse a PaymentIntent that has not been paid (declined, or not confirmed); stored for the key', async () => {
    const declined = await stripeError(stripe.paymentIntents.create(payment('ord_unpaid', 'cus_decline')));
    const unpaid = await post('/v1/refunds', { payment_intent: declined.payment_intent!.id }, 'key-unpaid');
    expect(unpaid).toMatchObject({
      status: 400,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'charge_not_refundable',
          message: 'This PaymentIntent does not have a successful charge to refund.',
        },
      },
    });
    expect(await post('/v1/refunds', { payment_intent: declined.payment_intent!.id }, 'key-unpaid')).toMatchObject({
      status: 400,
      replayed: 'true',
    });
    const open = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc', payment_method: 'pm_card_visa' });
    await expect(stripe.refunds.create({ payment_intent: open.id })).rejects.toMatchObject({
      statusCode: 400,
      code: 'charge_not_refundable',
    });
    const failedCharge = await stripeError(stripe.refunds.create({ charge: declined.charge! }));
    expect(failedCharge).toMatchObject({ statusCode: 400, code: 'charge_not_refundable', param: 'charge' });
    expect(standIn.refunds).toHaveLength(0);
  });

  it('replay a refund under its key: refunded once', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_refund_replay'));
    const first = await post('/v1/refunds', { payment_intent: intent.id, amount: 500 }, 'key-refund');
    const second = await post('/v1/refunds', { payment_intent: intent.id, amount: 500 }, 'key-refund');
    expect(first).toMatchObject({ status: 200, replayed: null, body: { object: 'refund', amount: 500 } });
    expect(second).toMatchObject({ status: 200, replayed: 'true' });
    expect(second.body).toEqual(first.body);
    expect(await post('/v1/refunds', { payment_intent: intent.id, amount: 600 }, 'key-refund')).toMatchObject({
      status: 400,
      body: { error: { type: 'idempotency_error' } },
    });
    expect(standIn.refundsFor('ord_refund_replay')).toHaveLength(1);
    expect(standIn.successfulCharges('ord_refund_replay')[0].amountRefunded).toBe(500);
  });

  it('refuse invalid parameters before executing: the key stays free', async () => {
    const intent = await stripe.paymentIntents.create(payment('ord_refund_params'));
    const refusals = [
      [{ payment_intent: intent.id, reason: 'bored' }, 'reason'],
      [{ payment_intent: intent.id, amount: 0 }, 'amount'],
      [{ payment_intent: intent.id, colour: 'red' }, 'colour'],
      [{ payment_intent: 'pi_unknown' }, 'payment_intent'],
      [{ charge: 'ch_unknown' }, 'charge'],
      [{ payment_intent: intent.id, charge: intent.latest_charge }, 'charge'],
      [{}, 'payment_intent'],
    ] as const;
    for (const [params, param] of refusals) {
      expect(await post('/v1/refunds', params, 'key-refund-params')).toMatchObject({
        status: 400,
        body: { error: { type: 'invalid_request_error', param } },
      });
    }
    expect(await post('/v1/refunds', { payment_intent: intent.id }, 'key-refund-params')).toMatchObject({ status: 200, replayed: null });
  });

  it('are not made for legacy charges, and unknown refunds and charges are missing (404)', async () => {
    const legacy = await post('/v1/charges', { amount: 500, currency: 'usd', customer: 'cus_abc' });
    expect(await post('/v1/refunds', { charge: legacy.body.id })).toMatchObject({ status: 400, body: { error: { param: 'charge' } } });
    await expect(stripe.refunds.retrieve('re_unknown')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    await expect(stripe.charges.retrieve('ch_unknown')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('cards that need their holder (SCA)', () => {
  /** A payment of cus_authenticate* declined off session for authentication: its PaymentIntent. */
  async function authenticationRequired(orderId: string, customer = 'cus_authenticate'): Promise<Stripe.PaymentIntent> {
    const error = await stripeError(stripe.paymentIntents.create(payment(orderId, customer)));
    expect(error).toMatchObject({ statusCode: 402, code: 'authentication_required' });
    return error.payment_intent!;
  }

  it('cus_authenticate: the off-session confirmation is declined with authentication_required and a failed charge', async () => {
    const error = await stripeError(stripe.paymentIntents.create(payment('ord_sca', 'cus_authenticate')));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({
      statusCode: 402,
      code: 'authentication_required',
      decline_code: 'authentication_required',
      message: 'Your card was declined. This transaction requires authentication.',
    });
    const [failed] = standIn.charges;
    expect(failed).toMatchObject({
      status: 'failed',
      declineCode: 'authentication_required',
      orderId: 'ord_sca',
      paymentIntentId: error.payment_intent!.id,
    });
    expect(error.payment_intent).toMatchObject({
      status: 'requires_payment_method',
      latest_charge: failed.id,
      last_payment_error: {
        code: 'authentication_required',
        decline_code: 'authentication_required',
        payment_method: { id: 'pm_card_visa' },
      },
    });
  });

  it('the holder comes back and authenticates: the same PaymentIntent succeeds, with a succeeded charge', async () => {
    const waiting = await authenticationRequired('ord_sca_ok');
    expect(standIn.completeCustomerAction(waiting.id, 'succeeds')).toBe(true);
    const intent = await stripe.paymentIntents.retrieve(waiting.id);
    expect(intent).toMatchObject({ status: 'succeeded', last_payment_error: null, payment_method: 'pm_card_visa', amount_received: 4999 });
    const [paid] = standIn.successfulCharges('ord_sca_ok');
    expect(paid).toMatchObject({ paymentIntentId: waiting.id, orderId: 'ord_sca_ok' });
    expect(intent.latest_charge).toBe(paid.id);
    expect(standIn.completeCustomerAction(waiting.id, 'succeeds')).toBe(false);
    expect(standIn.successfulCharges('ord_sca_ok')).toHaveLength(1);
  });

  it('the holder fails to authenticate: requires_payment_method with the authentication failure, no new charge', async () => {
    const waiting = await authenticationRequired('ord_sca_fail');
    expect(standIn.completeCustomerAction(waiting.id, 'fails')).toBe(true);
    const intent = await stripe.paymentIntents.retrieve(waiting.id);
    expect(intent).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: waiting.latest_charge,
      last_payment_error: {
        type: 'invalid_request_error',
        code: 'payment_intent_authentication_failure',
        payment_method: { id: 'pm_card_visa' },
      },
    });
    expect(standIn.charges).toHaveLength(1);
    expect(standIn.completeCustomerAction(waiting.id, 'succeeds')).toBe(false);
  });

  it('on session, the PaymentIntent waits in requires_action, nothing charged, until the holder authenticates', async () => {
    const intent = await stripe.paymentIntents.create({
      ...payment('ord_sca_on_session', 'cus_abc', 'pm_card_authenticationRequired'),
      off_session: undefined,
    });
    expect(intent).toMatchObject({
      status: 'requires_action',
      next_action: { type: 'use_stripe_sdk' },
      payment_method: 'pm_card_authenticationRequired',
    });
    expect(standIn.charges).toHaveLength(0);
    expect(standIn.completeCustomerAction(intent.id, 'succeeds')).toBe(true);
    expect(await stripe.paymentIntents.retrieve(intent.id)).toMatchObject({ status: 'succeeded', next_action: null });
  });

  it("the sandbox page completes the order's newest waiting PaymentIntent, without an API key; 404 when none waits", async () => {
    await authenticationRequired('ord_sca_page');
    const newest = await authenticationRequired('ord_sca_page');
    const page = await fetch(`${baseUrl}/sandbox/pay/ord_sca_page`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await page.text()).toContain(newest.id);
    expect(standIn.paymentIntentsFor('ord_sca_page').map((intent) => intent.status)).toEqual(['requires_payment_method', 'succeeded']);
    expect((await fetch(`${baseUrl}/sandbox/pay/ord_nothing_waits`)).status).toBe(404);
    await stripe.paymentIntents.create(payment('ord_sca_paid'));
    expect((await fetch(`${baseUrl}/sandbox/pay/ord_sca_paid`)).status).toBe(404);
  });

  it("is the sandbox's PAYMENT_ACTION_URL", async () => {
    const sandbox = await startSandbox();
    try {
      const client = new Stripe('sk_test_x', {
        host: '127.0.0.1',
        port: new URL(sandbox.env.STRIPE_API_URL).port,
        protocol: 'http',
        maxNetworkRetries: 0,
      });
      const error = await stripeError(client.paymentIntents.create(payment('ord_sca_env', 'cus_authenticate')));
      expect((await fetch(sandbox.env.PAYMENT_ACTION_URL.replace('{orderId}', 'ord_sca_env'))).status).toBe(200);
      expect(await client.paymentIntents.retrieve(error.payment_intent!.id)).toMatchObject({ status: 'succeeded' });
    } finally {
      await sandbox.close();
    }
  });

  it('cus_authenticate_completes_<s>: the holder authenticates by themselves <s> seconds later', async () => {
    const waiting = await authenticationRequired('ord_sca_auto', 'cus_authenticate_completes_1');
    const declinedAt = Date.now();
    expect((await stripe.paymentIntents.retrieve(waiting.id)).status).toBe('requires_payment_method');
    await expect
      .poll(async () => (await stripe.paymentIntents.retrieve(waiting.id)).status, { timeout: 3_000, interval: 50 })
      .toBe('succeeded');
    expect(Date.now() - declinedAt).toBeGreaterThanOrEqual(900);
    expect(standIn.successfulCharges('ord_sca_auto')).toHaveLength(1);
  });

  it('cus_authenticate_abandons: nobody comes back, not even after the 3 s a completing holder takes', async () => {
    const waiting = await authenticationRequired('ord_sca_gone', 'cus_authenticate_abandons');
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect((await stripe.paymentIntents.retrieve(waiting.id)).status).toBe('requires_payment_method');
  });

  it('a PaymentIntent canceled meanwhile cannot be completed, by the holder, the page or the timer', async () => {
    const waiting = await authenticationRequired('ord_sca_cancel', 'cus_authenticate_completes_1');
    await stripe.paymentIntents.cancel(waiting.id);
    expect(standIn.completeCustomerAction(waiting.id, 'succeeds')).toBe(false);
    expect((await fetch(`${baseUrl}/sandbox/pay/ord_sca_cancel`)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect((await stripe.paymentIntents.retrieve(waiting.id)).status).toBe('canceled');
    expect(standIn.successfulCharges('ord_sca_cancel')).toHaveLength(0);
  });

  it('close() stops the holders who would have come back', async () => {
    const waiting = await authenticationRequired('ord_sca_closed', 'cus_authenticate_completes_1');
    await standIn.close();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(standIn.paymentIntents.find((intent) => intent.id === waiting.id)?.status).toBe('requires_payment_method');
  });
});

describe('the rest of the API surface', () => {
  it('legacy charges still work, under the same idempotency layer', async () => {
    const params = { amount: 500, currency: 'usd', customer: 'cus_abc', metadata: { order_id: 'ord_legacy' } };
    const first = await post('/v1/charges', params, 'key-legacy');
    expect(first).toMatchObject({ status: 200, body: { object: 'charge', status: 'succeeded', paid: true } });
    expect(await post('/v1/charges', params, 'key-legacy')).toMatchObject({ status: 200, replayed: 'true', body: { id: first.body.id } });
    const declined = await post('/v1/charges', { ...params, customer: 'cus_decline_expired_card' });
    expect(declined).toMatchObject({ status: 402, body: { error: { type: 'card_error', decline_code: 'expired_card' } } });
    expect(standIn.successfulCharges('ord_legacy')).toHaveLength(1);
  });

  it('refuses a key that is not a test key (401) and an unknown URL (404)', async () => {
    const live = new Stripe('sk_live_x', { host: '127.0.0.1', port: new URL(baseUrl).port, protocol: 'http', maxNetworkRetries: 0 });
    await expect(live.customers.retrieve('cus_abc')).rejects.toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const response = await fetch(`${baseUrl}/v1/invoices`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(response.status).toBe(404);
  });
});

describe('spec checking against stripe-mock', () => {
  it("records nothing for the SDK's requests and records the requests stripe-mock refuses", async () => {
    const mock = await startStripeMock();
    try {
      standIn.checkSpecAgainst(mock.url);
      await stripe.customers.retrieve('cus_abc');
      const intent = await stripe.paymentIntents.create({
        amount: 100,
        currency: 'usd',
        customer: 'cus_abc',
        payment_method: 'pm_card_visa',
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        metadata: { order_id: 'ord_spec' },
      });
      await stripe.paymentIntents.confirm(intent.id, { off_session: true });
      await stripe.paymentIntents.retrieve(intent.id);
      await stripe.paymentIntents.list({ customer: 'cus_abc', created: { gte: 0 }, limit: 100 });
      await stripe.paymentIntents.search({ query: "metadata['order_id']:'ord_spec'" });
      const open = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
      await stripe.paymentIntents.cancel(open.id, { cancellation_reason: 'abandoned' });
      const refund = await stripe.refunds.create({
        payment_intent: intent.id,
        amount: 10,
        reason: 'requested_by_customer',
        metadata: { order_id: 'ord_spec' },
      });
      await stripe.refunds.retrieve(refund.id);
      await stripe.charges.retrieve(refund.charge as string);
      standIn.openDispute(refund.charge as string);
      await stripe.events.list({ created: { gte: 0 }, types: ['charge.refunded', 'payment_intent.succeeded'], limit: 100 });
      const [event] = (await stripe.events.list({ type: 'payment_intent.*', limit: 1 })).data;
      await stripe.events.list({ starting_after: event.id });
      await stripe.disputes.list({ created: { gte: 0 }, limit: 100, expand: ['data.charge', 'data.payment_intent'] });
      expect(standIn.specViolations).toEqual([]);
      expect(standIn.specChecked).toBe(15);

      await post('/v1/payment_intents', { amount: 100, currency: 'usd', colour: 'red' });
      expect(standIn.specViolations).toEqual([expect.objectContaining({ method: 'POST', path: '/v1/payment_intents', status: 400 })]);
    } finally {
      await mock.stop();
    }
  });
});
