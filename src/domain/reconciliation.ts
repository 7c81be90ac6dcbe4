/**
 * The reconciliation sweep: what changed in Stripe's payments against the orders' recorded outcomes. Types and
 * constants only (the workflow sandbox imports this module).
 */
import type { Order, OrderRecordStatus } from './order.js';
import type { PaymentDispute } from './payment.js';

/** The Temporal Schedule that runs the sweep (`temporal schedule describe --schedule-id order-reconciliation`). */
export const RECONCILIATION_SCHEDULE_ID = 'order-reconciliation';

/**
 * What disagrees: `charged-recorded-unpaid` Stripe holds a succeeded, unrefunded payment for an order
 * recorded payment_failed or payment_pending; `failed-recorded-paid` Stripe holds no succeeded payment
 * (and none that can still succeed) for an order recorded paid; `refunded-recorded-paid` the order's
 * payment was refunded in full, but the order is still recorded paid; `disputed-recorded-paid` the card
 * holder disputed the payment of an order recorded paid.
 */
export const MISMATCH_KINDS = [
  'charged-recorded-unpaid',
  'failed-recorded-paid',
  'refunded-recorded-paid',
  'disputed-recorded-paid',
] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

/** The outcome a reconcile run records for each kind of mismatch: Stripe's. */
export const CORRECTED_OUTCOME: Record<MismatchKind, OrderRecordStatus> = {
  'charged-recorded-unpaid': 'paid',
  'failed-recorded-paid': 'payment_failed',
  'refunded-recorded-paid': 'refunded',
  'disputed-recorded-paid': 'disputed',
};

export interface OutcomeMismatch {
  kind: MismatchKind;
  /** The order, as Stripe knows it (no email: Stripe's PaymentIntent does not hold it). */
  order: Pick<Order, 'orderId' | 'customerId' | 'amount' | 'currency'>;
  /** The outcome the orders' runs recorded. */
  recorded: OrderRecordStatus;
  /** The PaymentIntent Stripe's answer rests on. */
  paymentIntentId: string;
  /** Its succeeded charge, when there is one. */
  chargeId?: string;
  /** The card holder's dispute (`disputed-recorded-paid` only). */
  dispute?: PaymentDispute;
}

/** One sweep's input, from the schedule: how far back to compare. */
export interface SweepInput {
  windowMs: number;
}

const RECONCILE_RUN_PREFIX = 'reconcile-order-';

/** The workflow ID of the reconcile run for one order and one kind of mismatch: a repeat sweep starts none again. */
export function reconcileWorkflowId(orderId: string, kind: MismatchKind): string {
  return `${RECONCILE_RUN_PREFIX}${orderId}-${kind}`;
}

/** The order and kind a reconcile run's workflow ID names; undefined for any other workflow ID. */
export function parseReconcileWorkflowId(workflowId: string): { orderId: string; kind: MismatchKind } | undefined {
  const kind = MISMATCH_KINDS.find((candidate) => workflowId.endsWith(`-${candidate}`));
  if (!kind || !workflowId.startsWith(RECONCILE_RUN_PREFIX)) return undefined;
  return { orderId: workflowId.slice(RECONCILE_RUN_PREFIX.length, -(kind.length + 1)), kind };
}

/** The workflow types of the sweep and of one order's correction. */
export const SWEEP_WORKFLOW_TYPE = 'reconcileOrders';
export const RECONCILE_WORKFLOW_TYPE = 'reconcileOrder';
