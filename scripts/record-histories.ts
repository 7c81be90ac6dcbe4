/**
 * Records the event histories that test/e2e/replay.test.ts replays: real runs on a real dev server with
 * the sandbox stand-ins, encrypted as in production (the development key). The fixtures are written
 * decoded, so replaying them needs no key and they hold nothing but the sample orders below. Run after
 * a deliberate, versioned change to the workflow's commands:
 *   npm run record-histories [-- <name> ...]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadCodecConfig } from '../src/config/codec.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../src/config/temporal.js';
import { loadProviderConfig } from '../src/config/worker-settings.js';
import { createDataConverter } from '../src/codec/data-converter.js';
import { DEV_CODEC_KEYS } from '../dev/codec-dev-key.js';
import { decodeHistory } from '../src/codec/history.js';
import { LocalStack } from '../dev/stack.js';
import { createOrderWorker } from '../src/worker/order-worker.js';
import { loadWorkerBuildId, makeCurrentVersion } from '../src/worker/deployment.js';
import type { Fault } from '../dev/sandbox/stand-in.js';
import { startOrderWorkflow } from '../src/api/start-order.js';
import type { OrderParams } from '../src/domain/order.js';

const FIXTURES = new URL('../test/fixtures/', import.meta.url);

interface Recording {
  params: OrderParams;
  runEnds: 'completed' | 'failed';
  /** Faults the Stripe stand-in meets, in request order, to drive the run down one path. */
  stripeFaults?: Array<[count: number, fault: Fault]>;
}

/**
 * The current version's recordings (earlier versions' fixtures stay as they were recorded): each
 * one's order and how its run must end.
 */
const RECORDINGS: Record<string, Recording> = {
  'order-paid-payment-intents': {
    params: { orderId: 'ord_replay_paid', customerId: 'cus_abc', amount: 4999, currency: 'usd', email: 'customer@example.com' },
    runEnds: 'completed',
  },
  'order-declined-payment-intents': {
    params: {
      orderId: 'ord_replay_declined',
      customerId: 'cus_decline_insufficient_funds',
      amount: 500,
      currency: 'jpy',
      email: 'customer@example.com',
    },
    runEnds: 'completed',
  },
  // The card needs its holder: the customer is asked by email and confirms 2 s later; with no webhook
  // here, the run learns it at its first question to Stripe (30 s).
  'order-paid-after-customer-action': {
    params: {
      orderId: 'ord_replay_sca',
      customerId: 'cus_authenticate_completes_2',
      amount: 1999,
      currency: 'gbp',
      email: 'customer@example.com',
    },
    runEnds: 'completed',
  },
  // The order backend refuses to record the paid order: the payment is refunded in full.
  'order-refunded-backend-refused': {
    params: { orderId: 'ord_refuse_paid_replay', customerId: 'cus_abc', amount: 4999, currency: 'usd', email: 'customer@example.com' },
    runEnds: 'completed',
  },
  // Stripe charges, answers 500 (replayed on retry), then cannot be reached for a while: the run asks,
  // records payment_pending, waits on a timer, asks again and records paid.
  'order-paid-after-waiting-payment-intents': {
    params: { orderId: 'ord_replay_waited', customerId: 'cus_abc', amount: 2500, currency: 'eur', email: 'customer@example.com' },
    runEnds: 'completed',
    stripeFaults: [
      [2, { delayMs: 0 }],
      [1, { statusAfterHandling: 500 }],
      [1, { delayMs: 0 }],
      [3, { status: 503 }],
    ],
  },
};

/** `npm run record-histories -- <name> ...` records only those; the default is all of them. */
const only = process.argv.slice(2);
Runtime.install({ logger: new DefaultLogger('WARN') });
const stack = new LocalStack();
try {
  const server = await stack.startTemporal();
  const sandbox = await stack.startSandbox();
  const temporal = { connection: { address: server.address }, namespace: DEFAULT_NAMESPACE, taskQueue: DEFAULT_TASK_QUEUE };
  const codec = loadCodecConfig({ TEMPORAL_CODEC_KEYS: DEV_CODEC_KEYS });
  const dataConverter = createDataConverter(codec);
  const buildId = loadWorkerBuildId();
  const { worker, connection: workerConnection } = await createOrderWorker({
    temporal,
    providers: loadProviderConfig(sandbox.env),
    codec,
    buildId,
  });
  stack.add(() => workerConnection.close());
  const connection = await Connection.connect({ address: server.address });
  stack.add(() => connection.close());
  const client = new Client({ connection, dataConverter });
  await worker.runUntil(async () => {
    await makeCurrentVersion(client, buildId);
    for (const [name, { params, runEnds, stripeFaults = [] }] of Object.entries(RECORDINGS)) {
      if (only.length > 0 && !only.includes(name)) continue;
      for (const [count, fault] of stripeFaults) sandbox.stripe.failNext(count, fault);
      const handle = await startOrderWorkflow(client, temporal.taskQueue, params);
      const ended = await handle.result().then(
        () => 'completed',
        () => 'failed',
      );
      if (ended !== runEnds) throw new Error(`The ${name} run ${ended}; it must have ${runEnds}`);
      const file = fileURLToPath(new URL(`${name}.history.json`, FIXTURES));
      writeFileSync(
        file,
        `${JSON.stringify(JSON.parse(historyToJSON(await decodeHistory(await handle.fetchHistory(), dataConverter.payloadCodecs ?? []))), null, 2)}\n`,
      );
      console.log(`Recorded ${file}`);
    }
  });
} finally {
  await stack.stopAll();
}
