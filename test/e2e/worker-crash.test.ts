import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { startProjectProcess } from '../../dev/project-process.js';

let harness: Harness;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  harness = await startHarness({ withoutWorker: true });
});
afterAll(async () => {
  for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
  await harness?.close();
});

/** `npm run worker` as its own process. */
function startWorkerProcess(): ChildProcess {
  const worker = startProjectProcess('worker', {
    ...harness.sandbox.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: harness.temporal.taskQueue,
    LOG_LEVEL: 'error',
  });
  workers.push(worker);
  return worker;
}

describe('a worker killed while the charge is in flight', () => {
  it('completes the run after a restart with exactly one successful charge', async () => {
    // Stripe confirms the PaymentIntent (the charge) but holds its answer: the worker dies not knowing the outcome.
    harness.sandbox.stripe.failNext(2, { delayMs: 0 }); // the customer read and the create pass
    harness.sandbox.stripe.failNext(1, { delayMs: 120_000 });
    const order = sampleOrder();
    const chargeRequests = () =>
      harness.sandbox.stripe.requests.filter((request) => request.headers['idempotency-key'] === `order-${order.orderId}/charge`);

    const first = startWorkerProcess();
    const handle = await harness.startOrder(order);
    await expect.poll(() => chargeRequests().length, { timeout: 60_000, interval: 100 }).toBe(1);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);

    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(first.signalCode).toBe('SIGKILL');

    const second = startWorkerProcess();
    const result = await handle.result();
    second.kill('SIGTERM');
    await once(second, 'exit');

    const [charge] = harness.sandbox.stripe.successfulCharges(order.orderId);
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    expect(result).toMatchObject({ status: 'paid', chargeId: charge!.id, receipt: 'sent' });
    // The retry after the confirmation's timeout sent the same key and got Stripe's stored answer back.
    expect(chargeRequests()).toHaveLength(2);
    expect(chargeRequests()[1]!.replayed).toBe(true);
    expect(harness.sandbox.resend.emails.filter((email) => email.subject.includes(order.orderId))).toHaveLength(1);
    expect(harness.sandbox.backend.orders.get(order.orderId)).toMatchObject({ status: 'paid', chargeId: charge!.id });
  });
});
