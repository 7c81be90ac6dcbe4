import type { Client } from '@temporalio/client';
import type Stripe from 'stripe';
import { type OrderRecordStatus } from '../domain/order.js';
import { orderParamsSchema } from '../domain/order-schema.js';
import { OPEN_PAYMENT_INTENT_STATUSES, ROUTED_STRIPE_EVENTS, type PaymentDispute } from '../domain/payment.js';
import { type OutcomeMismatch } from '../domain/reconciliation.js';
import { ORDER_OUTCOME } from '../domain/search-attributes.js';
import { callStripe, settledRefundTotal } from './stripe-outcomes.js';
import {
  ORDER_WORKFLOW_TYPE,
  orderIdOfWorkflowId,
  parseReconcileWorkflowId,
  RECONCILE_WORKFLOW_TYPE,
  REFUND_ORDER_WORKFLOW_TYPE,
  REFUNDED_ORDER_MEMO,
  workflowIdForOrder,
} from '../workflows/names.js';

/** What Stripe shows for one order, from the changes of the window. */
interface StripeOrderPayment {
  order: OutcomeMismatch['order'];
  /** A succeeded PaymentIntent of the order, and whether its charge was refunded, in full or in part (pending refunds counted). */
  succeeded?: { paymentIntentId: string; chargeId?: string; refunded: boolean; partlyRefunded: boolean };
  /** A PaymentIntent that can still succeed: Stripe has not decided, so the order is left alone. */
  open: boolean;
  /** The PaymentIntent that changed last. */
  latestPaymentIntentId: string;
  /** A dispute the card holder opened in the window. */
  dispute?: PaymentDispute;
}

/** Visibility queries name at most this many workflow IDs each. */
const IDS_PER_QUERY = 100;
/** Stripe's largest page: one request per 100 changes. */
const PAGE_SIZE = 100;
/** A refund Stripe settled after answering `pending` (succeeded, failed or canceled). */
const REFUND_UPDATED = 'charge.refund.updated';

/**
 * An order ID the trigger accepts. Another integration may put anything in a PaymentIntent's
 * metadata.order_id; only IDs of this shape are ours and are safe inside a visibility query.
 */
const ORDER_ID = new RegExp(orderParamsSchema.properties.orderId.pattern);

function idOf(field: string | { id: string } | null): string | undefined {
  return typeof field === 'string' ? field : field?.id;
}

/**
 * Stripe's payments of our orders that changed since `since`, however old: read from pages of events and of disputes, which
 * carry their objects, so no request per charge (docs/operations.md#reconciliation).
 */
async function stripeOrderPayments(stripe: Stripe, since: number): Promise<Map<string, StripeOrderPayment>> {
  const payments = new Map<string, StripeOrderPayment>();
  const paymentOf = (orderId: string, order: Omit<OutcomeMismatch['order'], 'orderId'>, paymentIntentId: string) => {
    const payment = payments.get(orderId) ?? { order: { orderId, ...order }, open: false, latestPaymentIntentId: paymentIntentId };
    payments.set(orderId, payment);
    return payment;
  };
  // A charge (refunded, or disputed) shows the payment succeeded; `refunded` is its state when the change was made.
  const takeCharge = (charge: Stripe.Charge): StripeOrderPayment | undefined => {
    const orderId = charge.metadata.order_id ?? '';
    const paymentIntentId = idOf(charge.payment_intent);
    if (!ORDER_ID.test(orderId) || !paymentIntentId) return undefined;
    const order = { customerId: idOf(charge.customer) ?? '', amount: charge.amount, currency: charge.currency };
    const payment = paymentOf(orderId, order, paymentIntentId);
    const partlyRefunded = !charge.refunded && charge.amount_refunded > 0;
    payment.succeeded ??= { paymentIntentId, chargeId: charge.id, refunded: charge.refunded, partlyRefunded };
    return payment;
  };
  const takeIntent = (intent: Stripe.PaymentIntent) => {
    const orderId = intent.metadata.order_id ?? '';
    if (!ORDER_ID.test(orderId)) return;
    const payment = paymentOf(
      orderId,
      { customerId: idOf(intent.customer) ?? '', amount: intent.amount, currency: intent.currency },
      intent.id,
    );
    if ((OPEN_PAYMENT_INTENT_STATUSES as readonly string[]).includes(intent.status)) payment.open = true;
    const chargeId = idOf(intent.latest_charge);
    if (intent.status === 'succeeded')
      payment.succeeded ??= { paymentIntentId: intent.id, ...(chargeId && { chargeId }), refunded: false, partlyRefunded: false };
  };

  const created = { gte: Math.floor(since / 1000) };
  // Newest first: the first event about an object shows its latest state; older ones are passed over.
  const latestSeen = new Set<string>();
  /** Charges whose refund Stripe settled (succeeded, failed) in the window: their refund may be older than it. */
  const refundSettledCharges = new Set<string>();
  await callStripe("list the window's payment events", async () => {
    // The changes a webhook routes to an order's run are the ones that change what its payment shows.
    const types = [...ROUTED_STRIPE_EVENTS, REFUND_UPDATED];
    for await (const event of stripe.events.list({ created, types, limit: PAGE_SIZE })) {
      const object = event.data.object as Stripe.PaymentIntent | Stripe.Charge | Stripe.Refund;
      if (latestSeen.has(object.id)) continue;
      latestSeen.add(object.id);
      if (object.object === 'payment_intent') takeIntent(object);
      else if (object.object === 'charge') takeCharge(object);
      else if (object.charge) refundSettledCharges.add(idOf(object.charge)!);
    }
  });
  // Few refunds settle later than made: their charges are read one by one (the order's ID is on the charge).
  for (const chargeId of refundSettledCharges) {
    if (latestSeen.has(chargeId)) continue;
    const charge = await callStripe('read a charge whose refund was settled', () => stripe.charges.retrieve(chargeId));
    takeCharge(charge);
  }
  await callStripe("list the window's disputes", async () => {
    for await (const dispute of stripe.disputes.list({ created, limit: PAGE_SIZE, expand: ['data.charge'] })) {
      const payment = takeCharge(dispute.charge as Stripe.Charge);
      if (!payment) continue;
      const evidenceDueBy = new Date((dispute.evidence_details.due_by ?? dispute.created) * 1000).toISOString();
      payment.dispute ??= { disputeId: dispute.id, amount: dispute.amount, reason: dispute.reason, evidenceDueBy };
    }
  });
  return payments;
}

/**
 * Each ended order's recorded outcome (its OrderOutcome, or the latest reconcile or full refund run's); `withRun` names every
 * order that still has a run, so the others are past retention.
 */
async function recordedOutcomes(
  client: Client,
  orderIds: string[],
  since: number,
): Promise<{ recorded: Map<string, OrderRecordStatus>; withRun: Set<string> }> {
  const recorded = new Map<string, OrderRecordStatus>();
  const withRun = new Set<string>();
  for (let start = 0; start < orderIds.length; start += IDS_PER_QUERY) {
    const ids = orderIds.slice(start, start + IDS_PER_QUERY).map((orderId) => `'${workflowIdForOrder(orderId)}'`);
    const query = `WorkflowType = '${ORDER_WORKFLOW_TYPE}' AND WorkflowId IN (${ids.join(', ')})`;
    for await (const run of client.workflow.list({ query })) {
      const outcome = run.typedSearchAttributes.get(ORDER_OUTCOME);
      const orderId = orderIdOfWorkflowId(run.workflowId);
      if (!orderId) continue;
      withRun.add(orderId);
      if (run.status.name !== 'RUNNING' && outcome && outcome !== 'invalid') recorded.set(orderId, outcome as OrderRecordStatus);
    }
  }
  const corrections: { orderId: string; outcome: OrderRecordStatus; startTime: Date }[] = [];
  const completedInWindow = `ExecutionStatus = 'Completed' AND StartTime > '${new Date(since).toISOString()}'`;
  const reconciles = `WorkflowType = '${RECONCILE_WORKFLOW_TYPE}' AND ${completedInWindow}`;
  for await (const run of client.workflow.list({ query: reconciles })) {
    const outcome = run.typedSearchAttributes.get(ORDER_OUTCOME);
    const reconciled = parseReconcileWorkflowId(run.workflowId);
    if (!outcome || !reconciled) continue;
    corrections.push({ orderId: reconciled.orderId, outcome: outcome as OrderRecordStatus, startTime: run.startTime });
  }
  // Refunded in full through the API: the refund run records it (its memo names the order).
  const refunds = `WorkflowType = '${REFUND_ORDER_WORKFLOW_TYPE}' AND ${ORDER_OUTCOME.name} = 'refunded' AND ${completedInWindow}`;
  for await (const run of client.workflow.list({ query: refunds })) {
    const orderId = run.memo?.[REFUNDED_ORDER_MEMO];
    if (typeof orderId === 'string') corrections.push({ orderId, outcome: 'refunded', startTime: run.startTime });
  }
  corrections.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const { orderId, outcome } of corrections) if (recorded.has(orderId) || !withRun.has(orderId)) recorded.set(orderId, outcome);
  return { recorded, withRun };
}

/**
 * A refund or dispute in the window of an order whose run is past retention: the run ended `paid` (Stripe's record then),
 * so the change is compared with that. Late successes and failures are compared only while the run is kept.
 */
function mismatchAfterRunGone(payment: StripeOrderPayment): OutcomeMismatch | undefined {
  const mismatch = mismatchOf(payment, 'paid');
  const afterPayment = mismatch?.kind === 'refunded-recorded-paid' || mismatch?.kind === 'disputed-recorded-paid';
  return afterPayment ? { ...mismatch, runGone: true } : undefined;
}

/** The mismatch between what Stripe shows and what was recorded for one order, if any. */
function mismatchOf(payment: StripeOrderPayment, recorded: OrderRecordStatus): OutcomeMismatch | undefined {
  const { order, succeeded, open, latestPaymentIntentId, dispute } = payment;
  if (succeeded && !succeeded.refunded && !succeeded.partlyRefunded && (recorded === 'payment_failed' || recorded === 'payment_pending')) {
    return { kind: 'charged-recorded-unpaid', order, recorded, paymentIntentId: succeeded.paymentIntentId, chargeId: succeeded.chargeId };
  }
  if ((succeeded?.refunded || succeeded?.partlyRefunded) && recorded === 'paid') {
    return { kind: 'refunded-recorded-paid', order, recorded, paymentIntentId: succeeded.paymentIntentId, chargeId: succeeded.chargeId };
  }
  if (succeeded && dispute && recorded === 'paid') {
    return {
      kind: 'disputed-recorded-paid',
      order,
      recorded,
      paymentIntentId: succeeded.paymentIntentId,
      chargeId: succeeded.chargeId,
      dispute,
    };
  }
  if (!succeeded && !open && recorded === 'paid') {
    return { kind: 'failed-recorded-paid', order, recorded, paymentIntentId: latestPaymentIntentId };
  }
  return undefined;
}

/** Every disagreement between Stripe's payments of our orders changed in the window and their recorded outcomes. */
export async function outcomeMismatches(stripe: Stripe, client: Client, windowMs: number): Promise<OutcomeMismatch[]> {
  const since = Date.now() - windowMs;
  const payments = await stripeOrderPayments(stripe, since);
  const { recorded, withRun } = await recordedOutcomes(client, [...payments.keys()], since);
  const mismatches: OutcomeMismatch[] = [];
  for (const payment of payments.values()) {
    const { orderId } = payment.order;
    const outcome = recorded.get(orderId);
    const mismatch = outcome ? mismatchOf(payment, outcome) : withRun.has(orderId) ? undefined : mismatchAfterRunGone(payment);
    if (!mismatch) continue;
    if (mismatch.kind !== 'refunded-recorded-paid') mismatches.push(mismatch);
    else {
      const settled = await settledRefunds(stripe, mismatch);
      if (settled) mismatches.push(settled);
    }
  }
  return mismatches;
}

/**
 * A refund mismatch as Stripe settled it (a charge counts pending refunds, which can fail): refunded, partially refunded, or
 * none while every refund is pending.
 */
async function settledRefunds(stripe: Stripe, mismatch: OutcomeMismatch): Promise<OutcomeMismatch | undefined> {
  if (!mismatch.chargeId) return undefined;
  const amountRefunded = await settledRefundTotal(stripe, { charge: mismatch.chargeId });
  if (amountRefunded === 0) return undefined;
  const kind = amountRefunded >= mismatch.order.amount ? 'refunded-recorded-paid' : 'partially-refunded-recorded-paid';
  return { ...mismatch, kind, amountRefunded };
}
