/**
 * `npm run faults`: a few hundred orders through the real stack (Temporal dev server on a SQLite file,
 * the worker and the API as processes, the sandbox stand-ins) while the worker is SIGKILLed and
 * restarted, the Temporal server is stopped and restarted on the same database, and the stand-ins
 * answer 500s, 429s, slow responses and dropped connections (before or after doing the work) at
 * random. Stripe also fails as real Stripe does: a 500 after it charged, stored under the idempotency
 * key and replayed to every retry, and answers lost after it charged. Then it checks that nothing was
 * lost or charged twice and that every order's recorded status matches Stripe's record, prints the
 * figures, and exits 1 on any violation, naming the orders.
 *
 * Customers whose card needs them (SCA) confirm a few seconds later, some orders' backend refuses to
 * record them paid (they must be refunded; Stripe settles a third of those refunds later and fails a
 * third), some customers' idempotency keys are burnt by Stripe (a stored 500, nothing done), the
 * backend's token is rotated until a few orders met it (401: a misconfiguration, never a refusal; the
 * alerts it sets off meet Slack's rate limit), and Stripe's webhooks reach the API on time, late, twice,
 * out of order or not at all. Once every order is final,
 * some paid orders are sent again after their run was deleted and Stripe forgot their keys (25 h on its
 * clock): they must not be charged twice.
 *
 *   npm run faults -- [--orders 300] [--seed 1] [--kills 4] [--fault-rate 0.08] [--decline-share 0.15]
 *                     [--authenticate-share 0.1] [--refuse-paid-share 0.05] [--burnt-key-share 0.05] [--processing-share 0.03]
 *                     [--misconfigured-seconds 8] [--resend 10]
 *                     [--concurrency 10] [--trigger-seconds 30] [--deadline-seconds 300]
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { STRIPE_WEBHOOK_PATH, TRIGGER_PATH } from '../src/api/app.js';
import { answersOk, API, freePort, waitUntil, WORKER, type StartedProcess } from '../dev/processes.js';
import { LocalStack } from '../dev/stack.js';
import type { DevServer } from '../dev/temporal-server.js';
import type { Sandbox } from '../dev/sandbox/index.js';
import { DEFAULT_TASK_QUEUE } from '../src/config/temporal.js';
import { workflowIdForOrder } from '../src/workflows/names.js';
import type { Fault, RecordedRequest, StandIn } from '../dev/sandbox/stand-in.js';
import type { StripeStandIn } from '../dev/sandbox/stripe.js';
import { DEV_CODEC_KEYS } from '../dev/codec-dev-key.js';
import { checkInvariants, faultOrderBody, mentionsOrder, REFUND_FAILED_ALERT, type OrderPlan } from './invariants.js';
import { seededRandom } from './random.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '300' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    kills: { type: 'string', default: '4' },
    'fault-rate': { type: 'string', default: '0.08' },
    'decline-share': { type: 'string', default: '0.15' },
    'authenticate-share': { type: 'string', default: '0.1' },
    'refuse-paid-share': { type: 'string', default: '0.05' },
    'burnt-key-share': { type: 'string', default: '0.05' },
    'processing-share': { type: 'string', default: '0.03' },
    'misconfigured-seconds': { type: 'string', default: '8' },
    resend: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '10' },
    'trigger-seconds': { type: 'string', default: '30' },
    'deadline-seconds': { type: 'string', default: '300' },
  },
});
const ORDERS = Number(args.orders);
const SEED = Number(args.seed);
const KILLS = Number(args.kills);
const FAULT_RATE = Number(args['fault-rate']);
const DECLINE_SHARE = Number(args['decline-share']);
const AUTHENTICATE_SHARE = Number(args['authenticate-share']);
const REFUSE_PAID_SHARE = Number(args['refuse-paid-share']);
const BURNT_KEY_SHARE = Number(args['burnt-key-share']);
const PROCESSING_SHARE = Number(args['processing-share']);
const MISCONFIGURED_MS = Number(args['misconfigured-seconds']) * 1000;
const RESENT_ORDERS = Number(args.resend);
/** Refunded orders re-sent beside the paid ones, when the run has them. */
const RESENT_REFUNDED_ORDERS = 2;
/**
 * The first orders take each mode once whatever the seed, so every run meets them all: refused and refunded at once (the
 * refunded orders re-sent later), refused with a refund Stripe settles later or fails, and the customers' modes.
 */
const FIRST_ORDERS: Pick<FaultPlan, 'customerId' | 'backendRefusesPaid'>[] = [
  ...Array.from({ length: RESENT_REFUNDED_ORDERS }, () => ({ customerId: 'cus_fault', backendRefusesPaid: true })),
  { customerId: 'cus_refund_pending_2', backendRefusesPaid: true },
  { customerId: 'cus_refund_fails_2', backendRefusesPaid: true },
  { customerId: 'cus_burns_keys', backendRefusesPaid: false },
  { customerId: 'cus_processing_2', backendRefusesPaid: false },
  { customerId: 'cus_authenticate_completes_3', backendRefusesPaid: false },
  { customerId: 'cus_decline', backendRefusesPaid: false },
];
const BACKEND_TOKEN = 'fault_suite_backend_token';
/** Past Stripe's 24 h idempotency-key memory and its search lag. */
const KEYS_FORGOTTEN_MS = 25 * 60 * 60 * 1000;
const WEBHOOK_SECRET = 'whsec_fault_suite';
const CONCURRENCY = Number(args.concurrency);
const TRIGGER_MS = Number(args['trigger-seconds']) * 1000;
const DEADLINE_MS = Number(args['deadline-seconds']) * 1000;
const API_KEY = 'ask_fault_suite_key';

const random = seededRandom(SEED);
const dataDir = mkdtempSync(join(tmpdir(), 'order-faults-'));
const counters = {
  workerKills: 0,
  serverRestarts: 0,
  unexpectedWorkerExits: 0,
  triggerRetries: 0,
  misconfiguredMs: 0,
  longestRunDeletionMs: 0,
};
/** When each worker SIGKILL landed (ms since the epoch). */
const killedAt: number[] = [];
const stack = new LocalStack(log);
let server: DevServer | undefined;
let sandbox: Sandbox | undefined;
let worker: StartedProcess | undefined;
let chaosRunning = true;

function log(message: string): void {
  console.log(`[faults +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}`);
}

const startedAt = Date.now();

function startWorker(env: Record<string, string>): void {
  const started = stack.startProcess(WORKER, env, (line) => /ERROR|error/.test(line) && console.log(`[worker] ${line}`));
  stack.onUnexpectedExit(started, (how) => {
    if (worker !== started || how === 'SIGKILL' || !chaosRunning) return;
    counters.unexpectedWorkerExits += 1;
    log(`worker exited unexpectedly (${how}); restarting`);
    startWorker(env);
  });
  worker = started;
}

async function killAndRestartWorker(env: Record<string, string>): Promise<void> {
  const victim = worker!.child;
  victim.kill('SIGKILL');
  killedAt.push(Date.now());
  await once(victim, 'exit');
  counters.workerKills += 1;
  log(`worker SIGKILLed (kill ${counters.workerKills}/${KILLS})`);
  await sleep(random() * 1_000);
  startWorker(env);
}

async function restartTemporal(port: number, dbFilename: string): Promise<void> {
  log('stopping the Temporal dev server');
  await server!.stop();
  await sleep(1_000 + random() * 2_000);
  server = await stack.startTemporal({ port, dbFilename });
  counters.serverRestarts += 1;
  log('Temporal dev server restarted on the same database file');
}

/** An order of the run: who pays, and how it should end. */
interface FaultPlan extends OrderPlan {
  customerId: string;
}

/** Triggers one order like a well-behaved client: retries 5xx and network errors with backoff; resolves when accepted. */
async function trigger(apiUrl: string, plan: FaultPlan): Promise<{ at: number; status: number } | undefined> {
  const body = faultOrderBody(plan.orderId, plan.customerId, random);
  const deadline = Date.now() + 120_000;
  for (let delay = 250; Date.now() < deadline; delay = Math.min(delay * 2, 5_000)) {
    const status = await fetch(`${apiUrl}${TRIGGER_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body,
    }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 201 || status === 200) return { at: Date.now(), status };
    if (status !== 0 && status < 500) throw new Error(`order ${plan.orderId} was refused with HTTP ${status}`);
    counters.triggerRetries += 1;
    await sleep(delay);
  }
  return undefined;
}

function designFigures(plans: FaultPlan[]): string {
  const count = (prefix: string) => plans.filter((plan) => plan.customerId.startsWith(prefix)).length;
  const refused = plans.filter((plan) => plan.backendRefusesPaid);
  const refunds = `${refused.filter((plan) => plan.customerId.startsWith('cus_refund_pending')).length} / ${refused.filter((plan) => plan.refundFails).length}`;
  return `${plans.filter((plan) => plan.declines).length} / ${count('cus_authenticate')} / ${count('cus_burns_keys')} / ${count('cus_processing')}; ${refused.length} (${refunds})`;
}

/** Keys Stripe burnt (a stored 500 that did nothing) and the requests sent again under a later generation. */
function burntKeyFigures(stripe: StripeStandIn): string {
  const key = (request: RecordedRequest) => {
    const value = request.headers['idempotency-key'];
    return typeof value === 'string' ? value : '';
  };
  const burnt = new Set(stripe.requests.filter((request) => request.status === 500 && request.replayed).map(key));
  const later = new Set(stripe.requests.filter((request) => /\/[23]$/.test(key(request))).map(key));
  return `${burnt.size} / ${later.size}`;
}

function refundStatusFigures(stripe: StripeStandIn): string {
  const count = (status: string) => stripe.refunds.filter((refund) => refund.status === status).length;
  return `${stripe.refunds.length} (${count('succeeded')} / ${count('pending')} / ${count('failed')})`;
}

function webhookFigures(stripe: StripeStandIn): string {
  const deliveredEvents = new Set(stripe.webhookDeliveries.map((delivery) => delivery.eventId));
  const firstAttempts = stripe.webhookDeliveries.filter((delivery) => delivery.attempt === 1).length;
  const lost = stripe.events.filter((event) => !deliveredEvents.has(event.id)).length;
  return `${stripe.events.length} / ${firstAttempts} / ${lost}`;
}

function paymentIntentFigures(stripe: StripeStandIn): string {
  const count = (status: string) => stripe.paymentIntents.filter((intent) => intent.status === status).length;
  return `${count('succeeded')} / ${count('canceled')} / ${stripe.paymentIntents.length - count('succeeded') - count('canceled')}`;
}

function stripeFailureFigures(stripe: StripeStandIn): string {
  const faulted = (kind: string) => stripe.requests.filter((request) => request.fault !== undefined && kind in request.fault).length;
  const replayed5xx = stripe.requests.filter((request) => request.status >= 500 && request.replayed).length;
  return `${faulted('statusAfterHandling')} / ${replayed5xx} / ${faulted('dropAfterHandling')}`;
}

function stripeQuestionFigures(stripe: StripeStandIn): string {
  const asked = stripe.requests.filter(
    (request) =>
      request.method === 'GET' && request.path.startsWith('/v1/payment_intents') && !request.path.startsWith('/v1/payment_intents/search'),
  ).length;
  const cancels = stripe.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/cancel')).length;
  return `${asked} / ${cancels}`;
}

function ordersThatWaited(sandbox: Sandbox, plans: OrderPlan[]): number {
  const waited = new Set(
    sandbox.backend.requests.filter((request) => request.body.includes('"payment_pending"')).map((request) => request.path),
  );
  return plans.filter(({ orderId }) => waited.has(`/orders/${orderId}`)).length;
}

/** A backlog can hold PATCHes back for seconds: the 401 window lasts until this many orders met it, within the longest window. */
const MISCONFIGURED_MIN_ORDERS = 5;
const MISCONFIGURED_LONGEST_MS = 60_000;

/**
 * The backend's token rotated under the worker for at least `ms`: every PATCH meanwhile answers 401 (a
 * misconfiguration: retried on the run's durable backoff, ops told, never a refund).
 */
async function rotateBackendToken(backend: Sandbox['backend'], ms: number): Promise<void> {
  log(`order backend token rotated: PATCHes answer 401 for ${ms / 1000} s, and until ${MISCONFIGURED_MIN_ORDERS} orders met it`);
  const rotatedAt = Date.now();
  const ordersMet = () =>
    new Set(backend.requests.filter((request) => request.status === 401 && request.receivedAt >= rotatedAt).map((request) => request.path))
      .size;
  backend.token = 'rotated_token_the_worker_does_not_have';
  await sleep(ms);
  await waitUntil(() => ordersMet() >= MISCONFIGURED_MIN_ORDERS, {
    timeoutMs: MISCONFIGURED_LONGEST_MS - ms,
    intervalMs: 100,
    what: `${MISCONFIGURED_MIN_ORDERS} orders to meet the rotated token`,
  }).catch(() => undefined);
  backend.token = BACKEND_TOKEN;
  counters.misconfiguredMs += Date.now() - rotatedAt;
  log(`order backend token restored (${ordersMet()} orders met it)`);
}

/** Orders whose status PATCH met the rotated token. */
function ordersMisconfigured(sandbox: Sandbox, plans: OrderPlan[]): OrderPlan[] {
  const met = new Set(sandbox.backend.requests.filter((request) => request.status === 401).map((request) => request.path));
  return plans.filter(({ orderId }) => met.has(`/orders/${orderId}`));
}

/**
 * Orders whose run saw the 401 (not a worker killed before its answer arrived, whose retry met the
 * token restored): it waited on the durable backoff, so its next PATCH came at least this long after.
 */
const SEEN_MISCONFIGURATION_GAP_MS = 50_000;
/** A worker killed while its request was in flight, or this soon after the answer, may never have reported it: its run never saw it. */
const ANSWER_LOST_WITH_WORKER_MS = 2_000;

function answerLostWithWorker({ receivedAt, answeredAt }: { receivedAt: number; answeredAt: number }): boolean {
  return killedAt.some((at) => at >= receivedAt && at <= answeredAt + ANSWER_LOST_WITH_WORKER_MS);
}

function ordersThatWaitedOnMisconfiguration(sandbox: Sandbox, plans: OrderPlan[]): OrderPlan[] {
  return plans.filter(({ orderId }) => {
    const patches = sandbox.backend.requests.filter((request) => request.path === `/orders/${orderId}`);
    return patches.some(
      (request, index) =>
        request.status === 401 &&
        !answerLostWithWorker(request) &&
        (patches[index + 1]?.receivedAt ?? Infinity) - request.answeredAt >= SEEN_MISCONFIGURATION_GAP_MS,
    );
  });
}

/** Temporal deletes a run on its own time (a history task): usually within 50 ms, once more than 30 s; asked again meanwhile. */
const RUN_DELETION_LONGEST_MS = 120_000;
const RUN_DELETION_ASKED_AGAIN_MS = 15_000;

/**
 * Sends paid and refunded orders again after their run is gone (deleted, as retention does) and Stripe has
 * forgotten their keys: each starts a new run (201), which must find the earlier payment instead of charging.
 * Resolves with the orders whose new run did not complete.
 */
async function resendAfterRunGone(apiUrl: string, temporalAddress: string, plans: FaultPlan[]): Promise<string[]> {
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  try {
    for (const { orderId } of plans) {
      const workflowId = workflowIdForOrder(orderId);
      const handle = client.workflow.getHandle(workflowId);
      const deletedAfter = Date.now();
      let askedAt = 0;
      await waitUntil(
        async () => {
          if (Date.now() - askedAt >= RUN_DELETION_ASKED_AGAIN_MS) {
            askedAt = Date.now();
            // Not found: deleted since the last look, which the look below tells.
            await connection.workflowService
              .deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId } })
              .catch((error: { code?: number }) => {
                if (error.code !== GrpcStatus.NOT_FOUND) throw error;
              });
          }
          return handle.describe().then(
            () => false,
            (error: unknown) => error instanceof WorkflowNotFoundError,
          );
        },
        { timeoutMs: RUN_DELETION_LONGEST_MS, what: `the run of ${orderId} to be deleted` },
      ).catch(async (error: Error) => {
        const { status, raw } = await handle.describe();
        throw new Error(`${error.message}: it is ${status.name}, ${raw.pendingActivities?.length ?? 0} activities pending`);
      });
      counters.longestRunDeletionMs = Math.max(counters.longestRunDeletionMs, Date.now() - deletedAfter);
    }
    sandbox!.stripe.advanceClock(KEYS_FORGOTTEN_MS);
    log(`${plans.length} paid or refunded orders' runs deleted and Stripe's clock moved 25 h on: sending them again`);
    for (const plan of plans) {
      const accepted = await trigger(apiUrl, plan);
      if (accepted?.status !== 201) throw new Error(`re-sent order ${plan.orderId} was answered ${accepted?.status ?? 'never'}, not 201`);
    }
    const unfinished: string[] = [];
    for (const { orderId } of plans) {
      const done = await waitUntil(
        async () => (await client.workflow.getHandle(workflowIdForOrder(orderId)).describe()).status.name === 'COMPLETED',
        { timeoutMs: 60_000, what: `the new run of ${orderId} to complete` },
      ).then(
        () => true,
        () => false,
      );
      if (!done) unfinished.push(orderId);
    }
    return unfinished;
  } finally {
    await connection.close();
  }
}

function refundFailureTold(sandbox: Sandbox, orderId: string): boolean {
  return sandbox.slack.messages.some((message) => mentionsOrder(message.text, orderId) && message.text.includes(REFUND_FAILED_ALERT));
}

function isFinal(status: string | undefined): boolean {
  return status !== undefined && status !== 'payment_pending';
}

function percentile(sorted: number[], share: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

async function main(): Promise<number> {
  log(
    `seed ${SEED}: ${ORDERS} orders, ${KILLS} worker kills, 1 Temporal restart, fault rate ${FAULT_RATE}, decline share ${DECLINE_SHARE}`,
  );
  const port = await freePort();
  const dbFilename = join(dataDir, 'temporal.sqlite');
  server = await stack.startTemporal({ port, dbFilename });
  log(`Temporal dev server at ${server.address} (${server.route})`);
  sandbox = await stack.startSandbox();
  const faults: Fault[] = [{ status: 500 }, { status: 429 }, { drop: true }, { dropAfterHandling: true }, { delayMs: 1_500 }];
  sandbox.stripe.setRandomFaults({ rate: FAULT_RATE, faults: [...faults, { statusAfterHandling: 500 }], random });
  for (const standIn of [sandbox.resend, sandbox.slack]) standIn.setRandomFaults({ rate: FAULT_RATE, faults, random });
  sandbox.backend.setRandomFaults({ rate: FAULT_RATE, faults: [{ status: 503 }, ...faults], random });

  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const common = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
    TEMPORAL_CODEC_KEYS: DEV_CODEC_KEYS,
    LOG_LEVEL: 'error',
    // Scrape ports of their own, so a fault run never collides with a local stack.
    WORKER_METRICS_PORT: String(await freePort()),
    API_METRICS_PORT: String(await freePort()),
  };
  sandbox.backend.token = BACKEND_TOKEN;
  const workerEnv = { ...common, ...sandbox.env, API_TOKEN: BACKEND_TOKEN };
  startWorker(workerEnv);
  const api = stack.startProcess(API, {
    ...common,
    TRIGGER_API_KEYS: API_KEY,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  sandbox.stripe.sendWebhooksTo(`${apiUrl}${STRIPE_WEBHOOK_PATH}`, WEBHOOK_SECRET);
  sandbox.stripe.setRandomWebhookDelivery({ random, modes: ['on_time', 'on_time', 'late', 'twice', 'out_of_order', 'missing'] });
  await waitUntil(() => answersOk(`${apiUrl}/readyz`), {
    timeoutMs: 60_000,
    what: `the API to be ready at ${apiUrl}/readyz`,
    process: api,
  });

  const plans: FaultPlan[] = Array.from({ length: ORDERS }, (_, index) => {
    const roll = random();
    const payerRoll = random();
    const payer =
      payerRoll < BURNT_KEY_SHARE ? 'cus_burns_keys' : payerRoll < BURNT_KEY_SHARE + PROCESSING_SHARE ? 'cus_processing_2' : 'cus_fault';
    // A refused order's refund: a third settle at once, a third Stripe settles 2 s later, a third it fails 2 s later.
    const refund = random();
    const refunding = refund < 1 / 3 ? 'cus_refund_pending_2' : refund < 2 / 3 ? 'cus_refund_fails_2' : payer;
    const refused = random() < REFUSE_PAID_SHARE;
    const { customerId, backendRefusesPaid } = FIRST_ORDERS[index] ?? {
      customerId:
        roll < DECLINE_SHARE
          ? 'cus_decline'
          : roll < DECLINE_SHARE + AUTHENTICATE_SHARE
            ? 'cus_authenticate_completes_3'
            : refused
              ? refunding
              : payer,
      backendRefusesPaid: refused,
    };
    return {
      orderId: `${backendRefusesPaid ? 'ord_refuse_paid' : 'ord_fault'}_${SEED}_${index}`,
      customerId,
      declines: customerId === 'cus_decline',
      backendRefusesPaid,
      refundFails: customerId === 'cus_refund_fails_2',
    };
  });

  // Chaos during the trigger phase: worker kills spread over it, one Temporal restart in the middle, and
  // the backend's token rotated beside them.
  let misconfiguredWindow: Promise<void> | undefined;
  const chaos = (async () => {
    const events: Array<[number, () => Promise<void>]> = [
      ...Array.from({ length: KILLS }, (_, k): [number, () => Promise<void>] => [
        ((k + 1) / (KILLS + 1) + (random() - 0.5) * 0.1) * TRIGGER_MS,
        () => killAndRestartWorker(workerEnv),
      ]),
      [TRIGGER_MS * 0.45, () => restartTemporal(port, dbFilename)],
      ...(MISCONFIGURED_MS > 0
        ? [
            [
              TRIGGER_MS * 0.6,
              async () => {
                misconfiguredWindow = rotateBackendToken(sandbox!.backend, MISCONFIGURED_MS);
              },
            ] as [number, () => Promise<void>],
          ]
        : []),
    ];
    events.sort(([a], [b]) => a - b);
    const chaosStart = Date.now();
    for (const [at, act] of events) {
      await sleep(Math.max(0, at - (Date.now() - chaosStart)));
      await act();
    }
  })();

  const acceptedAt = new Map<string, number>();
  const interval = TRIGGER_MS / ORDERS;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < plans.length) {
        const plan = plans[next];
        next += 1;
        const sendAt = startedTriggers + next * interval;
        await sleep(Math.max(0, sendAt - Date.now()));
        const accepted = await trigger(apiUrl, plan);
        if (accepted !== undefined) acceptedAt.set(plan.orderId, accepted.at);
      }
    }),
  );
  await chaos;
  await misconfiguredWindow;
  log(`all orders triggered (${acceptedAt.size}/${ORDERS} accepted); waiting for every order to reach a final status`);

  let lastReport = 0;
  const allFinal = () => {
    // payment_pending is recorded on the way, while the run still waits for Stripe or the customer. A
    // refused order whose refund Stripe failed is never recorded: its run ends telling ops.
    const done = plans.filter(
      ({ orderId, refundFails }) =>
        isFinal(sandbox!.backend.orders.get(orderId)?.status) || (refundFails && refundFailureTold(sandbox!, orderId)),
    ).length;
    if (done < plans.length && Date.now() - lastReport > 10_000) {
      log(`${done}/${plans.length} orders final`);
      lastReport = Date.now();
    }
    return done === plans.length;
  };
  // Orders still open at the deadline are reported below as violations.
  await waitUntil(allFinal, { timeoutMs: DEADLINE_MS, what: 'every order to be final', intervalMs: 500 }).catch(() => undefined);
  chaosRunning = false;

  const paidOrders = plans.filter(
    ({ orderId, backendRefusesPaid }) => !backendRefusesPaid && sandbox!.backend.orders.get(orderId)?.status === 'paid',
  );
  // Refunded orders too: a re-sent order is recorded as Stripe holds its earlier payment now, never `paid` again.
  const refundedOrders = plans.filter(
    ({ orderId, backendRefusesPaid }) => backendRefusesPaid && sandbox!.backend.orders.get(orderId)?.status === 'refunded',
  );
  const resent = [...paidOrders.slice(0, RESENT_ORDERS), ...refundedOrders.slice(0, RESENT_REFUNDED_ORDERS)];
  const searchesBefore = sandbox.stripe.requests.filter((request) => request.path.startsWith('/v1/payment_intents/search')).length;
  const resentUnfinished = resent.length > 0 ? await resendAfterRunGone(apiUrl, server.address, resent) : [];

  const report = checkInvariants(sandbox, plans);
  if (resentUnfinished.length > 0)
    report.violations.push({ rule: 're-sent order whose new run did not complete', orderIds: resentUnfinished });
  const misconfigured = ordersMisconfigured(sandbox, plans);
  const misconfigurationAlerted = (orderId: string) =>
    sandbox!.slack.messages.some((message) => mentionsOrder(message.text, orderId) && message.text.includes('not a refusal'));
  const misconfigurationUntold = ordersThatWaitedOnMisconfiguration(sandbox, plans)
    .filter(({ orderId }) => !misconfigurationAlerted(orderId))
    .map(({ orderId }) => orderId);
  if (misconfigurationUntold.length > 0)
    report.violations.push({ rule: 'backend answered 401, ops never told', orderIds: misconfigurationUntold });
  const notAccepted = plans.filter(({ orderId }) => !acceptedAt.has(orderId)).map(({ orderId }) => orderId);
  if (notAccepted.length > 0) report.violations.push({ rule: 'trigger never accepted', orderIds: notAccepted });

  const e2e = plans
    .map(({ orderId }) => {
      const final = sandbox!.backend.requests.filter((r) => r.path === `/orders/${orderId}` && r.status === 204).at(-1);
      const accepted = acceptedAt.get(orderId);
      return final && accepted ? final.answeredAt - accepted : undefined;
    })
    .filter((ms): ms is number => ms !== undefined)
    .sort((a, b) => a - b);
  const injected = (standIn: StandIn) => standIn.requests.filter((r) => r.fault !== undefined).length;
  const figures: Array<[string, string | number]> = [
    ['seed', SEED],
    ['orders triggered / accepted', `${ORDERS} / ${acceptedAt.size}`],
    ['trigger retries (API or Temporal unavailable)', counters.triggerRetries],
    ['declining / SCA / key-burning / processing; refusing backends (refund pending / fails)', designFigures(plans)],
    [
      'final: paid / payment_failed / payment_pending / refunded / refund failed',
      `${report.paid} / ${report.paymentFailed} / ${report.paymentPending} / ${report.refunded} / ${report.refundsFailed}`,
    ],
    ['refunds (succeeded / pending / failed)', refundStatusFigures(sandbox.stripe)],
    ['keys Stripe burnt / keys of a later generation sent', burntKeyFigures(sandbox.stripe)],
    [
      'backend 401 window s / orders that met it / ops alerts about it',
      `${(counters.misconfiguredMs / 1000).toFixed(1)} / ${misconfigured.length} / ${sandbox.slack.messages.filter((message) => message.text.includes('not a refusal')).length}`,
    ],
    [
      'orders re-sent after their run was deleted (paid + refunded) / searches meanwhile / longest deletion ms',
      `${resent.length - Math.min(refundedOrders.length, RESENT_REFUNDED_ORDERS)} + ${Math.min(refundedOrders.length, RESENT_REFUNDED_ORDERS)} / ${sandbox.stripe.requests.filter((request) => request.path.startsWith('/v1/payment_intents/search')).length - searchesBefore} / ${counters.longestRunDeletionMs}`,
    ],
    ['webhooks: events / deliveries (twice counts 2) / never delivered', webhookFigures(sandbox.stripe)],
    ['successful charges (Stripe stand-in)', sandbox.stripe.charges.filter((charge) => charge.status === 'succeeded').length],
    ['PaymentIntents: succeeded / canceled / other', paymentIntentFigures(sandbox.stripe)],
    ['Stripe: 500s after executing / replayed 5xx / answers lost after', stripeFailureFigures(sandbox.stripe)],
    ['Stripe asked (retrieve + list) / cancels', stripeQuestionFigures(sandbox.stripe)],
    ['orders recorded payment_pending on the way', ordersThatWaited(sandbox, plans)],
    [
      'Slack: alerts posted / rate-limited answers (one a second past a burst)',
      `${sandbox.slack.messages.length} / ${sandbox.slack.requests.filter((r) => r.status === 429 && r.fault === undefined).length}`,
    ],
    ['receipts sent', sandbox.resend.emails.filter((email) => email.subject.startsWith('Receipt for order')).length],
    [
      'customers asked to confirm a payment (SCA emails)',
      sandbox.resend.emails.filter((email) => email.subject.startsWith('Please confirm')).length,
    ],
    ['worker SIGKILLs / unexpected worker exits', `${counters.workerKills} / ${counters.unexpectedWorkerExits}`],
    ['Temporal server restarts', counters.serverRestarts],
    [
      'injected faults: Stripe / Resend / Slack / backend',
      [sandbox.stripe, sandbox.resend, sandbox.slack, sandbox.backend].map(injected).join(' / '),
    ],
    [
      'requests: Stripe / Resend / Slack / backend',
      [sandbox.stripe, sandbox.resend, sandbox.slack, sandbox.backend].map((s) => s.requests.length).join(' / '),
    ],
    ['end-to-end ms p50 / p95 / max', `${percentile(e2e, 0.5)} / ${percentile(e2e, 0.95)} / ${e2e.at(-1)}`],
    ['duration s', ((Date.now() - startedAt) / 1000).toFixed(1)],
  ];
  console.log('\nFault suite figures');
  for (const [name, value] of figures) console.log(`  ${name.padEnd(74)} ${value}`);
  if (report.violations.length === 0) {
    console.log(
      "\nNo violations: every order final and matching Stripe's record (refunds included), no open PaymentIntent behind a failed order, no double charge (re-sent orders included), derived idempotency keys only, one receipt per paid order, ops told of every failed refund and misconfigured backend.",
    );
    return 0;
  }
  console.log('\nVIOLATIONS');
  for (const { rule, orderIds } of report.violations)
    console.log(`  ${rule}: ${orderIds.length} orders: ${orderIds.slice(0, 20).join(', ')}`);
  const traced = [...new Set(report.violations.flatMap(({ orderIds }) => orderIds))].slice(0, TRACED_ORDERS);
  console.log(`\nWhat the stand-ins saw of ${traced.length === 1 ? 'that order' : `the first ${traced.length}`} (s since the start)`);
  console.log(`  worker kills at ${killedAt.map(secondsSinceStart).join(', ')}`);
  for (const orderId of traced) console.log(orderTrace(sandbox, orderId));
  return 1;
}

/** A violated order's Stripe requests, backend PATCHes and ops alerts, for a failure that explains itself. */
const TRACED_ORDERS = 3;

function secondsSinceStart(at: number): string {
  return ((at - startedAt) / 1000).toFixed(1);
}

function orderTrace(sandbox: Sandbox, orderId: string): string {
  const line = ({ receivedAt, answeredAt, status }: RecordedRequest, what: string) =>
    `    +${secondsSinceStart(receivedAt)}..${answeredAt ? secondsSinceStart(answeredAt) : 'dropped'} ${status} ${what}`;
  const stripe = sandbox.stripe.requests
    .filter((request) => mentionsOrder(decodeURIComponent(`${request.path} ${request.body}`), orderId))
    .map((request) => line(request, `Stripe ${request.method} ${request.path.split('?')[0]}${request.replayed ? ' (replayed)' : ''}`));
  const patches = sandbox.backend.requests
    .filter((request) => request.path === `/orders/${orderId}`)
    .map((request) => line(request, `PATCH ${request.body.slice(0, 60)}`));
  const alerts = sandbox.slack.requests
    .filter((request) => mentionsOrder(alertText(request.body), orderId))
    .map((request) => line(request, `Slack ${alertText(request.body).slice(0, 90)}`));
  return [`  ${orderId}`, ...stripe, ...patches, ...alerts].join('\n');
}

/** chat.postMessage's text, sent as JSON or as a form. */
function alertText(body: string): string {
  return body.startsWith('{') ? String((JSON.parse(body) as { text?: unknown }).text) : (new URLSearchParams(body).get('text') ?? body);
}

const startedTriggers = Date.now();
let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  console.error(`The fault suite could not run: ${(error as Error).stack ?? String(error)}`);
} finally {
  chaosRunning = false;
  await stack.stopAll();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
