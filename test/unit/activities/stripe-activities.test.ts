/**
 * The Stripe activities' error classification, through MockActivityEnvironment, with the real Stripe SDK
 * pointed at the in-process Stripe stand-in: what Stripe answered decides between a returned outcome, a
 * retryable failure (Temporal tries again under the same idempotency key) and a non-retryable one.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Order } from '../../../src/domain/order.js';
import {
  CHARGE_OUTCOME_UNKNOWN,
  CHARGE_REJECTED,
  REFUND_NOT_MADE,
  REFUND_REFUSED,
  STRIPE_UNAVAILABLE,
} from '../../../src/domain/failures.js';
import { failureOf, runActivity, useSandboxActivities } from '../../support/mock-activity.js';

const suite = useSandboxActivities();

function order(customerId = 'cus_abc'): Order {
  return { orderId: `ord_act_${randomUUID().slice(0, 8)}`, customerId, amount: 4999, currency: 'usd', email: 'customer@example.com' };
}

/** Creates the order's PaymentIntent as the run's first Charge Card step does, and gives its ID. */
async function created(forOrder: Order): Promise<string> {
  const answer = await runActivity(suite.activities.createPaymentIntent, forOrder, forOrder);
  if (answer.outcome !== 'created') throw new Error(`expected a PaymentIntent, got ${answer.outcome}`);
  return answer.paymentIntent.id;
}

const lastRequest = () => suite.sandbox.stripe.requests.at(-1)!;

describe('createPaymentIntent', () => {
  it("creates it unconfirmed, for the customer's default card, under the key order-<orderId>/payment-intent", async () => {
    const o = order();
    const answer = await runActivity(suite.activities.createPaymentIntent, o, o);
    expect(answer).toMatchObject({ outcome: 'created', paymentIntent: { status: 'requires_confirmation' } });
    expect(lastRequest().headers['idempotency-key']).toBe(`order-${o.orderId}/payment-intent`);
    expect(decodeURIComponent(lastRequest().body)).toContain(`metadata[order_id]=${o.orderId}`);
  });

  it('asks Stripe for cards only (allowed_payment_method_types), so no bank debit waits days in processing', async () => {
    const o = order();
    await runActivity(suite.activities.createPaymentIntent, o, o);
    expect(decodeURIComponent(lastRequest().body)).toContain('allowed_payment_method_types[0]=card');
    expect(decodeURIComponent(lastRequest().body)).not.toContain('automatic_payment_methods');
  });

  describe('an order Stripe shows paid before (sent again after its run was deleted and its keys forgotten)', () => {
    /** Pays the order as an earlier run did, then lets Stripe forget the keys and its search catch up. */
    async function paidLongAgo(o: Order): Promise<string> {
      const paymentIntentId = await created(o);
      await runActivity(suite.activities.confirmPaymentIntent, { orderId: o.orderId, paymentIntentId }, o);
      suite.sandbox.stripe.advanceClock(25 * 60 * 60 * 1000);
      return paymentIntentId;
    }

    it('found by search on metadata.order_id: paid_before with that PaymentIntent, nothing created', async () => {
      const o = order();
      const paymentIntentId = await paidLongAgo(o);
      expect(await runActivity(suite.activities.createPaymentIntent, o, o)).toEqual({
        outcome: 'paid_before',
        paymentIntent: expect.objectContaining({ id: paymentIntentId, status: 'succeeded' }),
        sinceThen: { amountRefunded: 0, amountPaid: 4999, disputed: false },
      });
      expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(1);
      expect(suite.sandbox.stripe.requests.filter((request) => request.path.startsWith('/v1/payment_intents')).at(-1)?.path).toMatch(
        /^\/v1\/payment_intents\/search\?query=/,
      );
    });

    it("search refused for its rate limit (429): the customer's PaymentIntents are listed instead, page by page, and decide the same", async () => {
      const o = order('cus_many_orders');
      const paymentIntentId = await paidLongAgo(o);
      // A page of the customer's later orders: the earlier payment is on the list's second page.
      for (let later = 0; later < 100; later += 1) await created(order('cus_many_orders'));
      suite.sandbox.stripe.searchRatePerSecond = 0;
      try {
        expect(await runActivity(suite.activities.createPaymentIntent, o, o)).toMatchObject({
          outcome: 'paid_before',
          paymentIntent: { id: paymentIntentId },
        });
      } finally {
        suite.sandbox.stripe.searchRatePerSecond = undefined;
      }
      expect(
        suite.sandbox.stripe.requests
          .filter(({ path }) => path.startsWith('/v1/payment_intents'))
          .slice(-3)
          .map(({ method, path, status }) => `${method} ${path.split('?')[0]} ${status}`),
      ).toEqual(['GET /v1/payment_intents/search 429', 'GET /v1/payment_intents 200', 'GET /v1/payment_intents 200']);
      expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(1);
    });

    it('refunded and disputed since: what settled refunds gave back (a pending one not counted) and the dispute, as Stripe holds them', async () => {
      const o = order('cus_refund_pending_600');
      const paymentIntentId = await paidLongAgo(o);
      // Two refund requests, each its own run (and key), as two operator refunds are.
      const refund = (amount: number) =>
        runActivity(
          suite.activities.refundPayment,
          { orderId: o.orderId, paymentIntentId, amount, reason: 'partial' },
          { orderId: `${o.orderId}_${amount}` },
        );
      const settled = await refund(1000);
      expect(settled.status).toBe('pending');
      expect(suite.sandbox.stripe.settleRefund(settled.refundId, 'succeeded')).toBe(true);
      expect(await runActivity(suite.activities.lookUpRefund, { refundId: settled.refundId }, o)).toMatchObject({
        status: 'succeeded',
        amountRefunded: 1000,
      });
      expect(await refund(500)).toMatchObject({ status: 'pending', amountRefunded: 1000 });
      const answer = await runActivity(suite.activities.createPaymentIntent, o, o);
      expect(answer).toMatchObject({ outcome: 'paid_before', sinceThen: { amountRefunded: 1000, amountPaid: 4999, disputed: false } });
      if (answer.outcome !== 'paid_before') throw new Error('expected paid_before');
      expect(suite.sandbox.stripe.openDispute(answer.paymentIntent.chargeId!)).toBeDefined();
      expect(await runActivity(suite.activities.createPaymentIntent, o, o)).toMatchObject({ sinceThen: { disputed: true } });
      expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(1);
    });

    it('Stripe refusing to show the earlier charge (403): still paid_before, nothing created, recorded as paid', async () => {
      const o = order();
      const paymentIntentId = await paidLongAgo(o);
      suite.sandbox.stripe.failNext(1, { delayMs: 0 }); // the search finds the earlier payment
      suite.sandbox.stripe.failNext(1, { status: 403 }); // reading its charge is refused
      const answer = await runActivity(suite.activities.createPaymentIntent, o, o);
      expect(answer).toEqual({ outcome: 'paid_before', paymentIntent: expect.objectContaining({ id: paymentIntentId }) });
      expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(1);
    });

    it('a declined earlier PaymentIntent does not count: a new one is created', async () => {
      const o = order('cus_decline');
      const first = await created(o);
      await runActivity(suite.activities.confirmPaymentIntent, { orderId: o.orderId, paymentIntentId: first }, o);
      suite.sandbox.stripe.advanceClock(25 * 60 * 60 * 1000);
      expect(await runActivity(suite.activities.createPaymentIntent, o, o)).toMatchObject({ outcome: 'created' });
      expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(2);
    });
  });

  it('a customer without a default payment method: no_payment_method, nothing created', async () => {
    const o = order('cus_no_payment_method');
    expect(await runActivity(suite.activities.createPaymentIntent, o, o)).toMatchObject({
      outcome: 'no_payment_method',
      reason: expect.stringContaining('no default payment method'),
    });
    expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(0);
  });

  it.each([
    [503, undefined],
    [429, undefined],
    [409, { error: { type: 'idempotency_error', code: 'idempotency_key_in_use', message: 'A request with this key is in progress.' } }],
  ])('Stripe answering %i: retryable StripeUnavailable', async (status, body) => {
    const o = order();
    // The first request is the search for an earlier payment; a 429 there is search's own limit, answered by a list.
    suite.sandbox.stripe.failNext(status === 429 ? 2 : 1, { status, ...(body && { body }) });
    expect(await failureOf(runActivity(suite.activities.createPaymentIntent, o, o))).toMatchObject({
      type: STRIPE_UNAVAILABLE,
      nonRetryable: false,
    });
  });

  it('no answer (connection dropped): retryable StripeUnavailable', async () => {
    const o = order();
    // The SDK sends a request again once when its connection closed, even with its retries off.
    suite.sandbox.stripe.failNext(2, { drop: true });
    expect(await failureOf(runActivity(suite.activities.createPaymentIntent, o, o))).toMatchObject({
      type: STRIPE_UNAVAILABLE,
      nonRetryable: false,
    });
  });

  it('a request Stripe refuses (400, 401): non-retryable ChargeRejected on the first attempt', async () => {
    const o = order();
    suite.sandbox.stripe.failNext(1, { status: 400 });
    expect(await failureOf(runActivity(suite.activities.createPaymentIntent, o, o))).toMatchObject({
      type: CHARGE_REJECTED,
      nonRetryable: true,
    });
    suite.sandbox.stripe.failNext(1, {
      status: 401,
      body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } },
    });
    expect(await failureOf(runActivity(suite.activities.createPaymentIntent, o, o))).toMatchObject({
      type: CHARGE_REJECTED,
      nonRetryable: true,
    });
  });

  it('the same refusal after an earlier attempt whose answer was lost: ChargeOutcomeUnknown (that attempt may have created it)', async () => {
    const o = order();
    suite.sandbox.stripe.failNext(1, { status: 400 });
    const failure = await failureOf(runActivity(suite.activities.createPaymentIntent, o, { ...o, attempt: 2 }));
    expect(failure).toMatchObject({
      type: CHARGE_OUTCOME_UNKNOWN,
      nonRetryable: true,
      message: expect.stringContaining('outcome is unknown'),
    });
  });

  it('a refused idempotency key: ChargeOutcomeUnknown', async () => {
    const o = order();
    suite.sandbox.stripe.failNext(1, {
      status: 400,
      body: { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters.' } },
    });
    expect(await failureOf(runActivity(suite.activities.createPaymentIntent, o, o))).toMatchObject({
      type: CHARGE_OUTCOME_UNKNOWN,
      nonRetryable: true,
    });
  });
});

describe('confirmPaymentIntent', () => {
  it('charges off session under the key order-<orderId>/charge: succeeded, with its charge', async () => {
    const o = order();
    const paymentIntentId = await created(o);
    const state = await runActivity(suite.activities.confirmPaymentIntent, { orderId: o.orderId, paymentIntentId }, o);
    expect(state).toMatchObject({ id: paymentIntentId, status: 'succeeded', chargeId: expect.stringMatching(/^ch_/) });
    expect(lastRequest().headers['idempotency-key']).toBe(`order-${o.orderId}/charge`);
    expect(suite.sandbox.stripe.successfulCharges(o.orderId)).toHaveLength(1);
  });

  it('a decline (402) is an outcome, not a failure: the PaymentIntent as Stripe left it, with the decline', async () => {
    const o = order('cus_decline_insufficient_funds');
    const paymentIntentId = await created(o);
    const state = await runActivity(suite.activities.confirmPaymentIntent, { orderId: o.orderId, paymentIntentId }, o);
    expect(state).toMatchObject({
      id: paymentIntentId,
      status: 'requires_payment_method',
      lastError: { code: 'card_declined', declineCode: 'insufficient_funds' },
    });
  });

  it('a 500 after the charge: retryable the first time; the retry gets it replayed for the key, ChargeOutcomeUnknown', async () => {
    const o = order('cus_error_after_charge');
    const paymentIntentId = await created(o);
    const ref = { orderId: o.orderId, paymentIntentId };
    expect(await failureOf(runActivity(suite.activities.confirmPaymentIntent, ref, o))).toMatchObject({
      type: STRIPE_UNAVAILABLE,
      nonRetryable: false,
    });
    const replayed = await failureOf(runActivity(suite.activities.confirmPaymentIntent, ref, { ...o, attempt: 2 }));
    expect(replayed).toMatchObject({
      type: CHARGE_OUTCOME_UNKNOWN,
      nonRetryable: true,
      message: expect.stringContaining('began executing'),
    });
    expect(suite.sandbox.stripe.successfulCharges(o.orderId)).toHaveLength(1);
  });
});

describe('lookUpPayment', () => {
  it("by ID when the PaymentIntent is known; else by listing the customer's and matching the order; null when none", async () => {
    const o = order();
    const paymentIntentId = await created(o);
    const since = Date.now() - 1_000;
    expect(
      await runActivity(suite.activities.lookUpPayment, { orderId: o.orderId, customerId: o.customerId, paymentIntentId, since }, o),
    ).toMatchObject({
      id: paymentIntentId,
      status: 'requires_confirmation',
    });
    expect(lastRequest().path).toBe(`/v1/payment_intents/${paymentIntentId}`);
    expect(await runActivity(suite.activities.lookUpPayment, { orderId: o.orderId, customerId: o.customerId, since }, o)).toMatchObject({
      id: paymentIntentId,
    });
    expect(lastRequest().path).toMatch(/^\/v1\/payment_intents\?/);
    expect(
      await runActivity(suite.activities.lookUpPayment, { orderId: 'ord_never_charged', customerId: o.customerId, since }, o),
    ).toBeNull();
  });

  it('Stripe down for the customer: retryable StripeUnavailable', async () => {
    const o = order('cus_down');
    const failure = await failureOf(
      runActivity(suite.activities.lookUpPayment, { orderId: o.orderId, customerId: o.customerId, since: Date.now() }, o),
    );
    expect(failure).toMatchObject({ type: STRIPE_UNAVAILABLE, nonRetryable: false });
  });
});

describe('cancelPaymentIntent', () => {
  it('cancels an open PaymentIntent; one that succeeded meanwhile is answered as succeeded, not as a failure', async () => {
    const open = order();
    const openId = await created(open);
    expect(await runActivity(suite.activities.cancelPaymentIntent, { orderId: open.orderId, paymentIntentId: openId }, open)).toMatchObject(
      {
        status: 'canceled',
      },
    );
    // No key of ours: a key would replay a stale answer to every later attempt (the SDK adds its own per call).
    expect(lastRequest().headers['idempotency-key']).not.toContain(open.orderId);

    const paid = order();
    const paidId = await created(paid);
    await runActivity(suite.activities.confirmPaymentIntent, { orderId: paid.orderId, paymentIntentId: paidId }, paid);
    expect(await runActivity(suite.activities.cancelPaymentIntent, { orderId: paid.orderId, paymentIntentId: paidId }, paid)).toMatchObject(
      {
        status: 'succeeded',
      },
    );
  });
});

describe('refundPayment', () => {
  async function paid(): Promise<{ o: Order; paymentIntentId: string }> {
    const o = order();
    const paymentIntentId = await created(o);
    await runActivity(suite.activities.confirmPaymentIntent, { orderId: o.orderId, paymentIntentId }, o);
    return { o, paymentIntentId };
  }

  it('refunds under the key order-<orderId>/refund and reports what is refunded of what was paid', async () => {
    const { o, paymentIntentId } = await paid();
    const outcome = await runActivity(
      suite.activities.refundPayment,
      { orderId: o.orderId, paymentIntentId, amount: 1000, reason: 'damaged' },
      o,
    );
    expect(outcome).toMatchObject({ amount: 1000, currency: 'usd', status: 'succeeded', amountRefunded: 1000, amountPaid: 4999 });
    expect(lastRequest().path).toMatch(/^\/v1\/refunds\?charge=/); // what the payment's settled refunds gave back, read after the refund
    expect(
      suite.sandbox.stripe.requests.filter((request) => request.path === '/v1/refunds' && request.method === 'POST').at(-1)?.headers[
        'idempotency-key'
      ],
    ).toBe(`order-${o.orderId}/refund`);
  });

  it('made, but Stripe refuses to show its charge (403): the outcome is unknown and names the refund, never "not made"', async () => {
    const { o, paymentIntentId } = await paid();
    suite.sandbox.stripe.failNext(2, { delayMs: 0 }); // the check for an earlier refund, and the refund itself, go through
    suite.sandbox.stripe.failNext(1, { status: 403 }); // reading its charge does not
    const failure = await failureOf(
      runActivity(suite.activities.refundPayment, { orderId: o.orderId, paymentIntentId, reason: 'restricted key' }, o),
    );
    const [made] = suite.sandbox.stripe.refundsFor(o.orderId);
    expect(made).toBeDefined();
    expect(failure).toMatchObject({ type: CHARGE_OUTCOME_UNKNOWN, nonRetryable: true, message: expect.stringContaining(made.id) });
  });

  it("more than what is left: non-retryable RefundRefused with Stripe's code", async () => {
    const { o, paymentIntentId } = await paid();
    const failure = await failureOf(
      runActivity(suite.activities.refundPayment, { orderId: o.orderId, paymentIntentId, amount: 999_999, reason: 'too much' }, o),
    );
    expect(failure).toMatchObject({ type: REFUND_REFUSED, nonRetryable: true, message: expect.stringContaining('amount_too_large') });
  });

  it("the refund executed, then Stripe answered 500: the retry finds the refund under its key in Stripe's records, sends nothing again", async () => {
    const { o, paymentIntentId } = await paid();
    const input = { orderId: o.orderId, paymentIntentId, reason: 'backend refused' };
    const earlierRequests = suite.sandbox.stripe.requests.length;
    suite.sandbox.stripe.failNext(1, { delayMs: 0 }); // the check for an earlier refund
    suite.sandbox.stripe.failNext(1, { statusAfterHandling: 500 });
    expect(await failureOf(runActivity(suite.activities.refundPayment, input, o))).toMatchObject({
      type: STRIPE_UNAVAILABLE,
      nonRetryable: false,
    });
    const [made] = suite.sandbox.stripe.refundsFor(o.orderId);
    expect(made.metadata).toMatchObject({ order_id: o.orderId, idempotency_key: `order-${o.orderId}/refund` });

    const outcome = await runActivity(suite.activities.refundPayment, input, { ...o, attempt: 2 });
    expect(outcome).toMatchObject({ refundId: made.id, amount: 4999, amountRefunded: 4999, amountPaid: 4999 });
    expect(suite.sandbox.stripe.refundsFor(o.orderId)).toHaveLength(1);
    const refundRequests = suite.sandbox.stripe.requests.slice(earlierRequests).filter((request) => request.path.startsWith('/v1/refunds'));
    expect(refundRequests.map(({ method, status }) => `${method} ${status}`)).toEqual(['GET 200', 'POST 500', 'GET 200', 'GET 200']);
    expect(refundRequests[2].path).toBe(`/v1/refunds?payment_intent=${paymentIntentId}&limit=100`);
    expect(refundRequests[3].path).toMatch(/^\/v1\/refunds\?charge=ch_\w+&limit=100$/); // what its settled refunds gave back
  });

  it("a request sent again after its run and Stripe's key were forgotten: the refund Stripe shows under the key is the answer, never a second", async () => {
    const { o, paymentIntentId } = await paid();
    const input = { orderId: o.orderId, paymentIntentId, amount: 1000, reason: 'partial' };
    const first = await runActivity(suite.activities.refundPayment, input, o);
    suite.sandbox.stripe.advanceClock(25 * 60 * 60 * 1000);
    expect(await runActivity(suite.activities.refundPayment, input, o)).toMatchObject({ refundId: first.refundId, amountRefunded: 1000 });
    expect(suite.sandbox.stripe.refundsFor(o.orderId)).toHaveLength(1);
  });

  it('Stripe replays a 500 for the key and its records show no refund under it: the refund is sent under the next key', async () => {
    const { o, paymentIntentId } = await paid();
    // Executing refuses the amount; the 500 that replaces the refusal is what Stripe stores for the key.
    const input = { orderId: o.orderId, paymentIntentId, amount: 999_999, reason: 'too much' };
    suite.sandbox.stripe.failNext(1, { delayMs: 0 }); // the check for an earlier refund
    suite.sandbox.stripe.failNext(1, { statusAfterHandling: 500 });
    await failureOf(runActivity(suite.activities.refundPayment, input, o));
    // Under the next key Stripe executes it, and refuses the amount as it should.
    const failure = await failureOf(runActivity(suite.activities.refundPayment, input, { ...o, attempt: 2 }));
    expect(failure).toMatchObject({ type: REFUND_REFUSED, nonRetryable: true, message: expect.stringContaining('amount_too_large') });
    const keys = suite.sandbox.stripe.requests
      .filter((request) => request.path === '/v1/refunds' && request.method === 'POST')
      .map((request) => request.headers['idempotency-key']);
    expect(keys.slice(-3)).toEqual([`order-${o.orderId}/refund`, `order-${o.orderId}/refund`, `order-${o.orderId}/refund/2`]);
  });

  /** A paid PaymentIntent of a cus_burns_keys_x<N> customer: each step burns its first N keys, so it is sent under the next. */
  async function paidThroughBurntKeys(o: Order, burnt: number): Promise<string> {
    for (let generation = 1; generation <= burnt; generation += 1) {
      expect(await failureOf(runActivity(suite.activities.createPaymentIntent, o, o, generation))).toMatchObject({
        type: STRIPE_UNAVAILABLE,
      });
    }
    const intent = await runActivity(suite.activities.createPaymentIntent, o, o, burnt + 1);
    if (intent.outcome !== 'created') throw new Error('expected a PaymentIntent');
    const ref = { orderId: o.orderId, paymentIntentId: intent.paymentIntent.id };
    for (let generation = 1; generation <= burnt; generation += 1) {
      await failureOf(runActivity(suite.activities.confirmPaymentIntent, { ...ref, keyGeneration: generation }, o));
    }
    expect(await runActivity(suite.activities.confirmPaymentIntent, { ...ref, keyGeneration: burnt + 1 }, o)).toMatchObject({
      status: 'succeeded',
    });
    expect(suite.sandbox.stripe.paymentIntentsFor(o.orderId)).toHaveLength(1);
    return intent.paymentIntent.id;
  }

  it('a key Stripe burnt (a stored 500, nothing refunded): the retry refunds under order-<orderId>/refund/2, once', async () => {
    const o = order('cus_burns_keys');
    const paymentIntentId = await paidThroughBurntKeys(o, 1);
    const input = { orderId: o.orderId, paymentIntentId, reason: 'backend refused' };
    expect(await failureOf(runActivity(suite.activities.refundPayment, input, o))).toMatchObject({ type: STRIPE_UNAVAILABLE });
    expect(suite.sandbox.stripe.refundsFor(o.orderId)).toHaveLength(0);
    const outcome = await runActivity(suite.activities.refundPayment, input, { ...o, attempt: 2 });
    expect(outcome).toMatchObject({ status: 'succeeded', amountRefunded: 4999 });
    const refunds = suite.sandbox.stripe.refundsFor(o.orderId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0].idempotencyKey).toBe(`order-${o.orderId}/refund/2`);
    expect(refunds[0].metadata.idempotency_key).toBe(`order-${o.orderId}/refund/2`);
  });

  it('every key burnt: non-retryable RefundNotMade, saying Stripe shows no refund', async () => {
    const o = order('cus_burns_keys_x3');
    const input = { orderId: o.orderId, paymentIntentId: await paidThroughBurntKeys(o, 3), reason: 'r' };
    for (const attempt of [1, 2, 3]) await failureOf(runActivity(suite.activities.refundPayment, input, { ...o, attempt }));
    const failure = await failureOf(runActivity(suite.activities.refundPayment, input, { ...o, attempt: 4 }));
    expect(failure).toMatchObject({
      type: REFUND_NOT_MADE,
      nonRetryable: true,
      message: expect.stringContaining('the refund was not made'),
    });
    expect(suite.sandbox.stripe.refundsFor(o.orderId)).toHaveLength(0);
  });

  it('a pending refund is answered pending; Look Up Refund sees Stripe fail it, and the amount back with the merchant', async () => {
    const o = order('cus_refund_fails_3600');
    const paymentIntentId = await created(o);
    await runActivity(suite.activities.confirmPaymentIntent, { orderId: o.orderId, paymentIntentId }, o);
    const refund = await runActivity(suite.activities.refundPayment, { orderId: o.orderId, paymentIntentId, reason: 'r' }, o);
    expect(refund).toMatchObject({ status: 'pending', amountRefunded: 0 }); // a pending refund gives nothing back until it settles
    expect(suite.sandbox.stripe.settleRefund(refund.refundId, 'failed')).toBe(true);
    expect(await runActivity(suite.activities.lookUpRefund, { refundId: refund.refundId }, o)).toMatchObject({
      status: 'failed',
      failureReason: 'expired_or_canceled_card',
      amountRefunded: 0,
      amountPaid: 4999,
    });
  });

  it('Stripe unavailable: retryable StripeUnavailable', async () => {
    const { o, paymentIntentId } = await paid();
    suite.sandbox.stripe.failNext(1, { status: 502 });
    const failure = await failureOf(runActivity(suite.activities.refundPayment, { orderId: o.orderId, paymentIntentId, reason: 'r' }, o));
    expect(failure).toMatchObject({ type: STRIPE_UNAVAILABLE, nonRetryable: false });
  });
});

describe('chargeCard (the legacy Charges API)', () => {
  it('a charge succeeds under the key order-<orderId>/charge; a decline is returned as an outcome', async () => {
    const o = order();
    expect(await runActivity(suite.activities.chargeCard, o, o)).toMatchObject({
      outcome: 'succeeded',
      chargeId: expect.stringMatching(/^ch_/),
    });
    expect(lastRequest().headers['idempotency-key']).toBe(`order-${o.orderId}/charge`);
    const declined = order('cus_decline_insufficient_funds');
    expect(await runActivity(suite.activities.chargeCard, declined, declined)).toMatchObject({
      outcome: 'declined',
      declineCode: 'insufficient_funds',
    });
  });

  it('Stripe unavailable: retryable; a refused request: non-retryable ChargeRejected', async () => {
    const o = order();
    suite.sandbox.stripe.failNext(1, { status: 500 });
    expect(await failureOf(runActivity(suite.activities.chargeCard, o, o))).toMatchObject({
      type: STRIPE_UNAVAILABLE,
      nonRetryable: false,
    });
    suite.sandbox.stripe.failNext(1, { status: 400 });
    expect(await failureOf(runActivity(suite.activities.chargeCard, o, o))).toMatchObject({ type: CHARGE_REJECTED, nonRetryable: true });
  });
});
