import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  log,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import type { OpsAlert, Order, OrderParams, OrderResult, ReceiptState } from '../domain/order.js';
import {
  INVALID_ORDER,
  ORDER_BACKEND_MISCONFIGURED,
  ORDER_BACKEND_UNAVAILABLE,
  ORDER_STATUS_REJECTED,
  REFUND_FAILED,
  REFUND_REFUSED,
} from '../domain/failures.js';
import { ORDER_OUTCOME, type OrderOutcome } from '../domain/search-attributes.js';
import { UNSETTLED_REFUND_STATUSES, type RefundOutcome } from '../domain/payment.js';
import { paymentAnswerOf, type PaymentAnswer } from '../domain/payment-answer.js';
import { countOrderEvent, countPaymentFailed } from './counters.js';
import { NOTIFICATION_OPTIONS, ORDER_STATUS_OPTIONS, PARSE_ORDER_OPTIONS, REFUND_OPTIONS } from './activity-options.js';
import { applicationFailureOf, failureMessage, failureType } from './activity-failures.js';
import { chargeWithChargesApi } from './legacy-charge.js';
import { localOrderActivity, orderActivity } from './activity-proxies.js';
import { OrderProgressState } from './order-progress.js';
import { payWithPaymentIntent, type PaymentOutcome } from './charge-card.js';
import { settledRefund } from './refund-settlement.js';
import { paymentUpdate, statusQuery, stripeEventSignal } from './names.js';

/**
 * Parse Order as a local activity: it runs on the worker that runs the workflow, recorded as a marker,
 * with no task queue round trip (about a third less Temporal server CPU per order; docs/benchmark.md, Tuning).
 * Runs started before it still replay through an activity task.
 */
const PARSE_ORDER_LOCAL_ACTIVITY = 'parse-order-local-activity';
/** Charge Card with PaymentIntents and no guessed outcome; runs started before it keep the Charges API. */
const PAYMENT_INTENTS = 'payment-intents';
/** A paid order the backend refuses for good is refunded; runs started before it fail saying so. */
const REFUND_REFUSED_ORDERS = 'refund-refused-orders';
/** That refund is recorded as Stripe settles it; runs started before it recorded Stripe's first answer. */
const SETTLE_REFUNDS = 'settle-refunds';
/** The run's OrderOutcome search attribute; runs started before it carry none. */
const ORDER_OUTCOME_SEARCH_ATTRIBUTE = 'order-outcome-search-attribute';
/** A run that ends with the backend unaware of the order's status tells ops first; runs started before it did not. */
const TELL_OPS_UNRECORDED = 'tell-ops-unrecorded';

/** A backend that answers as misconfigured (401, 404, 400...) is asked again on this durable backoff, for up to a week. */
const FIRST_BACKEND_RETRY_MS = 60_000;
const LONGEST_BACKEND_RETRY_MS = 60 * 60_000;
const MISCONFIGURED_BACKEND_RETRY_LIMIT_MS = 7 * 24 * 60 * 60_000;

const parseOrderTask = orderActivity('parseOrder', PARSE_ORDER_OPTIONS);
const parseOrderLocally = localOrderActivity('parseOrder', PARSE_ORDER_OPTIONS);
const sendReceipt = orderActivity('sendReceipt', NOTIFICATION_OPTIONS);
const sendPaymentAction = orderActivity('sendPaymentAction', NOTIFICATION_OPTIONS);
const notifyOps = orderActivity('notifyOps', NOTIFICATION_OPTIONS);
const updateOrderStatus = orderActivity('updateOrderStatus', ORDER_STATUS_OPTIONS);
const refundPayment = orderActivity('refundPayment', REFUND_OPTIONS);

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
  // Every patch the run takes from the start is decided here, before its first await. A status query
  // answered while Parse Order runs can end the first workflow task early, so a patched() call made after
  // Parse Order may be recorded in the second task yet replayed in the first, where it would read false.
  const parseLocally = patched(PARSE_ORDER_LOCAL_ACTIVITY);
  const payWithIntents = patched(PAYMENT_INTENTS);
  const recordOutcome = outcomeRecorder(patched(ORDER_OUTCOME_SEARCH_ATTRIBUTE));
  const progress = new OrderProgressState(recordOutcome);
  setHandler(statusQuery, () => progress.snapshot);
  setHandler(paymentUpdate, async (after?: PaymentAnswer['status']) => {
    let answer: PaymentAnswer | undefined;
    await condition(() => (answer = paymentAnswerOf(progress.snapshot)) !== undefined && answer.status !== after);
    return answer!;
  });
  let stripeEventsReceived = 0;
  setHandler(stripeEventSignal, () => {
    stripeEventsReceived += 1;
  });
  CancellationScope.current().cancelRequested.catch(() => {
    progress.update({ cancellation: progress.snapshot.step === 'parse-order' ? 'honoured' : 'too-late' });
  });
  // Activities never see the cancellation: the decision above is the only one.
  return CancellationScope.nonCancellable(async () => {
    try {
      const order = await parse(params, parseLocally, recordOutcome);
      progress.update({ orderId: order.orderId });
      const orderRecord = new OrderRecord(order);
      if (progress.snapshot.cancellation === 'honoured') return await cancelBeforeCharge(order, orderRecord, progress);
      const charged = await charge(order, orderRecord, progress, () => stripeEventsReceived, payWithIntents);
      const notified = await notify(order, charged, progress);
      return await record(order, orderRecord, charged, notified, progress);
    } catch (error) {
      if (!(error instanceof CancelledFailure)) progress.update({ step: 'failed', error: failureMessage(error) });
      throw error;
    }
  });
}

/** Parse Order (a local activity unless the run predates it): an invalid order fails the run at once, without retry, naming the field. */
async function parse(params: OrderParams, locally: boolean, recordOutcome: (outcome: OrderOutcome) => void): Promise<Order> {
  try {
    return locally ? await parseOrderLocally(params) : await parseOrderTask(params);
  } catch (error) {
    if (failureType(error) !== INVALID_ORDER) throw error;
    countOrderEvent('invalid');
    recordOutcome('invalid');
    throw ApplicationFailure.create({
      type: INVALID_ORDER,
      message: failureMessage(error),
      nonRetryable: true,
      details: applicationFailureOf(error)?.details ?? undefined,
    });
  }
}

/** What Charge Card leaves to the later steps. */
interface Charged {
  payment: PaymentOutcome;
  /** Stripe's charge, when paid. */
  chargeId?: string;
  /** Alerts and emails sent while the payment waited: all finish before any later alert and before the run ends. */
  waitingNotices: Promise<boolean>[];
  /** The payment_pending record, made once when the run began to wait; resolves to its failure, if any. */
  pendingRecorded?: Promise<Error | void>;
}

/**
 * Charge Card: a PaymentIntent settled on Stripe's records (payment.ts); runs started before it use the
 * Charges API. While the run waits for Stripe or the customer, the order is recorded payment_pending,
 * once; neither that record nor an email holds up the questions to Stripe.
 */
async function charge(
  order: Order,
  orderRecord: OrderRecord,
  progress: OrderProgressState,
  stripeEventsReceived: () => number,
  payWithIntents: boolean,
): Promise<Charged> {
  progress.update({ step: 'charge-card' });
  const waitingNotices: Promise<boolean>[] = [];
  let pendingRecorded: Promise<Error | void> | undefined;
  const recordPending = (reason: string, paymentIntentId: string | undefined) => {
    progress.update({ status: 'payment_pending', reason });
    pendingRecorded ??= orderRecord
      .write({
        status: 'payment_pending',
        ...(paymentIntentId && { paymentIntentId }),
      })
      .catch((error: Error) => error);
  };
  const payment = payWithIntents
    ? await payWithPaymentIntent(order, {
        onPaymentIntent: (paymentIntentId) => progress.update({ paymentIntentId }),
        onWaiting: ({ reason, paymentIntentId, until }) => {
          recordPending(reason, paymentIntentId);
          waitingNotices.push(
            tryNotifyOps({
              kind: 'payment-waiting',
              order,
              reason,
              until: new Date(until).toISOString(),
              ...(paymentIntentId && { paymentIntentId }),
            }),
          );
        },
        onCustomerAction: ({ reason, paymentIntentId, until }) => {
          recordPending(`Waiting for the customer to confirm the payment: ${reason}`, paymentIntentId);
          // On session the customer confirms at the checkout, which the payment update tells (requires_action): no email.
          const customerAsked = order.confirmOnSession ? 'on_session' : 'by_email';
          progress.update({ step: 'customer-action', customerAsked });
          if (customerAsked === 'by_email')
            waitingNotices.push(askCustomerToConfirm(order, paymentIntentId, new Date(until).toISOString()));
        },
        stripeEventsReceived,
      })
    : await chargeWithChargesApi(order);
  countPayment(payment);
  const { status, paymentIntentId } = payment;
  const chargeId = payment.status === 'paid' ? payment.chargeId : undefined;
  progress.update({ status, ...(paymentIntentId && { paymentIntentId }), ...(chargeId && { chargeId }) });
  return { payment, chargeId, waitingNotices, pendingRecorded };
}

/** The customer is asked by email to confirm the payment; ops hear of it (true: alert posted) only when the email fails. */
function askCustomerToConfirm(order: Order, paymentIntentId: string, until: string): Promise<boolean> {
  return sendPaymentAction({ order, until }).then(
    () => false,
    (error: unknown) =>
      tryNotifyOps({
        kind: 'payment-waiting',
        order,
        paymentIntentId,
        until,
        reason: `the customer must confirm the payment, but the email asking them could not be sent (${failureMessage(error)})`,
      }),
  );
}

/** What Send Receipt and Notify Ops did: they never hold back the order record. */
interface Notified {
  receipt: ReceiptState;
  opsNotified: boolean;
}

/**
 * Payment Decision: Send Receipt when paid (ops are told if it fails), else Notify Ops with the failure
 * or with what to check. Ops who were told the order is waiting learn how it ended.
 */
async function notify(order: Order, { payment, waitingNotices }: Charged, progress: OrderProgressState): Promise<Notified> {
  const waitingAlertPosted = (await Promise.all(waitingNotices)).some((posted) => posted);
  if (payment.status !== 'paid') {
    const declineCode = payment.status === 'payment_failed' ? payment.declineCode : undefined;
    progress.update({ reason: payment.reason, ...(declineCode && { declineCode }), step: 'notify-ops' });
    return { receipt: 'skipped', opsNotified: await tryNotifyOps(paymentAlert(order, payment)) };
  }
  if (payment.paidBefore) {
    // The customer had their receipt from the run that charged them.
    progress.update({ reason: `Paid before this run by PaymentIntent ${payment.paymentIntentId}: not charged again, no second receipt` });
    return { receipt: 'skipped', opsNotified: false };
  }
  progress.update({ reason: undefined }); // why the run had to wait, if it did: settled now
  let opsNotified = false;
  if (waitingAlertPosted) {
    progress.update({ step: 'notify-ops' });
    const { paymentIntentId } = payment;
    opsNotified = await tryNotifyOps({ kind: 'payment-settled', order, ...(paymentIntentId && { paymentIntentId }) });
  }
  progress.update({ step: 'send-receipt' });
  try {
    await sendReceipt({ order, chargeId: payment.chargeId });
    return { receipt: 'sent', opsNotified };
  } catch (error) {
    countOrderEvent('receiptFailed');
    progress.update({ reason: `Receipt not sent: ${failureMessage(error)}`, step: 'notify-ops' });
    return {
      receipt: 'failed',
      opsNotified: await tryNotifyOps({ kind: 'receipt-failed', order, chargeId: payment.chargeId, reason: failureMessage(error) }),
    };
  }
}

/**
 * Update Order Status: the payment's outcome (an order still payment_pending was recorded when the run
 * began to wait). A paid order the backend refuses for good is refunded.
 */
async function record(
  order: Order,
  orderRecord: OrderRecord,
  charged: Charged,
  { receipt, opsNotified }: Notified,
  progress: OrderProgressState,
): Promise<OrderResult> {
  const { payment, chargeId, pendingRecorded } = charged;
  const { status, paymentIntentId } = payment;
  progress.update({ receipt, opsNotified, step: 'update-order-status' });
  const pendingFailure = await pendingRecorded;
  if (status !== 'payment_pending') {
    if (pendingFailure)
      log.warn('The payment_pending record failed; recording the final status', {
        orderId: order.orderId,
        error: failureMessage(pendingFailure),
      });
    try {
      await orderRecord.write({
        status,
        ...(paymentIntentId && { paymentIntentId }),
        ...(chargeId && { chargeId }),
      });
    } catch (error) {
      const refusedForGood = failureType(error) === ORDER_STATUS_REJECTED;
      if (payment.status !== 'paid' || !payment.paymentIntentId || !refusedForGood || !patched(REFUND_REFUSED_ORDERS)) throw error;
      const reason = `The order backend refused to record the payment: ${failureMessage(error)}`;
      const refund = await refundRefusedOrder(order, payment.paymentIntentId, reason, progress);
      progress.update({ step: 'completed' });
      return {
        orderId: order.orderId,
        status: 'refunded',
        paymentIntentId,
        chargeId,
        refund,
        reason,
        receipt,
        opsNotified: refund.opsNotified,
      };
    }
  } else if (pendingFailure) {
    await orderRecord.tellOpsUnrecorded(status, failureMessage(pendingFailure));
    throw pendingFailure;
  }

  progress.update({ step: 'completed' });
  const { declineCode, reason } = progress.snapshot;
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
}

/**
 * OrderOutcome on the run, as soon as the outcome is known and again whenever it changes, so the Web UI
 * list, `temporal workflow list --query` and `GET /api/runs?outcome=` show paid and failed orders apart.
 * Runs started before the patch record none.
 */
function outcomeRecorder(patchedIn: boolean): (outcome: OrderOutcome) => void {
  return (outcome) => {
    if (patchedIn) upsertSearchAttributes([{ key: ORDER_OUTCOME, value: outcome }]);
  };
}

type OrderStatusUpdate = Omit<Parameters<OrderActivities['updateOrderStatus']>[0], 'orderId'>;

/**
 * Update Order Status for one run's order. A backend that answers as misconfigured (401, 404, 400...:
 * our token, URL or body does not fit it) is never taken for a refusal: ops are told once what to
 * check, and the run asks again on a durable backoff for up to a week. When the record cannot be made,
 * ops are told (unless it is a paid order the backend refused, which the run refunds) and the run
 * fails saying what the order's true status is.
 */
class OrderRecord {
  #misconfigurationTold = false;

  constructor(private readonly order: Order) {}

  async write(update: OrderStatusUpdate): Promise<void> {
    const { order } = this;
    let waitMs = FIRST_BACKEND_RETRY_MS;
    let giveUpAt: number | undefined;
    for (;;) {
      try {
        await updateOrderStatus({ orderId: order.orderId, ...update });
        return;
      } catch (error) {
        if (failureType(error) === ORDER_BACKEND_MISCONFIGURED) {
          giveUpAt ??= Date.now() + MISCONFIGURED_BACKEND_RETRY_LIMIT_MS;
          if (!this.#misconfigurationTold) {
            this.#misconfigurationTold = true;
            await tryNotifyOps({
              kind: 'backend-misconfigured',
              order,
              status: update.status,
              reason: failureMessage(error),
              until: new Date(giveUpAt).toISOString(),
            });
          }
          if (Date.now() + waitMs < giveUpAt) {
            await sleep(waitMs);
            waitMs = Math.min(waitMs * 2, LONGEST_BACKEND_RETRY_MS);
            continue;
          }
        }
        const failure = ApplicationFailure.create({
          // No type: the 7-day schedule-to-close timeout ran out while the backend stayed unavailable.
          type: failureType(error) ?? ORDER_BACKEND_UNAVAILABLE,
          message: `Order ${order.orderId} is ${update.status} but its record could not be updated: ${failureMessage(error)}`,
          nonRetryable: true,
        });
        // The payment_pending record is final only if the run ends pending: record() tells ops then.
        const refundable = update.status === 'paid' && failure.type === ORDER_STATUS_REJECTED;
        if (!refundable && update.status !== 'payment_pending') await this.tellOpsUnrecorded(update.status, failureMessage(error));
        throw failure;
      }
    }
  }

  /** The run ends with the backend unaware of the order's status: ops must hear of it. */
  async tellOpsUnrecorded(status: OrderStatusUpdate['status'], reason: string): Promise<void> {
    if (patched(TELL_OPS_UNRECORDED)) await tryNotifyOps({ kind: 'order-unrecorded', order: this.order, status, reason });
  }
}

/**
 * The order backend refused for good to record a paid order: the money must not stay taken. Refunds it
 * in full (idempotency key `order-<orderId>/refund`), tells ops, and records `refunded` if the backend
 * accepts it. A refund that cannot be made fails the run, saying so, after telling ops.
 */
async function refundRefusedOrder(
  order: Order,
  paymentIntentId: string,
  reason: string,
  progress: OrderProgressState,
): Promise<NonNullable<OrderResult['refund']>> {
  progress.update({ step: 'refund', reason });
  const refundFailed = async (type: string, failure: string): Promise<never> => {
    await tryNotifyOps({ kind: 'refund-failed', order, paymentIntentId, reason: `${reason}; the refund failed: ${failure}` });
    throw ApplicationFailure.create({
      type,
      message: `Order ${order.orderId} is paid (PaymentIntent ${paymentIntentId}) but its backend refused it and the refund failed: ${failure}`,
      nonRetryable: true,
    });
  };
  let refund: RefundOutcome;
  try {
    refund = await refundPayment({ orderId: order.orderId, paymentIntentId, reason });
  } catch (error) {
    return await refundFailed(failureType(error) ?? REFUND_REFUSED, failureMessage(error));
  }
  if (patched(SETTLE_REFUNDS)) {
    if (UNSETTLED_REFUND_STATUSES.includes(refund.status))
      progress.update({ reason: `${reason}; waiting for Stripe to settle refund ${refund.refundId}` });
    refund = await settledRefund(refund);
    if (refund.status !== 'succeeded') {
      const why = refund.failureReason ? ` (${refund.failureReason})` : '';
      await refundFailed(REFUND_FAILED, `Stripe shows refund ${refund.refundId} ${refund.status}${why}: the money was not returned`);
    }
  }
  countOrderEvent('refunded');
  progress.update({ status: 'refunded', step: 'notify-ops' });
  const opsNotified = await tryNotifyOps({
    kind: 'order-refunded',
    order,
    paymentIntentId,
    refundId: refund.refundId,
    amount: refund.amount,
    refundStatus: refund.status,
    reason,
  });
  progress.update({ step: 'update-order-status' });
  const backendRecorded = await updateOrderStatus({
    orderId: order.orderId,
    status: 'refunded',
    paymentIntentId,
    amountRefunded: refund.amountRefunded,
  }).then(
    () => true,
    (error: unknown) => {
      log.warn('The order backend refused the refunded status too', { orderId: order.orderId, error: failureMessage(error) });
      return false;
    },
  );
  return { refundId: refund.refundId, amount: refund.amount, backendRecorded, opsNotified };
}

/** Marks the order cancelled in the backend and ends the run as cancelled; nothing was charged. */
async function cancelBeforeCharge(order: Order, orderRecord: OrderRecord, progress: OrderProgressState): Promise<never> {
  progress.update({ step: 'update-order-status', status: 'cancelled' });
  await orderRecord.write({ status: 'cancelled' });
  progress.update({ step: 'cancelled' });
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
    return {
      kind: 'payment-unresolved',
      order,
      reason,
      since: new Date(payment.since).toISOString(),
      ...(paymentIntentId && { paymentIntentId }),
    };
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
