import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { sampleOrder, startHarness, type Harness } from './support/harness.js';
import { startStripeMock, type StripeMock } from './support/stripe-mock.js';

let stripeMock: StripeMock;
let harness: Harness;

beforeAll(async () => {
  stripeMock = await startStripeMock();
  harness = await startHarness({ env: { STRIPE_API_URL: stripeMock.url } });
});
afterAll(async () => {
  await harness?.close();
  stripeMock?.stop();
});

describe('the Charge Card request, checked by stripe-mock against Stripe\'s OpenAPI spec', () => {
  it('is accepted and its answer parsed into a paid order', async () => {
    const result = await harness.runOrder(sampleOrder());
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent' });
    expect(result.chargeId).toMatch(/^ch_/);
  });

  it('would be refused if it broke the spec (stripe-mock validates parameters)', async () => {
    const url = new URL(stripeMock.url);
    const stripe = new Stripe('sk_test_123', { host: url.hostname, port: url.port, protocol: 'http', maxNetworkRetries: 0 });
    await expect(
      stripe.charges.create({ amount: 'forty' as unknown as number, currency: 'usd', customer: 'cus_abc' }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});
