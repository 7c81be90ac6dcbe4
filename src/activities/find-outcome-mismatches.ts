import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type Stripe from 'stripe';
import { ORDER_WORKFLOW_TYPE, orderIdOfWorkflowId, workflowIdForOrder, type OrderRecordStatus } from '../domain/order.js';
import { orderParamsSchema } from '../domain/order-schema.js';
import { OPEN_PAYMENT_INTENT_STATUSES, REFUND_ORDER_WORKFLOW_TYPE, REFUNDED_ORDER_MEMO } from '../domain/payment.js';
import { parseReconcileWorkflowId, RECONCILE_WORKFLOW_TYPE, type OutcomeMismatch, type SweepInput } from '../domain/reconciliation.js';
import { ORDER_OUTCOME } from '../domain/search-attributes.js';
import { callStripe } from './stripe-outcomes.js';

/** What Stripe shows for one order over the window. */
interface StripeOrderPayment {
  order: OutcomeMismatch['order'];
  /** A succeeded PaymentIntent of the order, and whether its charge was refunded in full. */
  succeeded?: { paymentIntentId: string; chargeId?: string; refunded: boolean };
  /** A PaymentIntent that can still succeed: Stripe has not decided, so the order is left alone. */
  open: boolean;
  /** The newest PaymentIntent of the order. */
  latestPaymentIntentId: string;
}

/** Visibility queries name at most this many workflow IDs each. */
const IDS_PER_QUERY = 100;

/**
 * An order ID the trigger accepts. Another integration may put anything in a PaymentIntent's
 * metadata.order_id; only IDs of this shape are ours and are safe inside a visibility query.
 */
const ORDER_ID = new RegExp(orderParamsSchema.properties.orderId.pattern);

/** Stripe's PaymentIntents created since `since` that carry metadata.order_id, by order (newest first, as Stripe lists them). */
async function stripeOrderPayments(stripe: Stripe, since: number): Promise<Map<string, StripeOrderPayment>> {
  const byOrder = new Map<string, StripeOrderPayment>();
  const intents: Stripe.PaymentIntent[] = [];
  await callStripe('list the PaymentIntents of the reconciliation window', async () => {
    for await (const intent of stripe.paymentIntents.list({ created: { gte: Math.floor(since / 1000) }, limit: 100 })) {
      if (ORDER_ID.test(intent.metadata.order_id ?? '')) intents.push(intent);
    }
  });
  for (const intent of intents) {
    const orderId = intent.metadata.order_id;
    const customer = typeof intent.customer === 'string' ? intent.customer : (intent.customer?.id ?? '');
    const payment = byOrder.get(orderId) ?? {
      order: { orderId, customerId: customer, amount: intent.amount, currency: intent.currency },
      open: false,
      latestPaymentIntentId: intent.id,
    };
    byOrder.set(orderId, payment);
    if ((OPEN_PAYMENT_INTENT_STATUSES as readonly string[]).includes(intent.status)) payment.open = true;
    if (intent.status !== 'succeeded' || payment.succeeded) continue;
    const chargeId = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id;
    const charge = chargeId ? await callStripe("retrieve the PaymentIntent's charge", () => stripe.charges.retrieve(chargeId)) : undefined;
    payment.succeeded = { paymentIntentId: intent.id, ...(chargeId && { chargeId }), refunded: charge?.refunded ?? false };
  }
  return byOrder;
}

/**
 * The outcome recorded for each order whose run has ended: its run's OrderOutcome, or the outcome of the
 * latest reconcile run that corrected it or refund run that refunded it in full. An order whose run is
 * still open, or carries no outcome (runs started before OrderOutcome existed), is left out.
 */
async function recordedOutcomes(client: Client, orderIds: string[], since: number): Promise<Map<string, OrderRecordStatus>> {
  const recorded = new Map<string, OrderRecordStatus>();
  for (let start = 0; start < orderIds.length; start += IDS_PER_QUERY) {
    const ids = orderIds.slice(start, start + IDS_PER_QUERY).map((orderId) => `'${workflowIdForOrder(orderId)}'`);
    const query = `WorkflowType = '${ORDER_WORKFLOW_TYPE}' AND ExecutionStatus != 'Running' AND WorkflowId IN (${ids.join(', ')})`;
    for await (const run of client.workflow.list({ query })) {
      const outcome = run.typedSearchAttributes.get(ORDER_OUTCOME);
      const orderId = orderIdOfWorkflowId(run.workflowId);
      if (orderId && outcome && outcome !== 'invalid') recorded.set(orderId, outcome as OrderRecordStatus);
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
  for (const { orderId, outcome } of corrections) if (recorded.has(orderId)) recorded.set(orderId, outcome);
  return recorded;
}

/** The mismatch between what Stripe shows and what was recorded for one order, if any. */
function mismatchOf(payment: StripeOrderPayment, recorded: OrderRecordStatus): OutcomeMismatch | undefined {
  const { order, succeeded, open, latestPaymentIntentId } = payment;
  if (succeeded && !succeeded.refunded && (recorded === 'payment_failed' || recorded === 'payment_pending')) {
    return { kind: 'charged-recorded-unpaid', order, recorded, paymentIntentId: succeeded.paymentIntentId, chargeId: succeeded.chargeId };
  }
  if (succeeded?.refunded && recorded === 'paid') {
    return { kind: 'refunded-recorded-paid', order, recorded, paymentIntentId: succeeded.paymentIntentId, chargeId: succeeded.chargeId };
  }
  if (!succeeded && !open && recorded === 'paid') {
    return { kind: 'failed-recorded-paid', order, recorded, paymentIntentId: latestPaymentIntentId };
  }
  return undefined;
}

/**
 * Compares Stripe's PaymentIntents created in the sweep's window that carry metadata.order_id with the
 * outcomes recorded for those orders, and answers every disagreement. Orders Stripe has not decided,
 * and orders whose run is still open, are not compared.
 */
export function createFindOutcomeMismatches(stripe: Stripe) {
  return async function findOutcomeMismatches({ windowMs }: SweepInput): Promise<OutcomeMismatch[]> {
    const since = Date.now() - windowMs;
    const payments = await stripeOrderPayments(stripe, since);
    const recorded = await recordedOutcomes(Context.current().client, [...payments.keys()], since);
    return [...payments.values()].flatMap((payment) => {
      const outcome = recorded.get(payment.order.orderId);
      const mismatch = outcome && mismatchOf(payment, outcome);
      return mismatch ? [mismatch] : [];
    });
  };
}
