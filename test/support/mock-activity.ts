import { afterAll, beforeAll, expect } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { loadProviderConfig } from '../../src/config/worker-settings.js';
import { createActivities, type OrderActivities } from '../../src/activities/create-activities.js';
import { startSandbox, type Sandbox } from '../../dev/sandbox/index.js';
import { workflowIdForOrder } from '../../src/workflows/names.js';

export interface SandboxActivities {
  /** The in-process stand-ins, on ports of their own. */
  sandbox: Sandbox;
  /** The worker's activities, wired as the worker wires them, with the real SDK clients pointed at the stand-ins. */
  activities: OrderActivities;
}

/** The stand-ins and the activities for the calling test file: started before its tests, closed after. */
export function useSandboxActivities(): SandboxActivities {
  const suite = {} as SandboxActivities;
  beforeAll(async () => {
    suite.sandbox = await startSandbox();
    suite.activities = createActivities(loadProviderConfig(suite.sandbox.env));
  });
  afterAll(async () => suite.sandbox?.close());
  return suite;
}

/**
 * Runs one activity as attempt `attempt` of the order's run `order-<orderId>` (its idempotency keys
 * come from that workflow ID), 1 s long unless told. Only errors reach the test's output.
 */
export function runActivity<A, R, More extends unknown[] = []>(
  activity: (input: A, ...more: More) => Promise<R>,
  input: A,
  { orderId, attempt = 1, startToCloseTimeoutMs }: { orderId: string; attempt?: number; startToCloseTimeoutMs?: number },
  ...more: More
): Promise<R> {
  const env = new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: workflowIdForOrder(orderId), runId: 'unit' },
      attempt,
      ...(startToCloseTimeoutMs && { startToCloseTimeoutMs }),
    },
    { logger: new DefaultLogger('ERROR') },
  );
  return env.run(activity, input, ...more);
}

/** The ApplicationFailure an activity threw: its `type` and `nonRetryable` are what Temporal's retry policy reads. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}
