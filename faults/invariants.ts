import type { Sandbox } from '../dev/sandbox/index.js';

export interface OrderPlan {
  orderId: string;
  /** Declined by design (a cus_decline customer). */
  declines: boolean;
  /** Its order backend refuses to record it paid (an `ord_refuse_paid` order): a payment must be refunded. */
  backendRefusesPaid: boolean;
  /** Stripe fails its refund after answering `pending` (a `cus_refund_fails` customer): the money stays with the merchant. */
  refundFails?: boolean;
}

/** The trigger body a fault run sends for an order: its customer decides how it goes, the amount is random. */
export function faultOrderBody(orderId: string, customerId: string, random: () => number): string {
  return JSON.stringify({
    params: { orderId, customerId, amount: 1000 + Math.floor(random() * 9000), currency: 'usd', email: 'buyer@example.com' },
  });
}

interface Violation {
  rule: string;
  orderIds: string[];
}

export interface InvariantReport {
  paid: number;
  paymentFailed: number;
  paymentPending: number;
  refunded: number;
  /** Refused orders whose refund Stripe failed: never recorded refunded, ops told. */
  refundsFailed: number;
  violations: Violation[];
}

/** The idempotency keys an order's Stripe POSTs may carry: derived from its workflow ID and the step, with a generation after a burnt key. */
const STRIPE_KEY = /^order-(.+?)\/(?:payment-intent|charge|refund)(?:\/[23])?$/;
/** What the ops alert says when a refused order's refund failed (notify-ops, refund-failed). */
export const REFUND_FAILED_ALERT = 'and the refund failed';
/** Statuses from which a PaymentIntent could still succeed. */
const OPEN_STATUSES = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing']);

/** The order's status on Stripe's record: its succeeded refunds decide between paid and (partially) refunded. */
function stripeRecordStatus(chargedAmount: number | undefined, refundedAmount: number): string {
  if (chargedAmount === undefined) return 'payment_failed';
  if (refundedAmount >= chargedAmount) return 'refunded';
  return refundedAmount > 0 ? 'partially_refunded' : 'paid';
}

/** The text names this order, not one whose ID it begins (ord_x_5 is not ord_x_51). */
export function mentionsOrder(text: string, orderId: string): boolean {
  return new RegExp(`\\b${orderId}\\b`).test(text);
}

/**
 * What must hold after any amount of crashes, provider faults, burnt keys, a misconfigured backend,
 * re-sent orders and webhooks late, twice, out of order or lost, checked on what reached the
 * stand-ins. Every order has a final status in the backend equal to Stripe's record, refunds
 * included: a succeeded payment means `paid`, or `refunded` where the backend refused it (then
 * refunded in full, once, as Stripe settled it); none means `payment_failed`, and then no
 * PaymentIntent of the order is left open. A refund Stripe failed is never recorded `refunded`, and
 * ops hear of it. Each refund matches one refused order. No order has two successful charges or two
 * PaymentIntents; every Stripe POST for an order carries one of its derived idempotency keys; each
 * order the customer paid got exactly one receipt (none for a failed one).
 */
export function checkInvariants(sandbox: Sandbox, orders: OrderPlan[]): InvariantReport {
  const broken = new Map<string, string[]>();
  const flag = (rule: string, orderId: string) => broken.set(rule, [...(broken.get(rule) ?? []), orderId]);
  const counts = { paid: 0, paymentFailed: 0, paymentPending: 0, refunded: 0, refundsFailed: 0 };

  const stripeKeysByOrder = new Map<string, Set<string>>();
  for (const request of sandbox.stripe.requests) {
    const key = request.headers['idempotency-key'];
    const orderId = typeof key === 'string' ? /^order-(.+?)\/[a-z-]+(?:\/\d+)?$/.exec(key)?.[1] : undefined;
    if (request.method !== 'POST' || !orderId) continue;
    stripeKeysByOrder.set(orderId, (stripeKeysByOrder.get(orderId) ?? new Set()).add(String(key)));
  }

  for (const { orderId, declines, backendRefusesPaid, refundFails } of orders) {
    const record = sandbox.backend.orders.get(orderId);
    const charges = sandbox.stripe.successfulCharges(orderId);
    const intents = sandbox.stripe.paymentIntentsFor(orderId);
    const refunds = sandbox.stripe.refundsFor(orderId);
    const settledRefunds = refunds.filter((refund) => refund.status === 'succeeded');
    const refundedAmount = settledRefunds.reduce((total, refund) => total + refund.amount, 0);
    const receipts = sandbox.resend.emails.filter((email) => email.subject === `Receipt for order ${orderId}`);

    if (charges.length > 1) flag('charged more than once', orderId);
    if (intents.length > 1) flag('more than one PaymentIntent', orderId);
    if (declines && charges.length > 0) flag('a declining customer was charged', orderId);
    const keys = [...(stripeKeysByOrder.get(orderId) ?? [])];
    if (keys.length === 0 || keys.some((key) => STRIPE_KEY.exec(key)?.[1] !== orderId))
      flag("Stripe POSTs without the order's derived idempotency keys", orderId);
    const paidByCustomer = charges.length > 0;
    if (paidByCustomer && receipts.length !== 1) flag('paid order without exactly one receipt', orderId);
    if (!paidByCustomer && receipts.length !== 0) flag('receipt sent for an unpaid order', orderId);
    if (!backendRefusesPaid && refunds.length > 0) flag('a refund for an order the backend did not refuse', orderId);

    if (backendRefusesPaid && refundFails && paidByCustomer) {
      // The backend refused the payment and Stripe failed its refund: the money is still taken, ops must act.
      counts.refundsFailed += 1;
      if (record?.status === 'refunded') flag('recorded refunded although Stripe failed the refund', orderId);
      if (!sandbox.slack.messages.some((message) => mentionsOrder(message.text, orderId) && message.text.includes(REFUND_FAILED_ALERT)))
        flag('a failed refund ops never heard of', orderId);
      continue;
    }
    if (!record) {
      flag('order lost: no final status in the backend', orderId);
      continue;
    }
    if (record.status === 'paid') counts.paid += 1;
    if (record.status === 'payment_failed') counts.paymentFailed += 1;
    if (record.status === 'payment_pending') counts.paymentPending += 1;
    if (record.status === 'refunded') counts.refunded += 1;
    if (record.status !== stripeRecordStatus(charges[0]?.amount, refundedAmount))
      flag(`backend status differs from Stripe's record`, orderId);
    if (record.status === 'payment_failed' && intents.some((intent) => OPEN_STATUSES.has(intent.status))) {
      flag('payment_failed with a PaymentIntent still open', orderId);
    }
    if (record.status === 'paid' && (record.chargeId !== charges[0]?.id || record.paymentIntentId !== charges[0]?.paymentIntentId)) {
      flag('backend chargeId or paymentIntentId differs from the charge', orderId);
    }
    if (backendRefusesPaid && paidByCustomer && (settledRefunds.length !== 1 || refundedAmount !== charges[0].amount)) {
      flag('a refused paid order not refunded in full exactly once', orderId);
    }
  }
  return { ...counts, violations: [...broken].map(([rule, orderIds]) => ({ rule, orderIds })) };
}
