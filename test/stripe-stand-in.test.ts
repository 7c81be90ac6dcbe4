import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { StripeStandIn } from '../src/sandbox/stripe.js';
import { startStripeMock } from './support/stripe-mock.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let standIn: StripeStandIn;
let baseUrl: string;
let stripe: Stripe;

beforeEach(async () => {
  standIn = new StripeStandIn();
  baseUrl = await standIn.listen(0);
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
  return { amount: 4999, currency: 'usd', customer, payment_method: paymentMethod, confirm: true, off_session: true, metadata: { order_id: orderId } };
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
    expect(error).toMatchObject({ statusCode: 404, type: 'StripeInvalidRequestError', code: 'resource_missing', param: 'id', message: "No such customer: 'abc'" });
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
    expect(intent).toMatchObject({ object: 'payment_intent', status: 'succeeded', amount: 4999, amount_received: 4999, customer: 'cus_abc', livemode: false });
    expect(intent.id).toMatch(/^pi_[0-9a-f]{24}$/);
    const [charge] = standIn.successfulCharges('ord_1');
    expect(standIn.successfulCharges('ord_1')).toHaveLength(1);
    expect(charge).toMatchObject({ paymentIntentId: intent.id, amount: 4999, currency: 'usd', customer: 'cus_abc' });
    expect(intent.latest_charge).toBe(charge!.id);
    expect(standIn.paymentIntentsFor('ord_1').map((stored) => stored.id)).toEqual([intent.id]);
  });

  it('wait for a payment method, then for confirmation; confirmed once, a second confirm is refused', async () => {
    const bare = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc' });
    expect(bare.status).toBe('requires_payment_method');
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc', payment_method: 'pm_card_visa' });
    expect(intent.status).toBe('requires_confirmation');
    expect(standIn.charges).toHaveLength(0);

    expect(await stripe.paymentIntents.confirm(intent.id, { off_session: true })).toMatchObject({ status: 'succeeded', amount_received: 100 });
    const error = await stripeError(stripe.paymentIntents.confirm(intent.id));
    expect(error).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(error.message).toMatch(/^You cannot confirm this PaymentIntent because it has a status of succeeded\./);
    expect(error.payment_intent?.status).toBe('succeeded');
    expect(standIn.charges).toHaveLength(1);
  });

  it('cannot be confirmed without a payment method, nor with one that does not exist', async () => {
    const missing = await stripeError(stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_no_payment_method', confirm: true }));
    expect(missing).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(missing.message).toMatch(/^You cannot confirm this PaymentIntent because it's missing a payment method\./);
    const unknown = await stripeError(stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: 'cus_abc', payment_method: 'card_123' }));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_method' });
    expect(standIn.paymentIntents).toHaveLength(0);
  });

  it('refuse invalid and unknown parameters as Stripe does', async () => {
    const amount = await stripeError(stripe.paymentIntents.create({ amount: 'forty' as unknown as number, currency: 'usd' }));
    expect(amount).toMatchObject({ statusCode: 400, param: 'amount', code: 'parameter_invalid_integer' });
    const currency = await stripeError(stripe.paymentIntents.create({ amount: 100, currency: 'dollars' }));
    expect(currency).toMatchObject({ statusCode: 400, param: 'currency' });
    const unknown = await stripeError(stripe.paymentIntents.create({ amount: 100, currency: 'usd', colour: 'red' } as Stripe.PaymentIntentCreateParams));
    expect(unknown).toMatchObject({ statusCode: 400, param: 'colour', code: 'parameter_unknown' });
    expect(standIn.paymentIntents).toHaveLength(0);
  });

  it('are declined for cus_decline_<code>: 402 with the failed charge and the PaymentIntent back in requires_payment_method', async () => {
    const error = await stripeError(stripe.paymentIntents.create(payment('ord_decline', 'cus_decline_insufficient_funds')));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' });
    const [failed] = standIn.charges;
    expect(failed).toMatchObject({ status: 'failed', orderId: 'ord_decline' });
    expect(error.charge).toBe(failed!.id);
    expect(error.payment_intent).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: failed!.id,
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', charge: failed!.id },
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
    const intentId = standIn.paymentIntents[0]!.id;
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
    const error = await stripeError(stripe.paymentIntents.create(payment('ord_err', 'cus_error_after_charge'), { idempotencyKey: 'key-err' }));
    expect(error).toMatchObject({ statusCode: 500, type: 'StripeAPIError' });
    const retry = await post('/v1/payment_intents', payment('ord_err', 'cus_error_after_charge'), 'key-err');
    expect(retry).toMatchObject({ status: 500, replayed: 'true', body: { error: { type: 'api_error' } } });

    const listed = await stripe.paymentIntents.list({ customer: 'cus_error_after_charge' });
    expect(listed.data.map((intent) => intent.status)).toEqual(['succeeded']);
    expect((await stripe.paymentIntents.retrieve(listed.data[0]!.id)).status).toBe('succeeded');
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
    expect(await post('/v1/payment_intents', payment('ord_fail', 'cus_fail_500_x1'), 'key-fail')).toMatchObject({ status: 200, replayed: null });
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
    expect(await post('/v1/payment_intents', payment('ord_down', 'cus_down_30'), 'key-down')).toMatchObject({ status: 200, replayed: null });
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
    expect(await stripe.paymentIntents.search({ query })).toMatchObject({ object: 'search_result', data: [], has_more: false, next_page: null });

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
    const response = await fetch(`${baseUrl}/v1/refunds`, { headers: { authorization: 'Bearer sk_test_x' } });
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
      expect(standIn.specViolations).toEqual([]);
      expect(standIn.specChecked).toBe(8);

      await post('/v1/payment_intents', { amount: 100, currency: 'usd', colour: 'red' });
      expect(standIn.specViolations).toEqual([expect.objectContaining({ method: 'POST', path: '/v1/payment_intents', status: 400 })]);
    } finally {
      mock.stop();
    }
  });
});
