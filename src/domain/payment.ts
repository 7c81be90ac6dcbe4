/**
 * The payment as Stripe records it, in the shape the workflow reasons about. Types only: safe in the
 * workflow sandbox.
 */

/** A PaymentIntent's status, as Stripe names it. */
export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

/** Why the last confirmation failed (a decline), from the PaymentIntent's `last_payment_error`. */
export interface PaymentError {
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
 * Create PaymentIntent's answer: the intent, unconfirmed, or no payment method to charge (the customer
 * has no default one and the order names none), in which case nothing was created.
 */
export type CreatedPayment = { outcome: 'created'; paymentIntent: PaymentIntentState } | { outcome: 'no_payment_method'; reason: string };

/** Statuses from which a PaymentIntent can still succeed without the run: the run cancels them before recording a failure. */
export const OPEN_PAYMENT_INTENT_STATUSES: readonly PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture'];

/** The payment settings the workflow reads from the worker's configuration. */
export interface PaymentSettings {
  /** PAYMENT_RECONCILE_TIMEOUT: how long a run keeps asking Stripe before it leaves the order payment_pending. */
  reconcileTimeoutMs: number;
}
