import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  defineQuery,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type { OrderActivities } from '../activities/index.js';
import type { ChargeResult, Order, OrderParams, OrderProgress, OrderResult, ReceiptState } from '../domain/order.js';
import { CHARGE_OUTCOME_UNKNOWN, INVALID_ORDER, ORDER_BACKEND_UNAVAILABLE } from '../domain/failures.js';
import { countOrderEvent, countPaymentFailed } from '../metrics/workflow-counters.js';

export const statusQuery = defineQuery<OrderProgress>('status');

/** Parse Order is pure validation: a short timeout, and an invalid order fails without retry. */
const PARSE_ORDER_OPTIONS = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
} as const;
/** Runs started before Parse Order became a local activity still replay through an activity task. */
const { parseOrder: parseOrderTask } = proxyActivities<OrderActivities>(PARSE_ORDER_OPTIONS);
/**
 * Parse Order as a local activity: it runs on the worker that runs the workflow, recorded as a marker,
 * with no task queue round trip (about a third less Temporal server CPU per order; README, Tuning).
 */
const { parseOrder: parseOrderLocally } = proxyLocalActivities<OrderActivities>(PARSE_ORDER_OPTIONS);
const PARSE_ORDER_LOCAL_ACTIVITY = 'parse-order-local-activity';

/** The seed's Charge Card retries: `{ limit: 3, delay: '5 seconds', backoff: 'exponential' }`. */
const { chargeCard } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4 },
});

/** Notifications: a few quick retries, then the run goes on without them. */
const { sendReceipt, notifyOps } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** The order record must end up right: keep retrying a backend outage for up to a week. */
const { updateOrderStatus } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** The root cause's message of an activity failure, for people to read. */
function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The ApplicationFailure an activity threw. An activity task's failure arrives wrapped in an
 * ActivityFailure; a local activity's failure arrives as the ApplicationFailure itself.
 */
function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

function failureType(error: unknown): string | undefined {
  return applicationFailureOf(error)?.type ?? undefined;
}

type PaymentOutcome =
  | { paid: true; chargeId: string }
  | { paid: false; chargeId?: string; declineCode?: string; reason: string; chargeUncertain: boolean };

/** Runs Charge Card. A decline, a rejected request or running out of retries is a failed payment, not a failed run. */
async function charge(order: Order): Promise<PaymentOutcome> {
  let result: ChargeResult;
  try {
    result = await chargeCard(order);
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    // A non-retryable rejection means Stripe refused the request: nothing was charged. Running out of
    // retries (or time) means the last attempt's outcome is unknown.
    const chargeUncertain = error.retryState !== RetryState.NON_RETRYABLE_FAILURE || failureType(error) === CHARGE_OUTCOME_UNKNOWN;
    return { paid: false, reason: failureMessage(error), chargeUncertain };
  }
  if (result.outcome === 'succeeded') return { paid: true, chargeId: result.chargeId };
  const { chargeId, declineCode, reason } = result;
  return { paid: false, ...(chargeId && { chargeId }), declineCode, reason, chargeUncertain: false };
}

/**
 * Order Processing: Parse Order -> Charge Card -> Send Receipt (paid) or Notify Ops (failed)
 * -> Update Order Status. Workflow ID: `order-<orderId>`.
 *
 * Cancellation (API, `temporal workflow cancel`, Web UI): honoured only before the charge is attempted
 * (no charge, the order is marked `cancelled`, the run ends cancelled). Once the charge is in flight or
 * done, the run ignores it and records the true payment outcome: a cancel never leaves a charged order
 * unrecorded. The `status` query's `cancellation` field says which case applied.
 */
export async function orderProcessing(params: OrderParams): Promise<OrderResult> {
  const progress: OrderProgress = { step: 'parse-order' };
  setHandler(statusQuery, () => progress);
  CancellationScope.current().cancelRequested.catch(() => {
    progress.cancellation = progress.step === 'parse-order' ? 'honoured' : 'too-late';
  });
  // Activities never see the cancellation: the decision above is the only one.
  return CancellationScope.nonCancellable(() => processOrder(params, progress));
}

async function processOrder(params: OrderParams, progress: OrderProgress): Promise<OrderResult> {
  try {
    let order: Order;
    try {
      order = patched(PARSE_ORDER_LOCAL_ACTIVITY) ? await parseOrderLocally(params) : await parseOrderTask(params);
    } catch (error) {
      if (failureType(error) === INVALID_ORDER) {
        countOrderEvent('invalid');
        throw ApplicationFailure.create({
          type: INVALID_ORDER,
          message: failureMessage(error),
          nonRetryable: true,
          details: applicationFailureOf(error)?.details ?? undefined,
        });
      }
      throw error;
    }
    progress.orderId = order.orderId;
    if (progress.cancellation === 'honoured') return await cancelBeforeCharge(order, progress);

    progress.step = 'charge-card';
    const payment = await charge(order);
    if (payment.paid) countOrderEvent('paid');
    else countPaymentFailed(payment.chargeUncertain ? 'uncertain' : payment.declineCode ? 'declined' : 'rejected');
    const status = payment.paid ? 'paid' : 'payment_failed';
    const { chargeId } = payment;
    Object.assign(progress, { status, ...(chargeId && { chargeId }) });

    let receipt: ReceiptState = 'skipped';
    let opsNotified = false;
    if (payment.paid) {
      progress.step = 'send-receipt';
      try {
        await sendReceipt({ order, chargeId: payment.chargeId });
        receipt = 'sent';
      } catch (error) {
        countOrderEvent('receiptFailed');
        receipt = 'failed';
        progress.reason = `Receipt not sent: ${failureMessage(error)}`;
        progress.step = 'notify-ops';
        opsNotified = await tryNotifyOps({ kind: 'receipt-failed', order, chargeId: payment.chargeId, reason: failureMessage(error) });
      }
    } else {
      Object.assign(progress, { reason: payment.reason, ...(payment.declineCode && { declineCode: payment.declineCode }) });
      progress.step = 'notify-ops';
      opsNotified = await tryNotifyOps({
        kind: 'payment-failed',
        order,
        reason: payment.reason,
        declineCode: payment.declineCode,
        chargeUncertain: payment.chargeUncertain,
      });
    }
    Object.assign(progress, { receipt, opsNotified });

    progress.step = 'update-order-status';
    await recordOrderStatus({ orderId: order.orderId, status, ...(chargeId && { chargeId }) });

    progress.step = 'completed';
    const { declineCode, reason } = progress;
    return {
      orderId: order.orderId,
      status,
      ...(chargeId && { chargeId }),
      ...(declineCode && { declineCode }),
      ...(reason && { reason }),
      receipt,
      opsNotified,
    };
  } catch (error) {
    if (!(error instanceof CancelledFailure)) {
      progress.step = 'failed';
      progress.error = failureMessage(error);
    }
    throw error;
  }
}

/** Update Order Status; when it cannot succeed, the run fails saying what the order's true status is. */
async function recordOrderStatus(update: Parameters<OrderActivities['updateOrderStatus']>[0]): Promise<void> {
  try {
    await updateOrderStatus(update);
  } catch (error) {
    throw ApplicationFailure.create({
      // No type: the 7-day schedule-to-close timeout ran out while the backend stayed unavailable.
      type: failureType(error) ?? ORDER_BACKEND_UNAVAILABLE,
      message: `Order ${update.orderId} is ${update.status} but its record could not be updated: ${failureMessage(error)}`,
      nonRetryable: true,
    });
  }
}

/** Marks the order cancelled in the backend and ends the run as cancelled; nothing was charged. */
async function cancelBeforeCharge(order: Order, progress: OrderProgress): Promise<never> {
  progress.step = 'update-order-status';
  progress.status = 'cancelled';
  await recordOrderStatus({ orderId: order.orderId, status: 'cancelled' });
  progress.step = 'cancelled';
  throw new CancelledFailure(`Order ${order.orderId} was cancelled before the charge: nothing was charged`);
}

/** Notify Ops must never stop the order from being recorded: a failed alert is reported, not thrown. */
async function tryNotifyOps(alert: Parameters<OrderActivities['notifyOps']>[0]): Promise<boolean> {
  try {
    await notifyOps(alert);
    return true;
  } catch {
    countOrderEvent('opsAlertFailed');
    return false;
  }
}
