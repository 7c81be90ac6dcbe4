import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { requestsNaming } from '../support/sandbox-records.js';
import { statusQuery } from '../../src/workflows/names.js';

let harness: Harness;
beforeAll(async () => {
  // The worker starts inside the first test, after its cancel request is queued.
  harness = await startHarness({ withoutWorker: true });
});
afterAll(async () => harness?.close());

const chargeRequests = (orderId: string) => requestsNaming(harness.sandbox.stripe, orderId);

describe('cancelling an order', () => {
  it('before the charge: nothing is charged, the order is marked cancelled, the run ends cancelled', async () => {
    const order = sampleOrder();
    const handle = await harness.startOrder(order);
    await handle.cancel();
    await harness.startWorker();

    const failure = await handle.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await handle.query(statusQuery)).toMatchObject({ step: 'cancelled', status: 'cancelled', cancellation: 'honoured' });
    expect(chargeRequests(order.orderId)).toHaveLength(0);
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'cancelled' });
    expect(requestsNaming(harness.sandbox.resend, order.orderId)).toHaveLength(0);
  });

  it('once the charge is in flight: the run finishes and records the true payment outcome', async () => {
    harness.sandbox.stripe.failNext(3, { delayMs: 0 }); // the check for an earlier payment, the customer read and the create pass
    harness.sandbox.stripe.failNext(1, { delayMs: 1_500 });
    const order = sampleOrder();
    const handle = await harness.startOrder(order);
    await expect.poll(() => chargeRequests(order.orderId).length, { timeout: 15_000, interval: 50 }).toBe(1);
    await handle.cancel();

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'paid', receipt: 'sent' });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await handle.query(statusQuery)).toMatchObject({ step: 'completed', cancellation: 'too-late' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'paid', chargeId: result.chargeId });
  });
});
