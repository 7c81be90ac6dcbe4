/**
 * The order domain shared by the API, the workflow and the activities.
 * Types only, plus constants that are safe inside the workflow sandbox.
 */
import type { PaymentDispute, RefundOutcome } from './payment.js';

export const DEFAULT_CURRENCY = 'usd';

/** The trigger's `params` as clients send them, typed by their schema. */
export type { OrderParams } from './order-schema.js';

/** An order after Parse Order: every field present, validated and normalised. */
export interface Order {
  orderId: string;
  customerId: string;
  amount: number;
  /** Lower-case ISO 4217 code, as Stripe expects. */
  currency: string;
  email: string;
  /** The card to charge (`pm_...`) when the trigger names one; else the customer's default payment method. */
  paymentMethodId?: string;
  /** The customer is at the checkout: they confirm with their bank in the browser, which then returns to `returnUrl`. */
  confirmOnSession?: { returnUrl: string };
}

/** What Charge Card returned in runs started before the PaymentIntents change (the legacy Charges API). */
export type ChargeResult =
  { outcome: 'succeeded'; chargeId: string } | { outcome: 'declined'; chargeId?: string; declineCode: string; reason: string };

/** The payment outcome the order backend records, always as Stripe's record shows it (docs/payments.md#the-orders-payment-states). */
type OrderStatus = 'paid' | 'payment_failed' | 'payment_pending';
/** What the order backend is told: the payment outcome, or what became of the order since (docs/payments.md#the-orders-payment-states). */
export type OrderRecordStatus = OrderStatus | 'refunded' | 'partially_refunded' | 'cancelled' | 'disputed';
export type ReceiptState = 'sent' | 'failed' | 'skipped';

type OrderStep =
  | 'parse-order'
  | 'charge-card'
  | 'customer-action'
  | 'send-receipt'
  | 'notify-ops'
  | 'refund'
  | 'update-order-status'
  | 'completed'
  | 'cancelled'
  | 'failed';

/**
 * `honoured` before the charge was attempted; `too-late` once it was in flight or done, and the run goes on
 * to record the true payment outcome: a cancel never leaves a charged order unrecorded.
 */
type CancellationOutcome = 'honoured' | 'too-late';

export interface OrderResult {
  orderId: string;
  /** Refunded, partially refunded or disputed: an order refused by its backend, or paid before this run and changed since. */
  status: OrderStatus | 'refunded' | 'partially_refunded' | 'disputed';
  paymentIntentId?: string;
  chargeId?: string;
  declineCode?: string;
  reason?: string;
  receipt: ReceiptState;
  opsNotified: boolean;
  /** The refund of a paid order the backend refused; `backendRecorded`: it accepted `refunded`. */
  refund?: { refundId: string; amount: number; backendRecorded: boolean; opsNotified: boolean };
}

/** What the `status` query answers at any moment of a run. */
export interface OrderProgress {
  step: OrderStep;
  orderId?: string;
  status?: OrderRecordStatus;
  cancellation?: CancellationOutcome;
  paymentIntentId?: string;
  chargeId?: string;
  declineCode?: string;
  reason?: string;
  receipt?: ReceiptState;
  opsNotified?: boolean;
  error?: string;
  /** While the step is customer-action: how the card holder is asked (an email, or the checkout they are on). */
  customerAsked?: 'by_email' | 'on_session';
}

/** What an alert names of an order: an operator's refund run knows only its ID. */
export type AlertedOrder = Pick<Order, 'orderId'> & Partial<Pick<Order, 'customerId' | 'amount' | 'currency'>>;

/**
 * What Notify Ops is asked to tell the team. `chargeUncertain` is set only by runs started before the
 * PaymentIntents change, which recorded a guessed outcome; later runs ask Stripe instead.
 */
export type OpsAlert =
  | { kind: 'payment-failed'; order: Order; reason: string; declineCode?: string; paymentIntentId?: string; chargeUncertain?: boolean }
  | { kind: 'payment-waiting'; order: Order; reason: string; paymentIntentId?: string; until: string }
  | { kind: 'payment-unresolved'; order: Order; reason: string; paymentIntentId?: string; since: string }
  | { kind: 'payment-settled'; order: Order; paymentIntentId?: string }
  | {
      kind: 'order-refunded';
      order: Order;
      paymentIntentId: string;
      refundId: string;
      amount: number;
      refundStatus: string;
      reason: string;
    }
  | { kind: 'refund-failed'; order: Order; paymentIntentId: string; reason: string }
  /** An operator's refund Stripe failed, canceled or left pending: the money is not back with the customer. */
  | { kind: 'refund-not-returned'; orderId: string; paymentIntentId: string; refund: RefundOutcome }
  /** An operator's refund settled, but the backend could not be told. */
  | {
      kind: 'refund-unrecorded';
      orderId: string;
      paymentIntentId: string;
      refund: RefundOutcome;
      status: OrderRecordStatus;
      reason: string;
    }
  | { kind: 'receipt-failed'; order: Order; chargeId: string; reason: string }
  /** The backend answers as misconfigured (401, 404, 400...); the run asks again until `until`. */
  | { kind: 'backend-misconfigured'; order: AlertedOrder; status: OrderRecordStatus; reason: string; until: string }
  /** The run ends and the backend does not know the order's status. */
  | { kind: 'order-unrecorded'; order: AlertedOrder; status: OrderRecordStatus; reason: string }
  /** An operator's refund run failed without Stripe's record showing whether the refund was made. */
  | { kind: 'refund-outcome-unknown'; orderId: string; paymentIntentId: string; reason: string }
  | {
      kind: 'order-reconciled';
      /** As Stripe knows the order (its PaymentIntent holds no email). */
      order: Pick<Order, 'orderId' | 'customerId' | 'amount' | 'currency'>;
      mismatch: string;
      recorded: OrderRecordStatus;
      outcome: OrderRecordStatus;
      paymentIntentId: string;
      /** The dispute, when the card holder disputed the payment. */
      dispute?: PaymentDispute;
      /** The order's run is past retention: `recorded` is how it ended, not what a run shows now. */
      runGone?: true;
    };
