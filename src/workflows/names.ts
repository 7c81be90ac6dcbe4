/** What clients and workflows share, sandbox-safe: clients import this, never a workflow body. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/create-activities.js';
import type { OrderProgress } from '../domain/order.js';
import type { PaymentAnswer } from '../domain/payment-answer.js';
import type { RefundOutcome, StripeEventHint } from '../domain/payment.js';
import { MISMATCH_KINDS, type MismatchKind } from '../domain/reconciliation.js';

export const DEFAULT_TASK_QUEUE = 'order-processing';

export const ORDER_WORKFLOW_TYPE = 'orderProcessing';
/** Refunds a paid order on an operator's request (POST /api/runs/:workflowId/refund). */
export const REFUND_ORDER_WORKFLOW_TYPE = 'refundOrder';
/** Holds one Idempotency-Key for one order. */
export const KEY_CLAIM_WORKFLOW_TYPE = 'idempotencyKeyClaim';
/** The reconciliation sweep, and one order's correction. */
export const SWEEP_WORKFLOW_TYPE = 'reconcileOrders';
export const RECONCILE_WORKFLOW_TYPE = 'reconcileOrder';
/** The Temporal Schedule that runs the sweep (`temporal schedule describe --schedule-id order-reconciliation`). */
export const RECONCILIATION_SCHEDULE_ID = 'order-reconciliation';

/** An order run's progress, as the API and `temporal workflow query --type status` read it. */
export const statusQuery = defineQuery<OrderProgress>('status');
/** Answers once Charge Card has settled (the checkout's waited trigger), or once the answer is no longer `after`; the run goes on. */
export const paymentUpdate = defineUpdate<PaymentAnswer, [after?: PaymentAnswer['status']]>('payment');
/** A Stripe webhook event for the order: a reason to ask Stripe again, never the truth. */
export const stripeEventSignal = defineSignal<[StripeEventHint]>('stripeEvent');
/** A refund run's refund as it last saw it at Stripe; null before Stripe answered. */
export const refundQuery = defineQuery<RefundOutcome | null>('refund');

/** The memo field of a refund run naming its order (its workflow ID cannot: order IDs and keys may both hold "-"). */
export const REFUNDED_ORDER_MEMO = 'orderId';
/** The memo field of a key's claim run naming the order's workflow ID. */
export const CLAIMED_ORDER_MEMO = 'orderWorkflowId';

const ORDER_RUN_PREFIX = 'order-';
const RECONCILE_RUN_PREFIX = 'reconcile-order-';

/** The workflow ID is the business key: one order, one run. */
export function workflowIdForOrder(orderId: string): string {
  return `${ORDER_RUN_PREFIX}${orderId}`;
}

/** The order an order run's workflow ID names; undefined for any other ID. */
export function orderIdOfWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(ORDER_RUN_PREFIX) ? workflowId.slice(ORDER_RUN_PREFIX.length) : undefined;
}

/** One refund run per order and Idempotency-Key. */
export function refundWorkflowId(orderWorkflowId: string, idempotencyKey: string): string {
  return `refund-${orderWorkflowId}-${idempotencyKey}`;
}

/** One claim run per Idempotency-Key in the namespace. */
export function claimWorkflowId(idempotencyKey: string): string {
  return `idempotency-key-${idempotencyKey}`;
}

/** One reconcile run per order and kind of mismatch: a repeat sweep starts none again. */
export function reconcileWorkflowId(orderId: string, kind: MismatchKind): string {
  return `${RECONCILE_RUN_PREFIX}${orderId}-${kind}`;
}

/** The order and kind a reconcile run's workflow ID names; undefined for any other workflow ID. */
export function parseReconcileWorkflowId(workflowId: string): { orderId: string; kind: MismatchKind } | undefined {
  // The longest kind that fits: one kind's name ends another's (partially-refunded-recorded-paid).
  const kind = [...MISMATCH_KINDS].sort((a, b) => b.length - a.length).find((candidate) => workflowId.endsWith(`-${candidate}`));
  if (!kind || !workflowId.startsWith(RECONCILE_RUN_PREFIX)) return undefined;
  return { orderId: workflowId.slice(RECONCILE_RUN_PREFIX.length, -(kind.length + 1)), kind };
}

/** The order a run is about: an order's own run or a reconcile run; none for the sweep or a key claim. */
export function orderIdOfRun(workflowType: string, workflowId: string): string | undefined {
  if (workflowType === ORDER_WORKFLOW_TYPE) return orderIdOfWorkflowId(workflowId);
  if (workflowType === RECONCILE_WORKFLOW_TYPE) return parseReconcileWorkflowId(workflowId)?.orderId;
  return undefined;
}

/** One name per step, so the Web UI, `temporal workflow describe` and the API's run timeline name steps alike. */
export const STEP_NAMES = {
  parseOrder: 'Parse Order',
  chargeCard: 'Charge Card',
  createPaymentIntent: 'Charge Card: create PaymentIntent',
  confirmPaymentIntent: 'Charge Card: confirm PaymentIntent',
  lookUpPayment: 'Charge Card: ask Stripe',
  cancelPaymentIntent: 'Charge Card: cancel PaymentIntent',
  paymentSettings: 'Charge Card: read payment settings',
  sendPaymentAction: 'Charge Card: ask the customer to confirm',
  refundPayment: 'Refund',
  lookUpRefund: 'Refund: ask Stripe',
  sendReceipt: 'Send Receipt',
  notifyOps: 'Notify Ops',
  updateOrderStatus: 'Update Order Status',
  findOutcomeMismatches: 'Reconcile: compare Stripe with the recorded outcomes',
} as const satisfies Record<keyof OrderActivities, string>;

/** The step an activity type belongs to; a type this build does not know (an older run's) is shown as is. */
export function stepName(activityType: string): string {
  return (STEP_NAMES as Record<string, string>)[activityType] ?? activityType;
}
