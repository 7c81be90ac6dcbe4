import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import type { OpsAlert, Order, OrderParams, OrderProgress, OrderResult, ReceiptState } from '../domain/order.js';
import { INVALID_ORDER, ORDER_BACKEND_UNAVAILABLE, ORDER_STATUS_REJECTED, REFUND_REFUSED } from '../domain/failures.js';
import { countOrderEvent, countPaymentFailed } from '../metrics/workflow-counters.js';
import { applicationFailureOf, failureMessage, failureType } from './failures.js';
import { chargeWithChargesApi } from './legacy-charge.js';
import { payWithPaymentIntent, type PaymentOutcome } from './payment.js';
import { STRIPE_EVENT_SIGNAL, type RefundOutcome, type StripeEventHint } from '../domain/payment.js';

export const statusQuery = defineQuery<OrderProgress>('status');
/** Stripe's webhook events for the order (POST /webhooks/stripe): hints to ask Stripe again, never the truth. */
const stripeEventSignal = defineSignal<[StripeEventHint]>(STRIPE_EVENT_SIGNAL);

/** Parse Order is pure validation: a short timeout, and an invalid order fails without retry. */
const PARSE_ORDER_OPTIONS = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
} as const;
/** Runs started before Parse Order became a local activity still replay through an activity task. */
const { parseOrder: parseOrderTask } = proxyActivities<OrderActivities>(PARSE_ORDER_OPTIONS);
/**
 * Parse Order as a local activity: it runs on the worker that runs the workflow, recorded as a marker,
 * with no task queue round trip (about a third less Temporal server CPU per order; docs/benchmark.md, Tuning).
 */
const { parseOrder: parseOrderLocally } = proxyLocalActivities<OrderActivities>(PARSE_ORDER_OPTIONS);
const PARSE_ORDER_LOCAL_ACTIVITY = 'parse-order-local-activity';

/** Charge Card with PaymentIntents and no guessed outcome; runs started before it keep the Charges API. */
const PAYMENT_INTENTS = 'payment-intents';
/** A paid order the backend refuses for good is refunded; runs started before it fail saying so. */
const REFUND_REFUSED_ORDERS = 'refund-refused-orders';

/** Notifications: a few quick retries, then the run goes on without them. */
const { sendReceipt, sendPaymentAction, notifyOps } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** A refund must happen: keep retrying Stripe within the 24 h its idempotency key is kept. */
const { refundPayment } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '23 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** The order record must end up right: keep retrying a backend outage for up to a week. */
const { updateOrderStatus } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

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
  const stripeEvents = { received: 0 };
  setHandler(stripeEventSignal, () => {
    stripeEvents.received += 1;
  });
  CancellationScope.current().cancelRequested.catch(() => {
    progress.cancellation = progress.step === 'parse-order' ? 'honoured' : 'too-late';
  });
  // Activities never see the cancellation: the decision above is the only one.
  return CancellationScope.nonCancellable(() => processOrder(params, progress, stripeEvents));
}

async function processOrder(params: OrderParams, progress: OrderProgress, stripeEvents: { received: number }): Promise<OrderResult> {
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
    let pendingRecorded: Promise<unknown> | undefined;
    /** Alerts and emails sent while the payment waits: all finish before any later alert and before the run ends. */
    const waitingNotices: Promise<boolean>[] = [];
    /** The order is payment_pending, recorded once; neither the record nor an email holds up the questions to Stripe. */
    const recordPending = (reason: string, paymentIntentId: string | undefined) => {
      progress.status = 'payment_pending';
      progress.reason = reason;
      pendingRecorded ??= recordOrderStatus({ orderId: order.orderId, status: 'payment_pending', ...(paymentIntentId && { paymentIntentId }) }).catch(
        (error: unknown) => error,
      );
    };
    const payment = patched(PAYMENT_INTENTS)
      ? await payWithPaymentIntent(order, {
          onPaymentIntent: (paymentIntentId) => {
            progress.paymentIntentId = paymentIntentId;
          },
          onWaiting: ({ reason, paymentIntentId, until }) => {
            recordPending(reason, paymentIntentId);
            waitingNotices.push(
              tryNotifyOps({ kind: 'payment-waiting', order, reason, until: new Date(until).toISOString(), ...(paymentIntentId && { paymentIntentId }) }),
            );
          },
          onCustomerAction: ({ reason, paymentIntentId, until }) => {
            recordPending(`Waiting for the customer to confirm the payment: ${reason}`, paymentIntentId);
            progress.step = 'customer-action';
            // Ops hear of it only when the customer cannot be asked.
            waitingNotices.push(
              sendPaymentAction({ order, until: new Date(until).toISOString() }).then(
              () => false,
              (error: unknown) =>
                tryNotifyOps({
                  kind: 'payment-waiting',
                  order,
                  paymentIntentId,
                  until: new Date(until).toISOString(),
                  reason: `the customer must confirm the payment, but the email asking them could not be sent (${failureMessage(error)})`,
                }),
              ),
            );
          },
          stripeEventsReceived: () => stripeEvents.received,
        })
      : await chargeWithChargesApi(order);
    countPayment(payment);
    const { status, paymentIntentId } = payment;
    const chargeId = payment.status === 'paid' ? payment.chargeId : undefined;
    Object.assign(progress, { status, ...(paymentIntentId && { paymentIntentId }), ...(chargeId && { chargeId }) });

    let receipt: ReceiptState = 'skipped';
    let opsNotified = false;
    const waitingAlertPosted = (await Promise.all(waitingNotices)).some((posted) => posted);
    if (payment.status === 'paid') {
      delete progress.reason; // why the run had to wait, if it did: settled now
      // Ops who were told the order is waiting learn how it ended.
      if (waitingAlertPosted) {
        progress.step = 'notify-ops';
        opsNotified = await tryNotifyOps({ kind: 'payment-settled', order, ...(paymentIntentId && { paymentIntentId }) });
      }
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
      progress.reason = payment.reason;
      if (payment.status === 'payment_failed' && payment.declineCode) progress.declineCode = payment.declineCode;
      progress.step = 'notify-ops';
      opsNotified = await tryNotifyOps(paymentAlert(order, payment));
    }
    Object.assign(progress, { receipt, opsNotified });

    progress.step = 'update-order-status';
    const pendingFailure = await pendingRecorded;
    if (status !== 'payment_pending') {
      if (pendingFailure) log.warn('The payment_pending record failed; recording the final status', { orderId: order.orderId, error: failureMessage(pendingFailure) });
      try {
        await recordOrderStatus({ orderId: order.orderId, status, ...(paymentIntentId && { paymentIntentId }), ...(chargeId && { chargeId }) });
      } catch (error) {
        const refusedForGood = failureType(error) === ORDER_STATUS_REJECTED;
        if (payment.status !== 'paid' || !payment.paymentIntentId || !refusedForGood || !patched(REFUND_REFUSED_ORDERS)) throw error;
        const refund = await refundRefusedOrder(order, payment.paymentIntentId, failureMessage(error), progress);
        progress.step = 'completed';
        return { orderId: order.orderId, status: 'refunded', paymentIntentId, chargeId, refund, reason: progress.reason!, receipt, opsNotified: refund.opsNotified };
      }
    } else if (pendingFailure) {
      throw pendingFailure;
    }

    progress.step = 'completed';
    const { declineCode, reason } = progress;
    return {
      orderId: order.orderId,
      status,
      ...(paymentIntentId && { paymentIntentId }),
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

/**
 * The order backend refused for good to record a paid order: the money must not stay taken. Refunds it
 * in full (idempotency key `order-<orderId>/refund`), tells ops, and records `refunded` if the backend
 * accepts it. A refund that cannot be made fails the run, saying so, after telling ops.
 */
async function refundRefusedOrder(order: Order, paymentIntentId: string, refusal: string, progress: OrderProgress): Promise<NonNullable<OrderResult['refund']>> {
  progress.step = 'refund';
  const reason = `The order backend refused to record the payment: ${refusal}`;
  progress.reason = reason;
  let refund: RefundOutcome;
  try {
    refund = await refundPayment({ orderId: order.orderId, paymentIntentId, reason });
  } catch (error) {
    await tryNotifyOps({ kind: 'refund-failed', order, paymentIntentId, reason: `${reason}; the refund failed: ${failureMessage(error)}` });
    throw ApplicationFailure.create({
      type: failureType(error) ?? REFUND_REFUSED,
      message: `Order ${order.orderId} is paid (PaymentIntent ${paymentIntentId}) but its backend refused it and the refund failed: ${failureMessage(error)}`,
      nonRetryable: true,
    });
  }
  progress.status = 'refunded';
  countOrderEvent('refunded');
  progress.step = 'notify-ops';
  const opsNotified = await tryNotifyOps({ kind: 'order-refunded', order, paymentIntentId, refundId: refund.refundId, amount: refund.amount, refundStatus: refund.status, reason });
  progress.step = 'update-order-status';
  const backendRecorded = await updateOrderStatus({ orderId: order.orderId, status: 'refunded', paymentIntentId }).then(
    () => true,
    (error: unknown) => {
      log.warn('The order backend refused the refunded status too', { orderId: order.orderId, error: failureMessage(error) });
      return false;
    },
  );
  return { refundId: refund.refundId, amount: refund.amount, backendRecorded, opsNotified };
}

/** Marks the order cancelled in the backend and ends the run as cancelled; nothing was charged. */
async function cancelBeforeCharge(order: Order, progress: OrderProgress): Promise<never> {
  progress.step = 'update-order-status';
  progress.status = 'cancelled';
  await recordOrderStatus({ orderId: order.orderId, status: 'cancelled' });
  progress.step = 'cancelled';
  throw new CancelledFailure(`Order ${order.orderId} was cancelled before the charge: nothing was charged`);
}

function countPayment(payment: PaymentOutcome): void {
  if (payment.status === 'paid') countOrderEvent('paid');
  else if (payment.status === 'payment_failed') countPaymentFailed(payment.cause);
  else countOrderEvent('paymentUnresolved');
}

/** Ops are told of a failed payment, or of one Stripe could not settle in time and what to check. */
function paymentAlert(order: Order, payment: Exclude<PaymentOutcome, { status: 'paid' }>): OpsAlert {
  const { reason, paymentIntentId } = payment;
  if (payment.status === 'payment_pending') {
    return { kind: 'payment-unresolved', order, reason, since: new Date(payment.since).toISOString(), ...(paymentIntentId && { paymentIntentId }) };
  }
  const { declineCode, chargeUncertain } = payment;
  return {
    kind: 'payment-failed',
    order,
    reason,
    ...(declineCode && { declineCode }),
    ...(paymentIntentId && { paymentIntentId }),
    ...(chargeUncertain !== undefined && { chargeUncertain }),
  };
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
