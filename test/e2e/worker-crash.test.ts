import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { stripeKeyedRequests } from '../support/sandbox-records.js';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ withoutWorker: true });
});
afterAll(async () => {
  await harness?.close();
});

describe('a worker killed while the charge is in flight', () => {
  it('completes the run after a restart with exactly one successful charge', async () => {
    // Stripe confirms the PaymentIntent (the charge) but holds its answer: the worker dies not knowing the outcome.
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer read and the create pass
    harness.sandbox.stripe.failNext(1, { delayMs: 120_000 });
    const order = sampleOrder();
    const chargeRequests = () => stripeKeyedRequests(harness.sandbox, order.orderId, 'charge');

    const { child: first } = await harness.startWorkerProcess();
    const handle = await harness.startOrder(order);
    await expect.poll(() => chargeRequests().length, { timeout: 60_000, interval: 100 }).toBe(1);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);

    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(first.signalCode).toBe('SIGKILL');

    const { child: second } = await harness.startWorkerProcess();
    const result = await handle.result();
    second.kill('SIGTERM');
    await once(second, 'exit');

    const [charge] = harness.sandbox.stripe.successfulCharges(order.orderId);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(result).toMatchObject({ status: 'paid', chargeId: charge.id, receipt: 'sent' });
    // The retry after the confirmation's timeout sent the same key and got Stripe's stored answer back.
    expect(chargeRequests()).toHaveLength(2);
    expect(chargeRequests()[1].replayed).toBe(true);
    expect(harness.sandbox.resend.emails.filter((email) => email.subject.includes(order.orderId))).toHaveLength(1);
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'paid', chargeId: charge.id });
  });
});
