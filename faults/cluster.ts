/**
 * `npm run test:cluster`: the production topology (dev/cluster.ts: PostgreSQL, the Temporal server on
 * temporal-server.yaml, two workers, two APIs) under faults, on a fresh data folder and free ports.
 *
 *   1. A steady stream of orders through both APIs while one worker is SIGKILLed (the other finishes
 *      its work), the Temporal server is restarted, and PostgreSQL is stopped with a fast shutdown and
 *      started again 10 s later. The client retries 5xx after Retry-After, as a well-behaved one does.
 *   2. Capacity with the one worker left: a burst of orders through both APIs, as fast as they are
 *      taken; then the killed worker is started again, and another burst measures two workers.
 *
 * Then the fault suite's invariants (faults/invariants.ts) over every order: nothing lost, no double
 * charge, every order final and matching the provider; and what the API answered while the database was
 * down: only `503 temporal_unavailable` with Retry-After, and `/readyz` 503. Prints the figures and
 * exits 1 on any failed check; stops itself within the deadline.
 *
 *   npm run test:cluster -- [--orders 300] [--stream-seconds 50] [--burst 100] [--outage-seconds 10]
 *                           [--seed 1] [--deadline-seconds 510] [--history-shards 16]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { TRIGGER_PATH } from '../src/api/app.js';
import { TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../src/http/error-reply.js';
import { DEV_CODEC_KEYS } from '../dev/codec-dev-key.js';
import { Cluster, freeClusterPorts } from '../dev/cluster.js';
import { waitUntil } from '../dev/processes.js';
import { treeCpuSeconds } from '../bench/process-usage.js';
import { checkInvariants, faultOrderBody, type OrderPlan } from './invariants.js';
import { seededRandom } from './random.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '300' },
    'stream-seconds': { type: 'string', default: '50' },
    burst: { type: 'string', default: '100' },
    'outage-seconds': { type: 'string', default: '10' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    'deadline-seconds': { type: 'string', default: '510' },
    'history-shards': { type: 'string' },
  },
});
const STREAM_ORDERS = Number(args.orders);
const STREAM_MS = Number(args['stream-seconds']) * 1000;
const BURST = Number(args.burst);
const OUTAGE_MS = Number(args['outage-seconds']) * 1000;
const SEED = Number(args.seed);
const DEADLINE_MS = Number(args['deadline-seconds']) * 1000;
const HISTORY_SHARDS = args['history-shards'] === undefined ? undefined : Number(args['history-shards']);
const BURST_CONCURRENCY = 20;
/** Sent before the first measured burst, so that it does not pay for cold caches and JIT. */
const WARM_UP_ORDERS = 20;
const KILL_WHEN_IN_FLIGHT = 4;
const DECLINE_SHARE = 0.1;
const API_KEY = 'ask_cluster_test_key';
const startedAt = Date.now();
const LOAD_AT_START = loadavg()[0].toFixed(1);
const random = seededRandom(SEED);

function log(message: string): void {
  console.log(`[cluster +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}`);
}

/** A 5xx the API answered, as the client saw it: when the request was sent and answered. */
interface ServerError {
  sentAt: number;
  at: number;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
}

interface Fault {
  name: string;
  /** When it began (the kill, the stop) and when the part was back (for the worker: the kill). */
  startedAt: number;
  endedAt: number;
  /** Orders accepted and not yet final when it began. */
  inFlight: string[];
}

const plans: OrderPlan[] = [];
const acceptedAt = new Map<string, number>();
const serverErrors: ServerError[] = [];
const faults: Fault[] = [];
const readiness: Array<{ at: number; ready: boolean }> = [];
const unexpectedExits: string[] = [];
const checks: Array<{ name: string; passed: boolean; detail: string }> = [];
let cluster: Cluster;

function check(name: string, passed: boolean, detail = ''): void {
  checks.push({ name, passed, detail });
}

function newOrder(phase: string, index: number): OrderPlan & { customerId: string } {
  const declines = random() < DECLINE_SHARE;
  const plan = { orderId: `ord_cluster_${SEED}_${phase}_${index}`, declines, backendRefusesPaid: false };
  plans.push(plan);
  return { ...plan, customerId: declines ? 'cus_decline' : 'cus_cluster' };
}

/** Whether the order backend holds the order's final status (payment_pending is recorded on the way). */
function isFinal(orderId: string): boolean {
  const status = cluster.sandbox!.backend.orders.get(orderId)?.status;
  return status !== undefined && status !== 'payment_pending';
}

/** When the order backend recorded the order's final status (undefined while it is not final). */
function finalAt(orderId: string): number | undefined {
  if (!isFinal(orderId)) return undefined;
  return cluster.sandbox!.backend.requests.filter((request) => request.path === `/orders/${orderId}` && request.status === 204).at(-1)
    ?.answeredAt;
}

/**
 * Triggers one order through one of the APIs, like a well-behaved client: a 5xx or a refused
 * connection is retried after Retry-After (or a short backoff), with the same body.
 */
async function trigger(order: ReturnType<typeof newOrder>, apiUrl: string): Promise<void> {
  const body = faultOrderBody(order.orderId, order.customerId, random);
  for (let attempt = 1; Date.now() - startedAt < DEADLINE_MS; attempt += 1) {
    const sentAt = Date.now();
    const response = await fetch(`${apiUrl}${TRIGGER_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(60_000),
    }).catch(() => undefined);
    if (response?.status === 201 || response?.status === 200) {
      acceptedAt.set(order.orderId, Date.now());
      return;
    }
    if (response && response.status < 500)
      throw new Error(`order ${order.orderId} was refused with HTTP ${response.status}: ${await response.text()}`);
    const retryAfter = response?.headers.get('retry-after') ?? null;
    if (response) {
      const code = ((await response.json().catch(() => undefined)) as { error?: { code?: string } } | undefined)?.error?.code;
      serverErrors.push({ sentAt, at: Date.now(), status: response.status, code, retryAfter });
    }
    await sleep(retryAfter ? Number(retryAfter) * 1000 : Math.min(250 * 2 ** attempt, 5_000));
  }
}

/** Sends `orders` through both APIs in turn, `concurrency` at a time, each no earlier than `sendAt(i)`. */
async function send(orders: Array<ReturnType<typeof newOrder>>, concurrency: number, sendAt: (index: number) => number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < orders.length) {
        const index = next;
        next += 1;
        await sleep(Math.max(0, sendAt(index) - Date.now()));
        await trigger(orders[index], cluster.apiUrls[index % cluster.apiUrls.length]);
      }
    }),
  );
}

async function waitAllFinal(orderIds: string[], what: string): Promise<void> {
  await waitUntil(() => orderIds.every(isFinal), {
    timeoutMs: Math.max(1_000, DEADLINE_MS - (Date.now() - startedAt)),
    what,
    intervalMs: 250,
  });
}

interface Capacity {
  ordersPerSecond: number;
  /** PostgreSQL transactions and WAL kilobytes per order. */
  commitsPerOrder: number;
  walKbPerOrder: number;
  /** CPU milliseconds per order of each kind of part (all workers, all APIs...) during the burst. */
  cpuMsPerOrder: Map<string, number>;
}

/** The kind of part a process is, for CPU figures: "worker 2" counts with "workers". */
function kind(name: string): string {
  return /^(worker|api) \d+$/.test(name) ? `${name.split(' ')[0]}s` : name;
}

/** CPU seconds so far by kind of part; this process holds the stand-ins and the load generator. */
function cpuByKind(): Map<string, number> {
  const totals = new Map<string, number>([
    ['stand-ins and load generator', process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6],
  ]);
  for (const { name, pid } of cluster.processes()) {
    totals.set(kind(name), (totals.get(kind(name)) ?? 0) + (treeCpuSeconds(pid) ?? 0));
  }
  return totals;
}

/**
 * A burst of orders as fast as the cluster takes them (BURST_CONCURRENCY in flight): orders per second
 * from the first trigger to the last final status, and the CPU each kind of part spent per order.
 */
async function measureCapacity(phase: string, count = BURST): Promise<Capacity> {
  const orders = Array.from({ length: count }, (_, index) => newOrder(phase, index));
  const cpuBefore = cpuByKind();
  const persistenceBefore = cluster.persistenceCounters();
  const firstSent = Date.now();
  await send(orders, BURST_CONCURRENCY, () => 0);
  await waitAllFinal(
    orders.map(({ orderId }) => orderId),
    `the ${phase} burst to be final`,
  );
  const lastFinal = Math.max(...orders.map(({ orderId }) => finalAt(orderId)!));
  const cpuMsPerOrder = new Map([...cpuByKind()].map(([name, seconds]) => [name, ((seconds - (cpuBefore.get(name) ?? 0)) * 1000) / count]));
  const persistence = cluster.persistenceCounters();
  return {
    ordersPerSecond: count / ((lastFinal - firstSent) / 1000),
    commitsPerOrder: (persistence.commits - persistenceBefore.commits) / count,
    walKbPerOrder: (persistence.walBytes - persistenceBefore.walBytes) / 1024 / count,
    cpuMsPerOrder,
  };
}

function inFlightNow(): string[] {
  return [...acceptedAt.keys()].filter((orderId) => !isFinal(orderId));
}

/** Polls both APIs' /readyz, so the figures show when the cluster said it was not ready. */
async function watchReadiness(until: () => boolean): Promise<void> {
  while (!until()) {
    const answers = await Promise.all(
      cluster.apiUrls.map((url) =>
        fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) }).then(
          (response) => response.ok,
          () => false,
        ),
      ),
    );
    readiness.push({ at: Date.now(), ready: answers.every(Boolean) });
    await sleep(250);
  }
}

/** The stream of orders with the three faults spread over it. */
async function streamWithFaults(): Promise<void> {
  const orders = Array.from({ length: STREAM_ORDERS }, (_, index) => newOrder('stream', index));
  const streamStart = Date.now();
  const interval = STREAM_MS / STREAM_ORDERS;
  let streaming = true;
  const watcher = watchReadiness(() => !streaming);
  const at = (share: number) => sleep(Math.max(0, streamStart + share * STREAM_MS - Date.now()));

  const chaos = (async () => {
    await at(0.15);
    // A kill that finds the worker idle proves nothing: wait (a few seconds at most) for orders in flight.
    await waitUntil(() => inFlightNow().length >= KILL_WHEN_IN_FLIGHT, {
      timeoutMs: 5_000,
      what: 'orders in flight',
      intervalMs: 20,
    }).catch(() => undefined);
    const killed = Date.now();
    const inFlight = inFlightNow();
    await cluster.workers[1].stop('SIGKILL');
    faults.push({ name: 'worker SIGKILL', startedAt: killed, endedAt: killed, inFlight });
    log(`worker 2 SIGKILLed with ${inFlight.length} orders in flight; worker 1 carries on alone`);

    await at(0.4);
    const serverStopped = Date.now();
    const beforeRestart = inFlightNow();
    await cluster.stopTemporal();
    await sleep(2_000);
    await cluster.startTemporal();
    faults.push({ name: 'Temporal server restart', startedAt: serverStopped, endedAt: Date.now(), inFlight: beforeRestart });
    log(`Temporal server restarted (${((Date.now() - serverStopped) / 1000).toFixed(1)} s from stop to serving)`);

    await at(0.65);
    const databaseStopped = Date.now();
    const beforeOutage = inFlightNow();
    await cluster.stopPostgres();
    log(`PostgreSQL stopped (fast shutdown); starting it again in ${OUTAGE_MS / 1000} s`);
    await sleep(OUTAGE_MS);
    await cluster.startPostgres();
    faults.push({ name: 'PostgreSQL fast restart', startedAt: databaseStopped, endedAt: Date.now(), inFlight: beforeOutage });
    log('PostgreSQL accepting connections again');
  })();

  await send(orders, 100, (index) => streamStart + index * interval);
  await chaos;
  log(
    `stream sent: ${orders.filter(({ orderId }) => acceptedAt.has(orderId)).length}/${orders.length} accepted; waiting for every order to be final`,
  );
  await waitAllFinal(
    orders.map(({ orderId }) => orderId),
    'every order of the stream to be final',
  ).catch((error: Error) => log(error.message));
  streaming = false;
  await watcher;
}

/** From a fault's start until every order in flight then, and the APIs' readiness, had recovered. */
function recoverySeconds(fault: Fault): number | undefined {
  const finals = fault.inFlight.map(finalAt);
  if (finals.some((at) => at === undefined)) return undefined;
  const readyAgain = readiness.find(({ at, ready }) => at >= fault.endedAt && ready)?.at ?? fault.endedAt;
  return (Math.max(readyAgain, ...(finals as number[])) - fault.startedAt) / 1000;
}

/** From the part's return (for the worker kill: the kill) until the first order accepted since then was final. */
function firstNewOrderSeconds(fault: Fault): number | undefined {
  const finals = [...acceptedAt]
    .filter(([, accepted]) => accepted >= fault.endedAt)
    .map(([orderId]) => finalAt(orderId))
    .filter((at): at is number => at !== undefined);
  return finals.length === 0 ? undefined : (Math.min(...finals) - fault.endedAt) / 1000;
}

function report(capacityTwo: Capacity, capacityOne: Capacity): void {
  const outage = faults.find(({ name }) => name.startsWith('PostgreSQL'))!;
  // Requests in flight at any time while the database was down.
  const duringOutage = serverErrors.filter(({ sentAt, at }) => sentAt <= outage.endedAt && at >= outage.startedAt);
  const properly = (error: ServerError) =>
    error.status === 503 && error.code === 'temporal_unavailable' && error.retryAfter === String(TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS);
  const readyzDuringOutage = readiness.filter(({ at }) => at >= outage.startedAt + 1_000 && at <= outage.endedAt - 1_000);
  const invariants = checkInvariants(cluster.sandbox!, plans);
  const notAccepted = plans.filter(({ orderId }) => !acceptedAt.has(orderId)).map(({ orderId }) => orderId);

  check('every order accepted', notAccepted.length === 0, notAccepted.slice(0, 10).join(', '));
  check(
    "fault suite invariants: nothing lost, no double charge, every order final and matching Stripe's record",
    invariants.violations.length === 0,
    invariants.violations.map(({ rule, orderIds }) => `${rule}: ${orderIds.length} (${orderIds.slice(0, 5).join(', ')})`).join('; '),
  );
  check(
    'every 5xx is 503 temporal_unavailable with Retry-After',
    serverErrors.every(properly),
    JSON.stringify(serverErrors.filter((e) => !properly(e)).slice(0, 5)),
  );
  check('/readyz answered 503 while PostgreSQL was down', readyzDuringOutage.length > 0 && readyzDuringOutage.every(({ ready }) => !ready));
  check(
    '/readyz answered 200 once PostgreSQL was back',
    readiness.some(({ at, ready }) => at > outage.endedAt && ready),
  );
  check('no process exited unless stopped', unexpectedExits.length === 0, unexpectedExits.join(', '));
  for (const fault of faults) check(`recovered from the ${fault.name}`, recoverySeconds(fault) !== undefined);

  const seconds = (value: number | undefined) => (value === undefined ? 'never' : `${value.toFixed(1)} s`);
  const figures: Array<[string, string | number]> = [
    ['seed', SEED],
    ['orders triggered / accepted (both APIs)', `${plans.length} / ${acceptedAt.size}`],
    ['final: paid / payment_failed (declined by design)', `${invariants.paid} / ${invariants.paymentFailed}`],
    ['load average (1 min) at the start', LOAD_AT_START],
    ['orders/s with two workers (burst)', capacityTwo.ordersPerSecond.toFixed(1)],
    ['orders/s with one worker (burst)', capacityOne.ordersPerSecond.toFixed(1)],
    [
      'PostgreSQL transactions / WAL KB per order, two workers / one worker',
      `${capacityTwo.commitsPerOrder.toFixed(0)} / ${capacityTwo.walKbPerOrder.toFixed(0)}, ${capacityOne.commitsPerOrder.toFixed(0)} / ${capacityOne.walKbPerOrder.toFixed(0)}`,
    ],
    ['history shards', HISTORY_SHARDS ?? 'temporal-server.yaml default'],
    ...[...capacityTwo.cpuMsPerOrder.keys()].map((name): [string, string] => [
      `CPU ms per order, two workers / one worker: ${name}`,
      `${capacityTwo.cpuMsPerOrder.get(name)!.toFixed(1)} / ${capacityOne.cpuMsPerOrder.get(name)?.toFixed(1) ?? 'n/a'}`,
    ]),
    ...faults.map((fault): [string, string] => [
      `${fault.name}: in flight / down / first new order final after / recovered after`,
      `${fault.inFlight.length} / ${seconds((fault.endedAt - fault.startedAt) / 1000)} / ${seconds(firstNewOrderSeconds(fault))} / ${seconds(recoverySeconds(fault))}`,
    ]),
    [
      '5xx while PostgreSQL was down: total / 503 temporal_unavailable with Retry-After',
      `${duringOutage.length} / ${duringOutage.filter(properly).length}`,
    ],
    ['5xx in the whole run (all faults)', serverErrors.length],
    [
      '/readyz polls while PostgreSQL was down: 503 / all',
      `${readyzDuringOutage.filter(({ ready }) => !ready).length} / ${readyzDuringOutage.length}`,
    ],
    ['duration s', ((Date.now() - startedAt) / 1000).toFixed(1)],
  ];
  console.log('\nCluster test figures');
  for (const [name, value] of figures) console.log(`  ${name.padEnd(92)} ${value}`);
  console.log('\nChecks');
  for (const { name, passed, detail } of checks)
    console.log(`  ${passed ? 'ok  ' : 'FAIL'} ${name}${!passed && detail ? `: ${detail}` : ''}`);
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-cluster-'));
  cluster = new Cluster(
    {
      dataDir,
      ports: await freeClusterPorts(),
      codecKeys: DEV_CODEC_KEYS,
      apiKey: API_KEY,
      webhookSecret: 'whsec_cluster_test',
      logLevel: 'error',
      // The test drives far more than a merchant's per-key limit through one key.
      apiEnv: { RATE_LIMIT_MAX: '1000000' },
      ...(HISTORY_SHARDS !== undefined && { historyShards: HISTORY_SHARDS }),
      onLine: (name, line) => {
        // Errors only: the workers' retries while Temporal is away are expected (WARN), and so is the server's own noise.
        if (/\bERROR\b|"level":("(error|fatal)"|50|60)/.test(line) && name !== 'temporal server') console.log(`[${name}] ${line}`);
      },
      onUnexpectedExit: (name, how) => {
        unexpectedExits.push(`${name} (${how})`);
        log(`the ${name} exited unexpectedly (${how})`);
      },
    },
    log,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the cluster`);
      void cluster.stop().finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  // A last resort should a step hang: with the stop's own grace periods, the run ends within 10 minutes.
  const deadline = setTimeout(() => {
    log(`deadline of ${DEADLINE_MS / 1000} s passed: stopping`);
    void cluster.stop().finally(() => process.exit(1));
  }, DEADLINE_MS + 30_000);
  try {
    log(`seed ${SEED}: starting the cluster on a fresh data folder (${dataDir})`);
    await cluster.start();
    log(`cluster up: Temporal ${cluster.address}, APIs ${cluster.apiUrls.join(' ')}`);
    await measureCapacity('warm-up', WARM_UP_ORDERS);
    await streamWithFaults();
    // Both bursts on a warm cluster, back to back: the one worker left, then with the killed one back.
    const capacityOne = await measureCapacity('one-worker');
    log(`one worker: ${capacityOne.ordersPerSecond.toFixed(1)} orders/s`);
    await cluster.startWorker(1);
    const capacityTwo = await measureCapacity('two-workers');
    log(`two workers (worker 2 started again): ${capacityTwo.ordersPerSecond.toFixed(1)} orders/s`);
    report(capacityTwo, capacityOne);
  } catch (error) {
    check('the run completed', false, (error as Error).stack ?? String(error));
    console.log(`\nThe cluster test could not complete: ${(error as Error).stack ?? String(error)}`);
  } finally {
    clearTimeout(deadline);
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const failed = checks.filter(({ passed }) => !passed).length;
  console.log(`\ncluster: ${checks.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
