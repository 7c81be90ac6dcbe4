import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { ParentClosePolicy, patched, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import { CORRECTED_OUTCOME, MISMATCH_KINDS, type MismatchKind, type OutcomeMismatch, type SweepInput } from '../domain/reconciliation.js';
import { ORDER_OUTCOME } from '../domain/search-attributes.js';
import { countReconciliationMismatch } from './counters.js';
import { tryNotifyOps } from './ops-alerts.js';
import { ORDER_STATUS_OPTIONS, RECONCILIATION_SWEEP_OPTIONS } from './activity-options.js';
import { orderActivity } from './activity-proxies.js';
import { failureMessage } from './activity-failures.js';
import { reconcileWorkflowId } from './names.js';
import { MISCONFIGURED_BACKEND_RETRIES, recordOrderStatus } from './order-record.js';

const findOutcomeMismatches = orderActivity('findOutcomeMismatches', RECONCILIATION_SWEEP_OPTIONS);
const updateOrderStatus = orderActivity('updateOrderStatus', ORDER_STATUS_OPTIONS);

/** A correction the backend never took tells ops before the run fails; runs started before this failed silently. */
const TELL_OPS_UNRECORDED = 'reconcile-tells-ops-unrecorded';

export interface SweepResult {
  /** The mismatches found, by kind. */
  mismatches: Record<MismatchKind, number>;
  /** The reconcile runs this sweep started (a mismatch already being corrected starts none). */
  reconcileRunsStarted: string[];
}

/**
 * One reconcile run per order and kind (docs/operations.md#reconciliation): ALLOW_DUPLICATE_FAILED_ONLY lets a later sweep
 * start none while a correction runs or succeeded, and start a failed one again.
 */
export async function reconcileOrders(input: SweepInput): Promise<SweepResult> {
  const found = await findOutcomeMismatches(input);
  const mismatches = Object.fromEntries(MISMATCH_KINDS.map((kind) => [kind, 0])) as SweepResult['mismatches'];
  const reconcileRunsStarted: string[] = [];
  for (const mismatch of found) {
    mismatches[mismatch.kind] += 1;
    countReconciliationMismatch(mismatch.kind);
    const workflowId = reconcileWorkflowId(mismatch.order.orderId, mismatch.kind);
    try {
      await startChild(reconcileOrder, {
        workflowId,
        args: [mismatch],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Reconcile order ${mismatch.order.orderId}: ${mismatch.kind}`,
      });
      reconcileRunsStarted.push(workflowId);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
  return { mismatches, reconcileRunsStarted };
}

/** Stripe's outcome wins: recorded on this run (OrderOutcome) and in the order backend, and ops are told what to check. */
export async function reconcileOrder(mismatch: OutcomeMismatch): Promise<{ orderId: string; outcome: string }> {
  const outcome = CORRECTED_OUTCOME[mismatch.kind];
  const { order, paymentIntentId, chargeId, dispute, amountRefunded } = mismatch;
  upsertSearchAttributes([{ key: ORDER_OUTCOME, value: outcome }]);
  const record = {
    orderId: order.orderId,
    status: outcome,
    paymentIntentId,
    ...(chargeId && { chargeId }),
    ...(amountRefunded && { amountRefunded }),
  };
  try {
    if (patched(MISCONFIGURED_BACKEND_RETRIES)) {
      await recordOrderStatus(record, ({ reason, until }) =>
        tryNotifyOps({ kind: 'backend-misconfigured', order, status: outcome, reason, until }),
      );
    } else await updateOrderStatus(record);
  } catch (error) {
    if (patched(TELL_OPS_UNRECORDED))
      await tryNotifyOps({ kind: 'order-unrecorded', order, status: outcome, reason: failureMessage(error) });
    throw error;
  }
  await tryNotifyOps({
    kind: 'order-reconciled',
    order,
    recorded: mismatch.recorded,
    outcome,
    mismatch: mismatch.kind,
    paymentIntentId,
    ...(dispute && { dispute }),
    ...(mismatch.runGone && { runGone: true }),
  });
  return { orderId: order.orderId, outcome };
}
