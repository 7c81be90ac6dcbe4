import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, TRIGGER_PATH } from '../../src/api/app.js';
import { serveApiMetrics, UNMATCHED_ROUTE } from '../../src/api/plugins/metrics.js';
import { loadApiMetricsConfig } from '../../src/config/api.js';
import { ConfigError } from '../../src/config/env.js';
import { loadWorkerMetricsConfig } from '../../src/config/worker-settings.js';
import { freePort, stopProcess, waitUntil, type StartedProcess } from '../../dev/processes.js';
import { API_METRICS, WORKFLOW_COUNTERS } from '../../src/domain/metric-names.js';
import type { OrderParams } from '../../src/domain/order.js';
import { sampleOrder, startHarness, uniqueOrderId, type Harness } from '../support/harness.js';
import { postTrigger } from '../support/trigger.js';
import { statusQuery } from '../../src/workflows/names.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      expect(match, `exposition line "${line}"`).not.toBeNull();
      const labels = Object.fromEntries(
        [...(match![2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]),
      );
      return { name: match![1], labels, value: Number(match![3]) };
    });
}

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  expect(response.status, `GET ${url}`).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await response.text());
}

/** The sum of a metric's samples whose labels include `labels` (0 when there are none). */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe('metrics configuration', () => {
  it('defaults to 127.0.0.1:9464 for the worker and 127.0.0.1:9465 for the API', () => {
    expect(loadWorkerMetricsConfig({})).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadApiMetricsConfig({})).toEqual({ host: '127.0.0.1', port: 9465 });
    expect(loadWorkerMetricsConfig({ METRICS_HOST: '0.0.0.0', WORKER_METRICS_PORT: '9100' })).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(loadApiMetricsConfig({ METRICS_HOST: '::', API_METRICS_PORT: '9101' })).toEqual({ host: '::', port: 9101 });
  });

  it.each([
    [{ WORKER_METRICS_PORT: 'metrics' }, 'WORKER_METRICS_PORT'],
    [{ WORKER_METRICS_PORT: '70000' }, 'WORKER_METRICS_PORT'],
    [{ WORKER_METRICS_PORT: '0' }, 'WORKER_METRICS_PORT'],
    [{ METRICS_HOST: 'localhost' }, 'METRICS_HOST'],
    [{ METRICS_HOST: '127.0.0.1:9464' }, 'METRICS_HOST'],
  ])('stops the worker with a message naming the variable (%#: %s)', (env, variable) => {
    expect(() => loadWorkerMetricsConfig(env)).toThrow(ConfigError);
    expect(() => loadWorkerMetricsConfig(env)).toThrow(variable);
  });

  it.each([
    [{ API_METRICS_PORT: '-1' }, 'API_METRICS_PORT'],
    [{ API_METRICS_PORT: '0' }, 'API_METRICS_PORT'],
    [{ API_METRICS_PORT: '3000' }, 'API_METRICS_PORT'],
    [{ API_METRICS_PORT: '8080', PORT: '8080' }, 'API_METRICS_PORT'],
    [{ METRICS_HOST: 'metrics.internal' }, 'METRICS_HOST'],
  ])('stops the API with a message naming the variable (%#: %s)', (env, variable) => {
    expect(() => loadApiMetricsConfig(env)).toThrow(ConfigError);
    expect(() => loadApiMetricsConfig(env)).toThrow(variable);
  });
});

describe('worker metrics: the worker process, scraped', () => {
  let harness: Harness;
  const workers: StartedProcess[] = [];
  let metricsPort: number;
  let metricsUrl: string;
  /** The runs these tests finished, and the step each ended on. */
  const finished: { workflowId: string; step: 'completed' | 'failed' }[] = [];

  const runOrder = (params: OrderParams, step: 'completed' | 'failed') => {
    finished.push({ workflowId: `order-${params.orderId}`, step });
    return harness.runOrder(params);
  };

  /** `npm run worker` as its own process, and its output lines as they come. */
  async function startWorkerProcess(env: Record<string, string>): Promise<{ worker: StartedProcess; lines: string[] }> {
    const lines: string[] = [];
    const worker = await harness.startWorkerProcess(env, (line) => lines.push(line));
    workers.push(worker);
    return { worker, lines };
  }

  /** Resolves with the first output line containing `text`; fails when the process exits or 90 s pass first. */
  function waitForLine({ worker, lines }: { worker: StartedProcess; lines: string[] }, text: string): Promise<string> {
    return waitUntil(() => lines.find((line) => line.includes(text)), {
      timeoutMs: 90_000,
      what: `the worker to print "${text}"`,
      process: worker,
      intervalMs: 100,
    });
  }

  /**
   * This task queue's series. The SDK labels workflow metrics `taskQueue` (camelCase); the runtime's
   * own metrics are labelled `task_queue`.
   */
  const counters = async () => {
    const samples = await scrape(metricsUrl);
    const ours = { taskQueue: harness.temporal.taskQueue };
    const runtime = { task_queue: harness.temporal.taskQueue };
    return {
      samples,
      paid: total(samples, WORKFLOW_COUNTERS.paid.name, ours),
      paymentFailed: total(samples, WORKFLOW_COUNTERS.paymentFailed.name, ours),
      invalid: total(samples, WORKFLOW_COUNTERS.invalid.name, ours),
      receiptsFailed: total(samples, WORKFLOW_COUNTERS.receiptFailed.name, ours),
      opsAlertsFailed: total(samples, WORKFLOW_COUNTERS.opsAlertFailed.name, ours),
      completed: total(samples, 'temporal_workflow_completed', runtime),
      failed: total(samples, 'temporal_workflow_failed', runtime),
    };
  };

  beforeAll(async () => {
    harness = await startHarness({ withoutWorker: true });
    metricsPort = await freePort();
    // A short reconciliation window, so an order Stripe cannot settle is left payment_pending within the test.
    const started = await startWorkerProcess({
      WORKER_METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      PAYMENT_RECONCILE_TIMEOUT: '5s',
    });
    await waitForLine(started, 'Worker polling');
    metricsUrl = (await waitForLine(started, 'Worker metrics for Prometheus at')).split(' at ').at(-1)!.trim();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('counts a paid, a declined, an unpayable and an invalid order on the worker endpoint, with the Temporal runtime metrics', async () => {
    expect(metricsUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`);

    const paid = await runOrder(sampleOrder(), 'completed');
    const declined = await runOrder(sampleOrder({ customerId: 'cus_decline' }), 'completed');
    const unpayable = await runOrder(sampleOrder({ customerId: 'cus_no_payment_method' }), 'completed');
    const invalid = await runOrder(sampleOrder({ email: 'customer@' }), 'failed').catch((error: unknown) => error);
    expect(paid.status).toBe('paid');
    expect(declined).toMatchObject({ status: 'payment_failed', opsNotified: true });
    expect(unpayable).toMatchObject({ status: 'payment_failed', opsNotified: true });
    expect(invalid).toBeInstanceOf(Error);

    // Core updates its metrics as workflow tasks complete: poll until the last run's completion shows.
    await expect.poll(async () => (await counters()).failed, { timeout: 10_000 }).toBe(1);
    const scraped = await counters();
    expect(scraped).toMatchObject({
      paid: 1,
      paymentFailed: 2,
      invalid: 1,
      receiptsFailed: 0,
      opsAlertsFailed: 0,
      completed: 3,
      failed: 1,
    });
    const taskQueue = harness.temporal.taskQueue;
    expect(total(scraped.samples, WORKFLOW_COUNTERS.paymentFailed.name, { taskQueue, cause: 'declined' })).toBe(1);
    expect(total(scraped.samples, WORKFLOW_COUNTERS.paymentFailed.name, { taskQueue, cause: 'no_payment_method' })).toBe(1);
    expect(
      scraped.samples.find((sample) => sample.name === WORKFLOW_COUNTERS.paid.name && sample.labels.taskQueue === taskQueue)?.labels,
    ).toEqual({ namespace: 'default', taskQueue, workflowType: 'orderProcessing' });
    // The runtime's own metrics are on the same endpoint.
    expect(
      total(scraped.samples, 'temporal_activity_execution_latency_count', { task_queue: taskQueue, activity_type: 'confirmPaymentIntent' }),
    ).toBe(2);
    // Activity tasks come back eagerly, in the answer to the workflow task that scheduled them (the
    // dev server enables it), not through the task queue.
    expect(total(scraped.samples, 'temporal_activity_task_received', { task_queue: taskQueue, eager: 'true' })).toBeGreaterThan(0);
  });

  it('counts an order left payment_pending when Stripe cannot settle it in time', async () => {
    const before = await counters();
    const result = await runOrder(sampleOrder({ customerId: 'cus_down' }), 'completed');
    expect(result).toMatchObject({ status: 'payment_pending', opsNotified: true });
    await expect
      .poll(
        async () => total((await counters()).samples, WORKFLOW_COUNTERS.paymentUnresolved.name, { taskQueue: harness.temporal.taskQueue }),
        { timeout: 10_000 },
      )
      .toBe(total(before.samples, WORKFLOW_COUNTERS.paymentUnresolved.name, { taskQueue: harness.temporal.taskQueue }) + 1);
  });

  it('counts a paid order refunded because its backend refused it', async () => {
    const before = await counters();
    const result = await runOrder(sampleOrder({ orderId: uniqueOrderId('refuse_paid') }), 'completed');
    expect(result.status).toBe('refunded');
    const refunded = async () =>
      total((await counters()).samples, WORKFLOW_COUNTERS.refunded.name, { taskQueue: harness.temporal.taskQueue });
    await expect
      .poll(refunded, { timeout: 10_000 })
      .toBe(total(before.samples, WORKFLOW_COUNTERS.refunded.name, { taskQueue: harness.temporal.taskQueue }) + 1);
  });

  it('counts failed receipts and failed ops alerts', async () => {
    const before = await counters();
    harness.sandbox.resend.failNext(1, { status: 422 });
    harness.sandbox.slack.failNext(1, { status: 200, body: { ok: false, error: 'channel_not_found' } });
    const result = await runOrder(sampleOrder(), 'completed');
    expect(result).toMatchObject({ status: 'paid', receipt: 'failed', opsNotified: false });

    await expect.poll(async () => (await counters()).opsAlertsFailed, { timeout: 10_000 }).toBe(before.opsAlertsFailed + 1);
    expect(await counters()).toMatchObject({ paid: before.paid + 1, receiptsFailed: before.receiptsFailed + 1 });
  });

  it('keeps a worker whose metrics port is taken polling, and says which variable to change', async () => {
    const started = await startWorkerProcess({ WORKER_METRICS_PORT: String(metricsPort) });
    const { lines } = started;
    await waitForLine(started, 'Worker polling');
    expect(lines.join('\n')).toContain('Set WORKER_METRICS_PORT');
    expect(lines.join('\n')).not.toContain('Worker metrics for Prometheus at');
  });

  it('counts nothing again when a fresh worker process replays the runs', async () => {
    await Promise.all(workers.map((worker) => stopProcess(worker.child)));
    const fresh = await startWorkerProcess({ WORKER_METRICS_PORT: String(await freePort()) });
    metricsUrl = (await waitForLine(fresh, 'Worker metrics for Prometheus at')).split(' at ').at(-1)!.trim();

    // The new process has no cached runs: to answer each query it replays the run's whole history,
    // through every increment the first worker counted.
    expect(finished.length).toBeGreaterThanOrEqual(4);
    for (const { workflowId, step } of finished) {
      expect(await harness.client.workflow.getHandle(workflowId).query(statusQuery), workflowId).toMatchObject({ step });
    }
    const scraped = await counters();
    // The answers above came from this process replaying each run (it is the only worker on the queue);
    // its runtime counted workflow tasks, and none of the business counters moved. (Not one task per run:
    // in fresh-clone CI runs the count has come out one short of the runs replayed.)
    const runtime = { task_queue: harness.temporal.taskQueue };
    expect(total(scraped.samples, 'temporal_workflow_task_execution_latency_count', runtime)).toBeGreaterThan(0);
    expect(total(scraped.samples, 'temporal_workflow_completed', runtime)).toBe(0);
    expect(scraped).toMatchObject({ paid: 0, paymentFailed: 0, invalid: 0, receiptsFailed: 0, opsAlertsFailed: 0 });
  });
});

describe('API metrics: counted by buildApp, scraped on its own port', () => {
  const API_KEY = 'ask_metrics_key_0001';
  let harness: Harness;
  let app: FastifyInstance;
  let baseUrl: string;
  let metricsUrl: string;

  beforeAll(async () => {
    harness = await startHarness();
    app = buildApp({ client: harness.client, taskQueue: harness.temporal.taskQueue, triggerApiKeys: [API_KEY] });
    metricsUrl = (await serveApiMetrics(app, { host: '127.0.0.1', port: 0 }))!;
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await harness?.close();
  });

  const trigger = (body: unknown, authorization = `Bearer ${API_KEY}`) => postTrigger(baseUrl, API_KEY, body, { authorization });

  it('counts requests by route pattern and status, times them, and counts orders started on 201 only', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const params = sampleOrder();
    expect((await trigger({ params })).status).toBe(201);
    expect((await trigger({ params })).status).toBe(200);
    expect((await trigger({ params: { ...sampleOrder(), amount: '100' } })).status).toBe(400);
    expect((await trigger({ params: sampleOrder() }, 'Bearer wrong_key_123')).status).toBe(401);
    await harness.client.workflow.getHandle(`order-${params.orderId}`).result();
    const authorized = { headers: { authorization: `Bearer ${API_KEY}` } };
    expect((await fetch(`${baseUrl}/api/runs/order-${params.orderId}`, authorized)).status).toBe(200);
    expect((await fetch(`${baseUrl}/api/runs/order-does-not-exist`, authorized)).status).toBe(404);
    expect((await fetch(`${baseUrl}/wp-login.php`)).status).toBe(404);

    const samples = await scrape(metricsUrl);
    const count = (labels: Record<string, string>) => total(samples, `${API_METRICS.requestDuration.name}_count`, labels);
    const triggerRoute = { method: 'POST', route: TRIGGER_PATH };
    expect(count({ ...triggerRoute, status_code: '201' })).toBe(1);
    expect(count({ ...triggerRoute, status_code: '200' })).toBe(1);
    expect(count({ ...triggerRoute, status_code: '400' })).toBe(1);
    expect(count({ ...triggerRoute, status_code: '401' })).toBe(1);
    expect(count({ method: 'GET', route: '/api/runs/:workflowId', status_code: '200' })).toBe(1);
    expect(count({ method: 'GET', route: '/api/runs/:workflowId', status_code: '404' })).toBe(1);
    expect(count({ method: 'GET', route: UNMATCHED_ROUTE, status_code: '404' })).toBe(1);
    expect(total(samples, API_METRICS.ordersStarted.name)).toBe(1);

    // Latency: every request lands in the +Inf bucket and adds to the sum.
    expect(total(samples, `${API_METRICS.requestDuration.name}_bucket`, { ...triggerRoute, status_code: '201', le: '+Inf' })).toBe(1);
    expect(total(samples, `${API_METRICS.requestDuration.name}_sum`, { ...triggerRoute, status_code: '201' })).toBeGreaterThan(0);
    // Route patterns only: no order ID or probed path becomes a label value.
    const routes = new Set(
      samples.filter((sample) => sample.name.startsWith(API_METRICS.requestDuration.name)).map((sample) => sample.labels.route),
    );
    expect([...routes].sort()).toEqual(['/api/runs/:workflowId', TRIGGER_PATH, UNMATCHED_ROUTE].sort());
    // The serving process's Node.js metrics.
    expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('serves only GET /metrics on the scrape port, and scrapes are not API requests', async () => {
    const before = total(await scrape(metricsUrl), `${API_METRICS.requestDuration.name}_count`);
    expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(404);
    const after = total(await scrape(metricsUrl), `${API_METRICS.requestDuration.name}_count`);
    // Only the API port's own 404 above was counted.
    expect(after).toBe(before + 1);
  });

  it('keeps the API up when its metrics port is taken', async () => {
    const other = buildApp({ client: harness.client, taskQueue: harness.temporal.taskQueue, triggerApiKeys: [API_KEY] });
    const taken = new URL(metricsUrl);
    await expect(serveApiMetrics(other, { host: taken.hostname, port: Number(taken.port) })).resolves.toBeUndefined();
    expect((await other.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await other.close();
  });
});
