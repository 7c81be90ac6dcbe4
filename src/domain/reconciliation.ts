/**
 * The reconciliation sweep: what changed in Stripe's payments against the orders' recorded outcomes. Types and
 * constants only (the workflow sandbox imports this module).
 */
import type { Order, OrderRecordStatus } from './order.js';
import type { PaymentDispute } from './payment.js';

/** How Stripe's record and an order's recorded outcome can disagree; each kind: docs/operations.md#reconciliation. */
export const MISMATCH_KINDS = [
  'charged-recorded-unpaid',
  'failed-recorded-paid',
  'refunded-recorded-paid',
  'partially-refunded-recorded-paid',
  'disputed-recorded-paid',
] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

/** The outcome a reconcile run records for each kind of mismatch: Stripe's. */
export const CORRECTED_OUTCOME: Record<MismatchKind, OrderRecordStatus> = {
  'charged-recorded-unpaid': 'paid',
  'failed-recorded-paid': 'payment_failed',
  'refunded-recorded-paid': 'refunded',
  'partially-refunded-recorded-paid': 'partially_refunded',
  'disputed-recorded-paid': 'disputed',
};

export interface OutcomeMismatch {
  kind: MismatchKind;
  /** The order, as Stripe knows it (no email: Stripe's PaymentIntent does not hold it). */
  order: Pick<Order, 'orderId' | 'customerId' | 'amount' | 'currency'>;
  /** The outcome the orders' runs recorded. */
  recorded: OrderRecordStatus;
  /** The order's run is past retention: it ended `paid` (a refund or dispute came later), which `recorded` assumes. */
  runGone?: true;
  /** The PaymentIntent Stripe's answer rests on. */
  paymentIntentId: string;
  /** Its succeeded charge, when there is one. */
  chargeId?: string;
  /** What Stripe's succeeded refunds gave back (the refund kinds only), minor units. */
  amountRefunded?: number;
  /** The card holder's dispute (`disputed-recorded-paid` only). */
  dispute?: PaymentDispute;
}

/** One sweep's input, from the schedule: how far back to compare. */
export interface SweepInput {
  windowMs: number;
}
