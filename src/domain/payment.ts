/**
 * The payment as Stripe records it, in the shape the workflow reasons about. Types only: safe in the
 * workflow sandbox.
 */

/** A PaymentIntent's status, as Stripe names it. */
export type PaymentIntentStatus =
  'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'requires_capture' | 'canceled' | 'succeeded';

/** Why the last confirmation failed (a decline), from the PaymentIntent's `last_payment_error`. */
interface PaymentError {
  code: string;
  declineCode?: string;
  message: string;
}

/** What the run knows of the order's PaymentIntent after asking Stripe. */
export interface PaymentIntentState {
  id: string;
  status: PaymentIntentStatus;
  /** The charge of the latest confirmation (`latest_charge`), succeeded or failed. */
  chargeId?: string;
  lastError?: PaymentError;
}

/**
 * Create PaymentIntent's answer. `no_payment_method` and `paid_before` created nothing; `paid_before` means the order was
 * sent again after its run was gone and must not be charged again (docs/payments.md#one-charge-per-order-for-all-time).
 */
export type CreatedPayment =
  | { outcome: 'created'; paymentIntent: PaymentIntentState }
  | { outcome: 'no_payment_method'; reason: string }
  | { outcome: 'paid_before'; paymentIntent: PaymentIntentState; sinceThen?: PaymentSinceThen };

/** What became of an earlier payment since it was made, as Stripe records it: settled refunds and disputes. */
export interface PaymentSinceThen {
  /** What Stripe's succeeded refunds gave back, minor units. */
  amountRefunded: number;
  amountPaid: number;
  disputed: boolean;
}

/**
 * Keys one Stripe request of a run may burn (a replayed 5xx, nothing done under it) before the run gives up as if Stripe
 * refused (docs/payments.md#a-burnt-key-is-not-a-lost-sale).
 */
export const KEY_GENERATIONS = 3;

/** Statuses from which a PaymentIntent can still succeed without the run: the run cancels them before recording a failure. */
export const OPEN_PAYMENT_INTENT_STATUSES: readonly PaymentIntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'requires_capture',
];

/** The payment settings the workflow reads from the worker's configuration. */
export interface PaymentSettings {
  /** PAYMENT_RECONCILE_TIMEOUT: how long a run keeps asking Stripe before it leaves the order payment_pending. */
  reconcileTimeoutMs: number;
  /** PAYMENT_ACTION_TIMEOUT: how long a run waits for a customer to confirm a payment their bank wants them to (SCA). */
  actionTimeoutMs: number;
}

/** The Stripe events routed to an order's run, by the object's `metadata.order_id`. */
export const ROUTED_STRIPE_EVENTS = [
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'charge.refunded',
] as const;

export interface StripeEventHint {
  eventId: string;
  type: (typeof ROUTED_STRIPE_EVENTS)[number];
  /** The PaymentIntent the event is about (`data.object.id`, or the charge's `payment_intent`). */
  paymentIntentId?: string;
}

export interface RefundOrderInput {
  orderId: string;
  paymentIntentId: string;
  /** Minor units; the whole unrefunded amount when omitted. */
  amount?: number;
  /** Why, for Slack and the refund's metadata. */
  reason: string;
}

/** Refund statuses Stripe may still change: the run waits for them to settle. */
export const UNSETTLED_REFUND_STATUSES: readonly string[] = ['pending', 'requires_action'];

/** A refund as Stripe recorded it. */
export interface RefundOutcome {
  refundId: string;
  /** This refund's amount, minor units. */
  amount: number;
  currency: string;
  /** Stripe's refund status: succeeded, pending, requires_action, failed or canceled. */
  status: string;
  /** Why Stripe failed the refund (its `failure_reason`), when it did. */
  failureReason?: string;
  /** What the payment's succeeded refunds gave back so far (this refund once it succeeded): pending ones are not counted. */
  amountRefunded: number;
  /** What the payment took. */
  amountPaid: number;
}

/** A dispute the card holder opened on a payment, as Stripe records it; the merchant must answer it by `evidenceDueBy`. */
export interface PaymentDispute {
  disputeId: string;
  /** Minor units, in the payment's currency. */
  amount: number;
  /** Stripe's reason: fraudulent, product_not_received, ... */
  reason: string;
  /** ISO 8601: when Stripe stops taking evidence (the dispute's `evidence_details.due_by`). */
  evidenceDueBy: string;
}
