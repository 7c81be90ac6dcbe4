import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import { activityInfo } from '@temporalio/activity';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { startTimeSkipping } from '../../dev/java-test-server.js';
import { FAILURE_CONVERTER_PATH } from '../../src/codec/data-converter.js';
import type { OrderActivities } from '../../src/activities/create-activities.js';
import { parseOrder } from '../../src/activities/parse-order.js';
import type { OrderParams } from '../../src/domain/order.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';

// Tests provoke activity failures on purpose: log errors only (the SDK's core too: the test server lacks
// capabilities the core warns about). Once per test process, as the SDK requires.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});

const { IndexedValueType } = proto.temporal.api.enums.v1;

/** The service's failure converter, in the test's worker and client alike (payloads stay unencrypted here). */
const DATA_CONVERTER = { failureConverterPath: FAILURE_CONVERTER_PATH };

/**
 * A time-skipping test server for one test file: timers and retry backoffs pass at once while a test
 * awaits a result. The service's search attributes are registered, as on a real namespace: a run that
 * writes an unregistered one never gets past that workflow task.
 */
async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await startTimeSkipping(inject('testServer'), { client: { dataConverter: DATA_CONVERTER } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(ORDER_SEARCH_ATTRIBUTES.map(({ key }) => [key.name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return env;
}

export interface TimeSkippingSuite {
  env: TestWorkflowEnvironment;
  /** The file's worker, on its own task queue. */
  worker: UnitWorker;
}

/** One time-skipping server and one worker for the calling test file: started before its tests, stopped after. */
export function useTimeSkippingWorker(): TimeSkippingSuite {
  const suite = {} as TimeSkippingSuite;
  beforeAll(async () => {
    suite.env = await startTimeSkippingEnv();
    suite.worker = await startUnitWorker(suite.env);
  });
  afterAll(async () => {
    await suite.worker?.shutdown();
    await suite.env?.teardown();
  });
  return suite;
}

/** One activity call as the workflow made it: the activity's name and its argument. */
export interface ActivityCall {
  name: keyof OrderActivities;
  input: unknown;
}

export interface StubbedActivities {
  /** Every call of the run, in order, retries included. */
  calls: ActivityCall[];
  /** The inputs of one activity's calls. */
  inputsOf<Name extends keyof OrderActivities>(name: Name): Parameters<OrderActivities[Name]>[0][];
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * By default every provider says yes: the PaymentIntent is created, confirmed and succeeds; emails,
 * alerts and the backend accept. Parse Order is the real one: pure validation.
 */
const AGREEABLE_ACTIVITIES: OrderActivities = {
  parseOrder,
  paymentSettings: async () => ({ reconcileTimeoutMs: 23 * HOUR_MS, actionTimeoutMs: 23 * HOUR_MS }),
  createPaymentIntent: async () => ({ outcome: 'created', paymentIntent: { id: 'pi_stub', status: 'requires_confirmation' } }),
  confirmPaymentIntent: async ({ paymentIntentId }) => ({ id: paymentIntentId, status: 'succeeded', chargeId: 'ch_stub' }),
  lookUpPayment: async ({ paymentIntentId }) => ({ id: paymentIntentId ?? 'pi_stub', status: 'succeeded', chargeId: 'ch_stub' }),
  cancelPaymentIntent: async ({ paymentIntentId }) => ({ id: paymentIntentId, status: 'canceled' }),
  sendPaymentAction: async () => ({ emailId: 'email_action' }),
  refundPayment: async ({ amount }) => ({
    refundId: 're_stub',
    amount: amount ?? 4999,
    currency: 'usd',
    status: 'succeeded',
    amountRefunded: 4999,
    amountPaid: 4999,
  }),
  lookUpRefund: async ({ refundId }) => ({
    refundId,
    amount: 4999,
    currency: 'usd',
    status: 'succeeded',
    amountRefunded: 4999,
    amountPaid: 4999,
  }),
  chargeCard: async () => ({ outcome: 'succeeded', chargeId: 'ch_legacy' }),
  findOutcomeMismatches: async () => [],
  sendReceipt: async () => ({ emailId: 'email_receipt' }),
  notifyOps: async () => ({ channel: 'C0PAYMENTS', ts: '1.000001' }),
  updateOrderStatus: async () => undefined,
};

export interface UnitWorker {
  taskQueue: string;
  /** The activities the run `workflowId` gets: the agreeable ones, with `overrides` for the branch a test takes. */
  stub(workflowId: string, overrides?: Partial<OrderActivities>): StubbedActivities;
  shutdown(): Promise<void>;
}

/**
 * One worker per test file (loading the workflow bundle takes seconds), on its own task queue. Each
 * activity call goes to the stubs of the run that made it, so tests may run their workflows side by side.
 */
export async function startUnitWorker(env: TestWorkflowEnvironment, taskQueue = `unit-${randomUUID()}`): Promise<UnitWorker> {
  const runs = new Map<string, { activities: OrderActivities; calls: ActivityCall[] }>();
  const routed = Object.fromEntries(
    Object.keys(AGREEABLE_ACTIVITIES).map((name) => [
      name,
      (input: unknown) => {
        const workflowId = activityInfo().workflowExecution?.workflowId ?? '';
        const run = runs.get(workflowId);
        if (!run) throw new Error(`No stubbed activities for workflow ${workflowId}: call stub() before starting it`);
        run.calls.push({ name: name as keyof OrderActivities, input });
        return (run.activities[name as keyof OrderActivities] as (input: unknown) => unknown)(input);
      },
    ]),
  );
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('timeSkippingBundlePath') },
    activities: routed,
    dataConverter: DATA_CONVERTER,
  });
  const running = worker.run();
  return {
    taskQueue,
    stub: (workflowId, overrides = {}) => {
      const calls: ActivityCall[] = [];
      runs.set(workflowId, { activities: { ...AGREEABLE_ACTIVITIES, ...overrides }, calls });
      return { calls, inputsOf: (name) => calls.filter((call) => call.name === name).map((call) => call.input) };
    },
    shutdown: async () => {
      worker.shutdown();
      await running;
    },
  };
}

/** A valid order with a unique ID, so the file's runs never share a workflow ID. */
export function unitOrder(overrides: Partial<OrderParams> = {}): OrderParams {
  return {
    orderId: `ord_unit_${randomUUID().slice(0, 8)}`,
    customerId: 'cus_abc',
    amount: 4999,
    currency: 'usd',
    email: 'customer@example.com',
    ...overrides,
  };
}
