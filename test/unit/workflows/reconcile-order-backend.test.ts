/**
 * A reconcile run's correction against a backend that answers as misconfigured, with stubbed activities on a
 * time-skipping test server of its own: after a sweep's abandoned children, the Java test server fires no later timer.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { OutcomeMismatch } from '../../../src/domain/reconciliation.js';
import { ORDER_BACKEND_MISCONFIGURED, ORDER_STATUS_REJECTED } from '../../../src/domain/failures.js';
import { reconcileOrder } from '../../../src/workflows/index.js';
import { reconcileWorkflowId } from '../../../src/workflows/names.js';
import { useTimeSkippingWorker } from '../../support/time-skipping.js';

const suite = useTimeSkippingWorker();

function mismatch(): OutcomeMismatch {
  const orderId = `ord_unit_${randomUUID().slice(0, 8)}`;
  const order = { orderId, customerId: 'cus_abc', amount: 4999, currency: 'usd' };
  return { kind: 'charged-recorded-unpaid', recorded: 'payment_pending', order, paymentIntentId: `pi_${orderId}` };
}

describe('reconcileOrder and a misconfigured backend', () => {
  it('a backend that answers as misconfigured is asked again on the durable backoff, ops told, until the correction is recorded', async () => {
    const found = mismatch();
    const workflowId = reconcileWorkflowId(found.order.orderId, found.kind);
    let answers = 0;
    const stubs = suite.worker.stub(workflowId, {
      updateOrderStatus: async () => {
        answers += 1;
        if (answers === 1) throw ApplicationFailure.nonRetryable('Order backend answered 401', ORDER_BACKEND_MISCONFIGURED);
      },
    });
    const result = await suite.env.client.workflow.execute(reconcileOrder, {
      workflowId,
      taskQueue: suite.worker.taskQueue,
      args: [found],
    });
    expect(result).toEqual({ orderId: found.order.orderId, outcome: 'paid' });
    expect(stubs.inputsOf('updateOrderStatus')).toHaveLength(2);
    expect(stubs.inputsOf('notifyOps').map(({ kind }) => kind)).toEqual(['backend-misconfigured', 'order-reconciled']);
    expect(stubs.inputsOf('notifyOps')[0]).toMatchObject({ order: found.order, status: 'paid', reason: 'Order backend answered 401' });
  });

  it('a correction the backend refuses fails the run after telling ops what to set by hand', async () => {
    const found = mismatch();
    const workflowId = reconcileWorkflowId(found.order.orderId, found.kind);
    const stubs = suite.worker.stub(workflowId, {
      updateOrderStatus: async () => {
        throw ApplicationFailure.nonRetryable('Order backend answered 409', ORDER_STATUS_REJECTED);
      },
    });
    const run = suite.env.client.workflow.execute(reconcileOrder, { workflowId, taskQueue: suite.worker.taskQueue, args: [found] });
    await expect(run).rejects.toThrow();
    expect(stubs.inputsOf('notifyOps')).toEqual([
      { kind: 'order-unrecorded', order: found.order, status: 'paid', reason: expect.stringContaining('409') },
    ]);
  });
});
