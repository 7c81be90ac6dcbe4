import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answersOk, freePort, stopProcess, type StartedProcess } from '../../dev/processes.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { stripeKeyedRequests } from '../support/sandbox-records.js';

let harness: Harness;
/** The workers that take over after a stopped one. */
const replacements: StartedProcess[] = [];

beforeAll(async () => {
  harness = await startHarness({ withoutWorker: true });
});
afterAll(async () => {
  await harness?.close();
});

/** The order's confirmations: the request that charges the card, under the key `order-<orderId>/charge`. */
const confirmations = (orderId: string) => stripeKeyedRequests(harness.sandbox, orderId, 'charge');

describe('SIGTERM to the worker', () => {
  it('lets the in-flight charge finish within the grace period, then exits 0; the run completes with one charge attempt', async () => {
    // cus_slow_2: Stripe charges at once and holds the answer for 2 s.
    const order = sampleOrder({ customerId: 'cus_slow_2' });
    const { child: worker } = await harness.startWorkerProcess({ SHUTDOWN_GRACE_SECONDS: '20' });
    const handle = await harness.startOrder(order);
    await expect.poll(() => confirmations(order.orderId).length, { timeout: 60_000, interval: 50 }).toBe(1);

    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    const [code] = await once(worker, 'exit');
    expect(code).toBe(0);
    expect(confirmations(order.orderId)[0]).toMatchObject({ status: 200 });
    expect(confirmations(order.orderId)[0].answeredAt).toBeGreaterThan(0);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);

    replacements.push(await harness.startWorkerProcess());
    expect(await handle.result()).toMatchObject({ status: 'paid' });
    expect(confirmations(order.orderId)).toHaveLength(1);
  });

  it('hands the activity back when the grace period runs out, without waiting for the request: another worker retries it with the same key, one charge', async () => {
    // cus_slow_12: Stripe charges at once and holds the answer for 12 s, far beyond the 1 s grace period.
    const order = sampleOrder({ customerId: 'cus_slow_12' });
    // Only the worker under test may take the charge.
    for (const { child } of replacements.splice(0)) await stopProcess(child, 30_000);
    const { child: worker } = await harness.startWorkerProcess({ SHUTDOWN_GRACE_SECONDS: '1' });
    const handle = await harness.startOrder(order);
    await expect.poll(() => confirmations(order.orderId).length, { timeout: 60_000, interval: 50 }).toBe(1);

    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    const [code] = await once(worker, 'exit');
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(confirmations(order.orderId)[0].answeredAt).toBe(0); // still held when the worker was gone

    replacements.push(await harness.startWorkerProcess());
    expect(await handle.result()).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    // The retry met the key in use (409) until the held request answered, then its stored answer.
    expect(confirmations(order.orderId).length).toBeGreaterThan(1);
    expect(confirmations(order.orderId).at(-1)).toMatchObject({ status: 200, replayed: true });
  });
});

describe('SIGTERM to the API', () => {
  it('finishes the request in flight, refuses new connections and exits 0', async () => {
    const port = await freePort();
    const { child: api } = await harness.startApiProcess({ TRIGGER_API_KEYS: 'ask_shutdown_key', PORT: String(port), HOST: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    await expect.poll(() => answersOk(`${base}/healthz`), { timeout: 30_000 }).toBe(true);

    // No worker polls this run, so its status query keeps the request in flight for a few seconds.
    for (const { child } of replacements) child.kill('SIGKILL');
    const order = sampleOrder();
    const handle = await harness.startOrder(order);
    const inFlight = fetch(`${base}/api/runs/${handle.workflowId}`, { headers: { authorization: 'Bearer ask_shutdown_key' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    api.kill('SIGTERM');

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('running');
    const [code] = await once(api, 'exit');
    expect(code).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await handle.terminate('test cleanup');
  });
});
