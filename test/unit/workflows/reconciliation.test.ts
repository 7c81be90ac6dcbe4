/**
 * The reconciliation sweep and a reconcile run, with stubbed activities on a time-skipping test server:
 * what each mismatch starts and records, a repeat sweep, and a correction Slack cannot be told of.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { type OutcomeMismatch } from '../../../src/domain/reconciliation.js';
import { SLACK_REJECTED } from '../../../src/domain/failures.js';
import { reconcileOrder, reconcileOrders } from '../../../src/workflows/index.js';
import { useTimeSkippingWorker } from '../../support/time-skipping.js';
import { reconcileWorkflowId } from '../../../src/workflows/names.js';

const suite = useTimeSkippingWorker();

function mismatch(kind: OutcomeMismatch['kind'], recorded: OutcomeMismatch['recorded']): OutcomeMismatch {
  const orderId = `ord_unit_${randomUUID().slice(0, 8)}`;
  return { kind, recorded, order: { orderId, customerId: 'cus_abc', amount: 4999, currency: 'usd' }, paymentIntentId: `pi_${orderId}` };
}

const dispute = { disputeId: 'dp_unit', amount: 4999, reason: 'fraudulent', evidenceDueBy: '2030-01-08T00:00:00.000Z' };

function sweep(found: OutcomeMismatch[]) {
  const workflowId = `sweep-${randomUUID()}`;
  const stubs = suite.worker.stub(workflowId, { findOutcomeMismatches: async () => found });
  const corrections = found.map((each) => suite.worker.stub(reconcileWorkflowId(each.order.orderId, each.kind)));
  const run = suite.env.client.workflow.execute(reconcileOrders, {
    workflowId,
    taskQueue: suite.worker.taskQueue,
    args: [{ windowMs: 60_000 }],
  });
  return { stubs, corrections, run };
}

describe('reconcileOrders', () => {
  it('starts one reconcile run per mismatch, and each records the outcome Stripe shows and tells ops', async () => {
    const found = [
      mismatch('charged-recorded-unpaid', 'payment_failed'),
      mismatch('failed-recorded-paid', 'paid'),
      mismatch('refunded-recorded-paid', 'paid'),
      { ...mismatch('disputed-recorded-paid', 'paid'), chargeId: 'ch_unit', dispute },
    ];
    const { stubs, corrections, run } = sweep(found);
    const result = await run;
    expect(stubs.inputsOf('findOutcomeMismatches')).toEqual([{ windowMs: 60_000 }]);
    expect(result.mismatches).toEqual({
      'charged-recorded-unpaid': 1,
      'failed-recorded-paid': 1,
      'refunded-recorded-paid': 1,
      'partially-refunded-recorded-paid': 0,
      'disputed-recorded-paid': 1,
    });
    expect(result.reconcileRunsStarted).toEqual(found.map((each) => reconcileWorkflowId(each.order.orderId, each.kind)));

    const outcomes = await Promise.all(
      result.reconcileRunsStarted.map((workflowId) => suite.env.client.workflow.getHandle<typeof reconcileOrder>(workflowId).result()),
    );
    expect(outcomes.map((each) => each.outcome)).toEqual(['paid', 'payment_failed', 'refunded', 'disputed']);
    expect(corrections.map((stubbed) => stubbed.inputsOf('updateOrderStatus')[0].status)).toEqual([
      'paid',
      'payment_failed',
      'refunded',
      'disputed',
    ]);
    // The disputed order's backend record and ops' alert name the charge and the dispute.
    expect(corrections[3].inputsOf('updateOrderStatus')[0]).toMatchObject({ chargeId: 'ch_unit' });
    expect(corrections[3].inputsOf('notifyOps')[0]).toMatchObject({ dispute });
    expect(corrections.map((stubbed) => stubbed.inputsOf('notifyOps')[0])).toEqual(
      found.map((each, index) =>
        expect.objectContaining({
          kind: 'order-reconciled',
          mismatch: each.kind,
          recorded: each.recorded,
          outcome: outcomes[index].outcome,
        }),
      ),
    );
  });

  it('a repeat sweep that finds a mismatch already corrected starts no second run', async () => {
    const found = [mismatch('refunded-recorded-paid', 'paid')];
    const first = await sweep(found).run;
    await suite.env.client.workflow.getHandle(first.reconcileRunsStarted[0]).result();
    const again = await sweep(found).run;
    expect(again.mismatches['refunded-recorded-paid']).toBe(1);
    expect(again.reconcileRunsStarted).toEqual([]);
  });

  it('a sweep that finds nothing starts nothing', async () => {
    expect(await sweep([]).run).toEqual({
      mismatches: {
        'charged-recorded-unpaid': 0,
        'failed-recorded-paid': 0,
        'refunded-recorded-paid': 0,
        'partially-refunded-recorded-paid': 0,
        'disputed-recorded-paid': 0,
      },
      reconcileRunsStarted: [],
    });
  });
});

describe('reconcileOrder', () => {
  it('records the correction even when Slack refuses the alert', async () => {
    const found = mismatch('charged-recorded-unpaid', 'payment_pending');
    const workflowId = reconcileWorkflowId(found.order.orderId, found.kind);
    const stubs = suite.worker.stub(workflowId, {
      notifyOps: async () => {
        throw ApplicationFailure.nonRetryable('Slack rejected the alert: channel_not_found', SLACK_REJECTED);
      },
    });
    const result = await suite.env.client.workflow.execute(reconcileOrder, {
      workflowId,
      taskQueue: suite.worker.taskQueue,
      args: [found],
    });
    expect(result).toEqual({ orderId: found.order.orderId, outcome: 'paid' });
    expect(stubs.inputsOf('updateOrderStatus')).toEqual([
      { orderId: found.order.orderId, status: 'paid', paymentIntentId: found.paymentIntentId },
    ]);
  });
});
