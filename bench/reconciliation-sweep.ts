/**
 * `npm run bench:sweep`: the reconciliation sweep over a day of a busy merchant. The Stripe stand-in is
 * filled with N paid PaymentIntents through the Stripe SDK (each with its payment_intent.succeeded
 * event), 1% of them refunded and 0.1% disputed; then the sweep's activity runs once, as a worker runs
 * it (the project's Stripe client, a Temporal client on a dev server for the visibility queries of every
 * order), and the figures are printed: how long it took against its 15 min limit, and the requests it sent.
 *
 *   npm run bench:sweep -- [--payments 100000] [--concurrency 32]
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import Stripe from 'stripe';
import { LocalStack } from '../dev/stack.js';
import { createProviderClients } from '../src/activities/clients.js';
import { stripeActivities } from '../src/activities/stripe-activities.js';
import { loadProviderConfig } from '../src/config/worker-settings.js';
import type { OutcomeMismatch, SweepInput } from '../src/domain/reconciliation.js';
import { RECONCILIATION_SWEEP_OPTIONS } from '../src/workflows/activity-options.js';

const { values } = parseArgs({
  options: { payments: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '32' } },
});
const payments = Number(values.payments);
const concurrency = Number(values.concurrency);
const WINDOW_MS = 25 * 60 * 60 * 1000;

const stack = new LocalStack();

/** Runs `task(index)` for 0..count-1, `concurrency` at a time. */
async function inParallel(count: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = next++; index < count; index = next++) await task(index);
    }),
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

try {
  const sandbox = await stack.startSandbox();
  const stripeStandIn = sandbox.stripe;
  const stripeUrl = sandbox.env.STRIPE_API_URL;
  const temporal = await stack.startTemporal();
  const config = loadProviderConfig(sandbox.env);
  const { findOutcomeMismatches } = stripeActivities(createProviderClients(config).stripe, config.payments);
  const seeder = new Stripe(sandbox.env.STRIPE_SECRET_KEY, {
    protocol: 'http',
    host: '127.0.0.1',
    port: new URL(stripeUrl).port,
    maxNetworkRetries: 2,
  });

  const seedStart = Date.now();
  const chargeIds: string[] = [];
  await inParallel(payments, async (index) => {
    const intent = await seeder.paymentIntents.create({
      amount: 1000 + (index % 9000),
      currency: 'usd',
      customer: `cus_bench_${index % 5000}`,
      payment_method: 'pm_card_visa',
      confirm: true,
      off_session: true,
      metadata: { order_id: `ord_bench_${index}` },
    });
    chargeIds[index] = intent.latest_charge as string;
  });
  await inParallel(Math.floor(payments / 100), async (index) => {
    await seeder.refunds.create({ charge: chargeIds[index * 100] });
  });
  const disputes = Math.floor(payments / 1000);
  for (let index = 0; index < disputes; index += 1) stripeStandIn.openDispute(chargeIds[index * 1000 + 1]);
  const seedMs = Date.now() - seedStart;

  const connection = await Connection.connect({ address: temporal.address });
  stack.add(() => connection.close());
  const environment = new MockActivityEnvironment(undefined, { client: new Client({ connection }) });
  const requestsBefore = stripeStandIn.requests.length;
  const rssBefore = process.memoryUsage().rss;
  const sweepStart = Date.now();
  const mismatches = await environment.run<[SweepInput], OutcomeMismatch[], typeof findOutcomeMismatches>(findOutcomeMismatches, {
    windowMs: WINDOW_MS,
  });
  const sweepMs = Date.now() - sweepStart;

  const sweepRequests = stripeStandIn.requests.slice(requestsBefore);
  const byPath = new Map<string, number>();
  for (const { path } of sweepRequests) {
    const pathname = new URL(path, stripeUrl).pathname;
    byPath.set(pathname, (byPath.get(pathname) ?? 0) + 1);
  }
  const answerMs = sweepRequests.map(({ receivedAt, answeredAt }) => answeredAt - receivedAt).sort((a, b) => a - b);
  console.log(`The reconciliation sweep over ${payments} PaymentIntents (${stripeStandIn.events.length} events)`);
  console.log(`  seeded through the SDK:   ${seconds(seedMs)} (${payments / 100} refunds, ${disputes} disputes)`);
  console.log(`  findOutcomeMismatches:    ${seconds(sweepMs)} (limit ${String(RECONCILIATION_SWEEP_OPTIONS.startToCloseTimeout)})`);
  console.log(`  Stripe requests:          ${[...byPath].map(([path, count]) => `${path} ${count}`).join(', ')}`);
  console.log(
    `  stand-in answer, ms:      p50 ${answerMs[Math.floor(answerMs.length / 2)]}, p99 ${answerMs[Math.floor(answerMs.length * 0.99)]}, max ${answerMs.at(-1)}`,
  );
  console.log(`  mismatches (no order has a run here): ${mismatches.length}`);
  console.log(
    `  bench process RSS:        ${Math.round(rssBefore / 2 ** 20)} MB before the sweep, ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB after`,
  );
} finally {
  await stack.stopAll();
}
