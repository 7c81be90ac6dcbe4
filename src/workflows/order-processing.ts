import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/create-activities.js';
import type { OpsAlert, Order, OrderParams, OrderResult, ReceiptState } from '../domain/order.js';
import { INVALID_ORDER, ORDER_BACKEND_UNAVAILABLE, ORDER_STATUS_REJECTED, REFUND_FAILED, REFUND_REFUSED } from '../domain/failures.js';
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
import { MISCONFIGURED_BACKEND_RETRIES, recordOrderStatus } from './order-record.js';
import { tryNotifyOps } from './ops-alerts.js';

/** Parse Order as a local activity, with no task queue round trip; runs started before it replay an activity task. */
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
/** An order paid before this run is never refunded when its backend refuses it (the goods may have gone); runs before it refunded. */
const PAID_BEFORE_NEVER_REFUNDED = 'paid-before-never-refunded';

const parseOrderTask = orderActivity('parseOrder', PARSE_ORDER_OPTIONS);
const parseOrderLocally = localOrderActivity('parseOrder', PARSE_ORDER_OPTIONS);
const sendReceipt = orderActivity('sendReceipt', NOTIFICATION_OPTIONS);
const sendPaymentAction = orderActivity('sendPaymentAction', NOTIFICATION_OPTIONS);
const updateOrderStatus = orderActivity('updateOrderStatus', ORDER_STATUS_OPTIONS);
const refundPayment = orderActivity('refundPayment', REFUND_OPTIONS);

/**
 * Order Processing: Parse Order -> Charge Card -> Send Receipt (paid) or Notify Ops (failed) -> Update Order Status.
 * Workflow ID `order-<orderId>`. A cancel is honoured only before the charge (docs/workflow.md, "Cancellation").
 */
export async function orderProcessing(params: OrderParams): Promise<OrderResult> {
  const run = new OrderRun(decidePatches());
  run.answerQueriesAndUpdates();
  // Activities never see the cancellation: OrderRun decides once whether it is honoured.
  return CancellationScope.nonCancellable(async () => {
    try {
      await run.parseOrder(params);
      if (run.cancellationHonoured) return await run.cancelBeforeCharge();
      await run.chargeCard();
      await run.sendReceiptOrNotifyOps();
      return await run.updateOrderStatus();
    } catch (error) {
      run.failed(error);
      throw error;
    }
  });
}

/** The patches a run takes from its start: decided before its first await, or a query can split the first task (docs/workflow.md). */
interface StartPatches {
  parseLocally: boolean;
  payWithIntents: boolean;
  recordOutcome: boolean;
}

function decidePatches(): StartPatches {
  return {
    parseLocally: patched(PARSE_ORDER_LOCAL_ACTIVITY),
    payWithIntents: patched(PAYMENT_INTENTS),
    recordOutcome: patched(ORDER_OUTCOME_SEARCH_ATTRIBUTE),
  };
}

type OrderStatusUpdate = Omit<Parameters<OrderActivities['updateOrderStatus']>[0], 'orderId'>;

/**
 * One order's run: the order, its progress (the `status` query), the patches taken, and what each step
 * leaves to the next (the payment, notices in flight, the payment_pending record).
 */
class OrderRun {
  readonly progress: OrderProgressState;
  #order: Order | undefined;
  #stripeEventsReceived = 0;
  #payment: PaymentOutcome | undefined;
  /** Alerts and emails sent while the payment waited: all finish before any later alert and before the run ends. */
  readonly #waitingNotices: Promise<boolean>[] = [];
  /** The payment_pending record, made once when the run began to wait; resolves to its failure, if any. */
  #pendingRecorded: Promise<Error | void> | undefined;
  #receipt: ReceiptState = 'skipped';
  #opsNotified = false;
  #misconfigurationTold = false;

  constructor(private readonly patches: StartPatches) {
    this.progress = new OrderProgressState((outcome) => this.recordOutcome(outcome));
  }

  get order(): Order {
    if (!this.#order) throw new Error('The order is read before Parse Order');
    return this.#order;
  }

  get cancellationHonoured(): boolean {
    return this.progress.snapshot.cancellation === 'honoured';
  }

  /** Registered before the first await: an update sent with the start must find its handler. */
  answerQueriesAndUpdates(): void {
    const { progress } = this;
    setHandler(statusQuery, () => progress.snapshot);
    setHandler(paymentUpdate, async (after?: PaymentAnswer['status']) => {
      let answer: PaymentAnswer | undefined;
      await condition(() => (answer = paymentAnswerOf(progress.snapshot)) !== undefined && answer.status !== after);
      return answer!;
    });
    setHandler(stripeEventSignal, () => {
      this.#stripeEventsReceived += 1;
    });
    CancellationScope.current().cancelRequested.catch(() => {
      progress.update({ cancellation: progress.snapshot.step === 'parse-order' ? 'honoured' : 'too-late' });
    });
  }

  failed(error: unknown): void {
    if (!(error instanceof CancelledFailure)) this.progress.update({ step: 'failed', error: failureMessage(error) });
  }

  /** OrderOutcome on the run as soon as it is known and whenever it changes, for lists by outcome. */
  private recordOutcome(outcome: OrderOutcome): void {
    if (this.patches.recordOutcome) upsertSearchAttributes([{ key: ORDER_OUTCOME, value: outcome }]);
  }

  /** Parse Order: an invalid order fails the run at once, without retry, naming the field. */
  async parseOrder(params: OrderParams): Promise<void> {
    try {
      this.#order = this.patches.parseLocally ? await parseOrderLocally(params) : await parseOrderTask(params);
    } catch (error) {
      if (failureType(error) !== INVALID_ORDER) throw error;
      countOrderEvent('invalid');
      this.recordOutcome('invalid');
      throw ApplicationFailure.create({
        type: INVALID_ORDER,
        message: failureMessage(error),
        nonRetryable: true,
        details: applicationFailureOf(error)?.details ?? undefined,
      });
    }
    this.progress.update({ orderId: this.#order.orderId });
  }

  /** Marks the order cancelled in the backend and ends the run as cancelled; nothing was charged. */
  async cancelBeforeCharge(): Promise<never> {
    this.progress.update({ step: 'update-order-status', status: 'cancelled' });
    await this.writeRecord({ status: 'cancelled' });
    this.progress.update({ step: 'cancelled' });
    throw new CancelledFailure(`Order ${this.order.orderId} was cancelled before the charge: nothing was charged`);
  }

  /** Charge Card on Stripe's record (charge-card.ts); runs started before PaymentIntents use the Charges API. */
  async chargeCard(): Promise<void> {
    const { order, progress } = this;
    progress.update({ step: 'charge-card' });
    const payment = this.patches.payWithIntents
      ? await payWithPaymentIntent(order, {
          onPaymentIntent: (paymentIntentId) => progress.update({ paymentIntentId }),
          onWaiting: ({ reason, paymentIntentId, until }) => {
            this.recordPending(reason, paymentIntentId);
            this.#waitingNotices.push(
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
            this.recordPending(`Waiting for the customer to confirm the payment: ${reason}`, paymentIntentId);
            // On session the checkout hears requires_action from the payment update: no email.
            const customerAsked = order.confirmOnSession ? 'on_session' : 'by_email';
            progress.update({ step: 'customer-action', customerAsked });
            if (customerAsked === 'by_email')
              this.#waitingNotices.push(this.askCustomerToConfirm(paymentIntentId, new Date(until).toISOString()));
          },
          stripeEventsReceived: () => this.#stripeEventsReceived,
        })
      : await chargeWithChargesApi(order);
    countPayment(payment);
    const { paymentIntentId } = payment;
    const chargeId = payment.status === 'paid' ? payment.chargeId : undefined;
    progress.update({ status: recordedStatusOf(payment), ...(paymentIntentId && { paymentIntentId }), ...(chargeId && { chargeId }) });
    this.#payment = payment;
  }

  /** The order is recorded payment_pending once, without holding up the questions to Stripe. */
  private recordPending(reason: string, paymentIntentId: string | undefined): void {
    this.progress.update({ status: 'payment_pending', reason });
    this.#pendingRecorded ??= this.writeRecord({ status: 'payment_pending', ...(paymentIntentId && { paymentIntentId }) }).catch(
      (error: Error) => error,
    );
  }

  /** Resolves true when ops were told, which happens only if the email asking the customer failed. */
  private askCustomerToConfirm(paymentIntentId: string, until: string): Promise<boolean> {
    const { order } = this;
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

  private get payment(): PaymentOutcome {
    if (!this.#payment) throw new Error('The payment is read before Charge Card');
    return this.#payment;
  }

  /** Payment Decision: Send Receipt when paid, else Notify Ops; ops told the order waited learn how it ended. */
  async sendReceiptOrNotifyOps(): Promise<void> {
    const { order, payment, progress } = this;
    const waitingAlertPosted = (await Promise.all(this.#waitingNotices)).some((posted) => posted);
    if (payment.status !== 'paid') {
      const declineCode = payment.status === 'payment_failed' ? payment.declineCode : undefined;
      progress.update({ reason: payment.reason, ...(declineCode && { declineCode }), step: 'notify-ops' });
      this.#opsNotified = await tryNotifyOps(paymentAlert(order, payment));
      return;
    }
    if (payment.paidBefore) {
      // The customer had their receipt from the run that charged them.
      const since = recordedStatusOf(payment) === 'paid' ? '' : `, ${recordedStatusOf(payment).replace('_', ' ')} since`;
      progress.update({
        reason: `Paid before this run by PaymentIntent ${payment.paymentIntentId}${since}: not charged again, no second receipt`,
      });
      return;
    }
    progress.update({ reason: undefined }); // why the run had to wait, if it did: settled now
    if (waitingAlertPosted) {
      progress.update({ step: 'notify-ops' });
      const { paymentIntentId } = payment;
      this.#opsNotified = await tryNotifyOps({ kind: 'payment-settled', order, ...(paymentIntentId && { paymentIntentId }) });
    }
    progress.update({ step: 'send-receipt' });
    try {
      await sendReceipt({ order, chargeId: payment.chargeId });
      this.#receipt = 'sent';
    } catch (error) {
      countOrderEvent('receiptFailed');
      progress.update({ reason: `Receipt not sent: ${failureMessage(error)}`, step: 'notify-ops' });
      this.#receipt = 'failed';
      this.#opsNotified = await tryNotifyOps({ kind: 'receipt-failed', order, chargeId: payment.chargeId, reason: failureMessage(error) });
    }
  }

  /** Update Order Status with the payment's outcome; a paid order the backend refuses for good is refunded. */
  async updateOrderStatus(): Promise<OrderResult> {
    const { order, payment, progress } = this;
    const receipt = this.#receipt;
    const { paymentIntentId } = payment;
    const status = recordedStatusOf(payment);
    const chargeId = payment.status === 'paid' ? payment.chargeId : undefined;
    const amountRefunded = payment.status === 'paid' && payment.sinceThen?.amountRefunded;
    progress.update({ receipt, opsNotified: this.#opsNotified, step: 'update-order-status' });
    const pendingFailure = await this.#pendingRecorded;
    if (status !== 'payment_pending') {
      if (pendingFailure)
        log.warn('The payment_pending record failed; recording the final status', {
          orderId: order.orderId,
          error: failureMessage(pendingFailure),
        });
      try {
        await this.writeRecord({
          status,
          ...(paymentIntentId && { paymentIntentId }),
          ...(chargeId && { chargeId }),
          ...(amountRefunded && { amountRefunded }),
        });
      } catch (error) {
        const refusedForGood = failureType(error) === ORDER_STATUS_REJECTED;
        if (!payment.paymentIntentId || !refusedForGood || !this.refusalRefunds(status) || !patched(REFUND_REFUSED_ORDERS)) throw error;
        const reason = `The order backend refused to record the payment: ${failureMessage(error)}`;
        const refund = await this.refundRefusedOrder(payment.paymentIntentId, reason);
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
      await this.tellOpsUnrecorded(status, failureMessage(pendingFailure));
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
      opsNotified: this.#opsNotified,
    };
  }

  /**
   * Writes the order's status to its backend; a misconfigured backend is asked again on a durable backoff, and ops are
   * told once per run (docs/payments.md). The failure it throws names the order's true status.
   */
  private async writeRecord(update: OrderStatusUpdate): Promise<void> {
    const { order } = this;
    try {
      await recordOrderStatus({ orderId: order.orderId, ...update }, async ({ reason, until }) => {
        if (this.#misconfigurationTold) return;
        this.#misconfigurationTold = true;
        await tryNotifyOps({ kind: 'backend-misconfigured', order, status: update.status, reason, until });
      });
    } catch (error) {
      const failure = ApplicationFailure.create({
        // No type: the 7-day schedule-to-close timeout ran out while the backend stayed unavailable.
        type: failureType(error) ?? ORDER_BACKEND_UNAVAILABLE,
        message: `Order ${order.orderId} is ${update.status} but its record could not be updated: ${failureMessage(error)}`,
        nonRetryable: true,
      });
      // The payment_pending record is final only if the run ends pending: updateOrderStatus() tells ops then.
      const refundable = failure.type === ORDER_STATUS_REJECTED && this.refusalRefunds(update.status);
      if (!refundable && update.status !== 'payment_pending') await this.tellOpsUnrecorded(update.status, failureMessage(error));
      throw failure;
    }
  }

  /** A backend's refusal of a paid order refunds it, unless the order was paid before this run (docs/payments.md). */
  private refusalRefunds(status: OrderStatusUpdate['status']): boolean {
    return status === 'paid' && !(this.payment.status === 'paid' && this.payment.paidBefore && patched(PAID_BEFORE_NEVER_REFUNDED));
  }

  /** The run ends with the backend unaware of the order's status: ops must hear of it. */
  private async tellOpsUnrecorded(status: OrderStatusUpdate['status'], reason: string): Promise<void> {
    if (patched(TELL_OPS_UNRECORDED)) await tryNotifyOps({ kind: 'order-unrecorded', order: this.order, status, reason });
  }

  /**
   * The backend refused a paid order for good: the money must not stay taken. Refunds it in full, settled on
   * Stripe's record, tells ops, and records `refunded`; a refund that cannot be made fails the run.
   */
  private async refundRefusedOrder(paymentIntentId: string, reason: string): Promise<NonNullable<OrderResult['refund']>> {
    const { order, progress } = this;
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
    const record = { status: 'refunded', paymentIntentId, amountRefunded: refund.amountRefunded } as const;
    // writeRecord() tells ops when the backend cannot take the record.
    const backendRecorded = patched(MISCONFIGURED_BACKEND_RETRIES)
      ? await this.writeRecord(record).then(
          () => true,
          () => false,
        )
      : await updateOrderStatus({ orderId: order.orderId, ...record }).then(
          () => true,
          (error: unknown) => {
            log.warn('The order backend refused the refunded status too', { orderId: order.orderId, error: failureMessage(error) });
            return false;
          },
        );
    return { refundId: refund.refundId, amount: refund.amount, backendRecorded, opsNotified };
  }
}

/** What the backend records: the payment's outcome, or for an order paid before this run, what became of that payment since. */
function recordedStatusOf(payment: PaymentOutcome): OrderResult['status'] {
  if (payment.status !== 'paid' || !payment.sinceThen) return payment.status;
  const { disputed, amountRefunded, amountPaid } = payment.sinceThen;
  if (disputed) return 'disputed';
  if (amountRefunded === 0) return 'paid';
  return amountRefunded >= amountPaid ? 'refunded' : 'partially_refunded';
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
