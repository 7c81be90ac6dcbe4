/**
 * One trace per order, read back from an OTLP receiver on a real port: the API (OTLP http/json) and the
 * worker (http/protobuf) run as processes configured by the standard OTEL_* variables only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answersOk, freePort, waitUntil } from '../../dev/processes.js';
import type { OrderParams } from '../../src/domain/order.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { postTrigger } from '../support/trigger.js';

const API_KEY = 'ask_tracing_test_key';
const SPAN_STATUS_ERROR = 2;
let harness: Harness;
let receiver: OtlpReceiver;
let apiUrl: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  harness = await startHarness({ withoutWorker: true });
  // Spans leave each process within 100 ms instead of the default 5 s (OTEL_BSP_SCHEDULE_DELAY, also standard).
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
  await harness.startWorkerProcess({ ...otel, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_SERVICE_NAME: 'orders-worker' });
  const port = await freePort();
  const api = await harness.startApiProcess({
    ...otel,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'orders-api',
    TRIGGER_API_KEYS: API_KEY,
    HOST: '127.0.0.1',
    PORT: String(port),
  });
  apiUrl = `http://127.0.0.1:${port}`;
  await waitUntil(() => answersOk(`${apiUrl}/healthz`), { timeoutMs: 60_000, what: 'the API to answer', process: api });
});
afterAll(async () => {
  await harness?.close();
  await receiver?.close();
});

/** Triggers the order over HTTP (with the caller's headers) and waits for its run to end paid. */
async function runTraced(order: OrderParams, headers: Record<string, string>): Promise<void> {
  const response = await postTrigger(apiUrl, API_KEY, { params: order }, headers);
  expect(response.status, await response.clone().text()).toBe(201);
  expect(await harness.client.workflow.getHandle(`order-${order.orderId}`).result()).toMatchObject({ status: 'paid' });
}

/**
 * The spans of one trace, once the last step's span and the run's span have arrived: the run's span ends
 * after the last step's, and each leaves its process in its own export batch.
 */
async function traceOf(traceId: () => string | undefined, lastSpan: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan[]> {
  const spans = () => receiver.spans.filter((span) => span.traceId === traceId());
  const arrived = () => spans().some(lastSpan) && spans().some((span) => span.name === 'RunWorkflow:orderProcessing');
  await expect.poll(arrived, { timeout: 30_000, interval: 100 }).toBe(true);
  return spans();
}

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const named = spans.filter((span) => span.name === name);
  expect(
    named.map((span) => span.name),
    `one span named ${name}`,
  ).toEqual([name]);
  return named[0];
}

describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it("continues the caller's traceparent through the request, the start, the run and every activity attempt, with no personal data", async () => {
    const order = sampleOrder();
    const requestId = `req-${randomUUID()}`;
    const [callerTraceId, callerSpanId] = [randomBytes(16).toString('hex'), randomBytes(8).toString('hex')];
    // A failed attempt of Update Order Status, retried; and a receipt Resend refuses, quoting the customer.
    harness.sandbox.backend.failNext(1, { status: 503 });
    const rejection = `The recipient ${order.email} is on the suppression list`;
    harness.sandbox.resend.failNext(1, { status: 422, body: { statusCode: 422, name: 'validation_error', message: rejection } });
    await runTraced(order, { traceparent: `00-${callerTraceId}-${callerSpanId}-01`, 'x-request-id': requestId });

    const spans = await traceOf(
      () => callerTraceId,
      (span) => span.name === 'RunActivity:updateOrderStatus' && span.attributes['temporal.activity.attempt'] === 2,
    );
    const request = only(spans, 'POST /api/workflows/order-processing/trigger');
    expect(request).toMatchObject({
      serviceName: 'orders-api',
      protocol: 'http/json',
      parentSpanId: callerSpanId,
      attributes: { 'request.id': requestId, 'order.id': order.orderId, 'http.response.status_code': 201 },
    });
    const start = only(spans, 'StartWorkflow:orderProcessing');
    expect(start).toMatchObject({ serviceName: 'orders-api', parentSpanId: request.spanId, attributes: { 'order.id': order.orderId } });
    const run = only(spans, 'RunWorkflow:orderProcessing');
    expect(run).toMatchObject({
      serviceName: 'orders-worker',
      protocol: 'http/protobuf',
      parentSpanId: start.spanId,
      attributes: { 'order.id': order.orderId },
    });

    // Every activity attempt: a span under the run's span for scheduling it, naming the order and the attempt.
    const attempts = spans.filter((span) => span.name.startsWith('RunActivity:'));
    const scheduled = new Map(spans.filter((span) => span.name.startsWith('StartActivity:')).map((span) => [span.spanId, span]));
    for (const attempt of attempts) {
      expect(scheduled.get(attempt.parentSpanId)?.parentSpanId, `${attempt.name} is under the run`).toBe(run.spanId);
      expect(attempt.attributes).toMatchObject({ 'order.id': order.orderId, 'temporal.activity.attempt': expect.any(Number) });
    }
    const attemptsOf = (activity: string) =>
      attempts.filter((span) => span.name === `RunActivity:${activity}`).map((span) => span.attributes['temporal.activity.attempt']);
    expect(attemptsOf('parseOrder')).toEqual([1]);
    expect(attemptsOf('createPaymentIntent')).toEqual([1]);
    expect(attemptsOf('confirmPaymentIntent')).toEqual([1]);
    expect(attemptsOf('sendReceipt')).toEqual([1]);
    expect(attemptsOf('updateOrderStatus').sort()).toEqual([1, 2]);

    // A failed attempt shows as an error with its exception's type; the message, which quotes the customer, stays out.
    const refused = only(spans, 'RunActivity:sendReceipt');
    expect(refused.status.code).toBe(SPAN_STATUS_ERROR);
    expect(refused.events.map((event) => event.name)).toContain('exception');
    // The run's history carries the trace on to each activity as a W3C traceparent, plain (headers are not encrypted): IDs only.
    const events = (await harness.client.workflow.getHandle(`order-${order.orderId}`).fetchHistory()).events ?? [];
    const traceHeaders = events.flatMap((event) => {
      const header = event.activityTaskScheduledEventAttributes?.header?.fields?.[TRACE_HEADER];
      return header ? [JSON.parse(Buffer.from(header.data!).toString('utf8')) as unknown] : [];
    });
    expect(traceHeaders).toHaveLength(events.filter((event) => event.activityTaskScheduledEventAttributes).length);
    for (const header of traceHeaders)
      expect(header).toEqual({ traceparent: expect.stringMatching(new RegExp(`^00-${callerTraceId}-[0-9a-f]{16}-01$`)) });
    const everything = JSON.stringify(receiver.rawRequests);
    for (const personal of [order.email, order.customerId, 'suppression list']) expect(everything).not.toContain(personal);
  });

  it('starts a trace at the request when the caller sends no traceparent', async () => {
    const order = sampleOrder();
    await runTraced(order, {});
    const requestSpan = () =>
      receiver.spans.find(
        (span) => span.name === 'POST /api/workflows/order-processing/trigger' && span.attributes['order.id'] === order.orderId,
      );
    await expect.poll(requestSpan, { timeout: 30_000, interval: 100 }).toBeTruthy();
    expect(requestSpan()!.parentSpanId).toBe('');
    const spans = await traceOf(
      () => requestSpan()?.traceId,
      (span) => span.name === 'RunActivity:updateOrderStatus',
    );
    expect(only(spans, 'RunWorkflow:orderProcessing').attributes['order.id']).toBe(order.orderId);
  });
});
