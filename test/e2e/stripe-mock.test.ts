import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import Stripe from 'stripe';
import { stripeActivities } from '../../src/activities/stripe-activities.js';
import { loadProviderConfig } from '../../src/config/worker-settings.js';
import type { ChargeResult } from '../../src/domain/order.js';
import type { RefundOutcome } from '../../src/domain/payment.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { startStripeMock, type StripeMock } from '../support/stripe-mock.js';

let stripeMock: StripeMock;
let harness: Harness;

beforeAll(async () => {
  stripeMock = await startStripeMock();
  harness = await startHarness();
  // Every request the Stripe stand-in handles is also sent to stripe-mock, Stripe's own server built
  // from its OpenAPI spec, which refuses unknown endpoints and malformed or unknown parameters.
  harness.sandbox.stripe.checkSpecAgainst(stripeMock.url);
});
afterAll(async () => {
  await harness?.close();
  await stripeMock?.stop();
});

/** The requests the stand-in handled (an injected refusal is answered before handling, and never checked). */
function handledRequests() {
  return harness.sandbox.stripe.requests.filter((request) => request.fault === undefined || 'delayMs' in request.fault);
}

/** Each Stripe endpoint the activities call, as `METHOD path` with IDs and queries masked. */
function endpointsCalled(): Set<string> {
  return new Set(
    handledRequests().map((request) => `${request.method} ${request.path.replace(/\?.*$/, '').replace(/(pi|cus|ch|re)_\w+/g, '$1_*')}`),
  );
}

describe("the Stripe requests the activities send, checked by stripe-mock against Stripe's OpenAPI spec", () => {
  it('are all accepted, on every path a payment can take', async () => {
    const paid = await harness.runOrder(sampleOrder());
    const namedCard = await harness.runOrder(sampleOrder({ paymentMethodId: 'pm_card_visa' }));
    const onSession = await harness.runOrder(sampleOrder({ onSession: true, returnUrl: 'https://shop.example.com/checkout/done' }));
    const declined = await harness.runOrder(sampleOrder({ customerId: 'cus_decline' }));
    const replayed500 = await harness.runOrder(sampleOrder({ customerId: 'cus_error_after_charge' }));
    // A refused idempotency key on the create: the run lists the customer's PaymentIntents, finds none, creates under the next key.
    harness.sandbox.stripe.failNext(2, { delayMs: 0 }); // the check for an earlier payment and the customer read pass
    harness.sandbox.stripe.failNext(1, {
      status: 400,
      body: {
        error: {
          type: 'idempotency_error',
          message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        },
      },
    });
    const listed = await harness.runOrder(sampleOrder({ customerId: 'cus_listed' }));
    // The legacy Charges API, still run for orders started before PaymentIntents.
    const stripe = new Stripe('sk_test_spec', stripeClientOptions());
    const { chargeCard, refundPayment, lookUpRefund } = stripeActivities(stripe, loadProviderConfig(harness.sandbox.env).payments);
    const legacy: ChargeResult = await new MockActivityEnvironment({
      workflowExecution: { workflowId: 'order-ord_spec_legacy', runId: 'spec' },
    }).run(chargeCard, {
      orderId: 'ord_spec_legacy',
      customerId: 'cus_abc',
      amount: 4999,
      currency: 'usd',
      email: 'customer@example.com',
    });

    // A partial refund of the paid order, as an operator's refund run makes it, then asked about as a pending one is.
    const refundRun = new MockActivityEnvironment({
      workflowExecution: { workflowId: `refund-order-${paid.orderId}-spec`, runId: 'spec' },
    });
    const refund: RefundOutcome = await refundRun.run(refundPayment, {
      orderId: paid.orderId,
      paymentIntentId: paid.paymentIntentId!,
      amount: 1000,
      reason: 'spec',
    });
    expect(await refundRun.run(lookUpRefund, { refundId: refund.refundId })).toMatchObject({ status: 'succeeded', amountRefunded: 1000 });

    expect([paid, namedCard, onSession, declined, replayed500, listed].map((result) => result.status)).toEqual([
      'paid',
      'paid',
      'paid',
      'payment_failed',
      'paid',
      'paid',
    ]);
    expect(legacy.outcome).toBe('succeeded');
    expect(endpointsCalled()).toEqual(
      new Set([
        'GET /v1/customers/cus_*',
        'POST /v1/payment_intents',
        'POST /v1/payment_intents/pi_*/confirm',
        'POST /v1/payment_intents/pi_*/cancel',
        'GET /v1/payment_intents/pi_*',
        'GET /v1/payment_intents',
        'GET /v1/payment_intents/search',
        'POST /v1/charges',
        'GET /v1/refunds',
        'POST /v1/refunds',
        'GET /v1/refunds/re_*',
        'GET /v1/charges/ch_*',
      ]),
    );
    expect(harness.sandbox.stripe.specViolations).toEqual([]);
    expect(harness.sandbox.stripe.specChecked).toBe(handledRequests().length);
  });
});

/** The worker's Stripe client options, pointed at the stand-in. */
function stripeClientOptions(): Stripe.StripeConfig {
  const url = new URL(harness.sandbox.env.STRIPE_API_URL);
  return { host: url.hostname, port: url.port, protocol: 'http', maxNetworkRetries: 0 };
}
