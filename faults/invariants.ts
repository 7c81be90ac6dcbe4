import type { Sandbox } from '../src/sandbox/index.js';

export interface OrderPlan {
  orderId: string;
  /** Declined by design (a cus_decline customer). */
  declines: boolean;
}

export interface Violation {
  rule: string;
  orderIds: string[];
}

export interface InvariantReport {
  paid: number;
  paymentFailed: number;
  violations: Violation[];
}

/**
 * What must hold after any amount of crashes and provider faults, checked on what reached the
 * stand-ins: every order has a final status in the backend that matches what Stripe decided, no order
 * has two successful charges, each order's charge requests share one idempotency key, and each paid
 * order got exactly one receipt (none for a failed one).
 */
export function checkInvariants(sandbox: Sandbox, orders: OrderPlan[]): InvariantReport {
  const broken = new Map<string, string[]>();
  const flag = (rule: string, orderId: string) => broken.set(rule, [...(broken.get(rule) ?? []), orderId]);
  let paid = 0;
  let paymentFailed = 0;

  const chargeRequestsByOrder = new Map<string, Set<string>>();
  for (const request of sandbox.stripe.requests) {
    const orderId = new URLSearchParams(request.body).get('metadata[order_id]');
    if (!orderId) continue;
    const keys = chargeRequestsByOrder.get(orderId) ?? new Set<string>();
    keys.add(String(request.headers['idempotency-key']));
    chargeRequestsByOrder.set(orderId, keys);
  }

  for (const { orderId, declines } of orders) {
    const record = sandbox.backend.orders.get(orderId);
    const charges = sandbox.stripe.successfulCharges(orderId);
    const stripeDecided = charges.length > 0 ? 'paid' : 'payment_failed';
    const receipts = sandbox.resend.emails.filter((email) => email.subject === `Receipt for order ${orderId}`);

    if (!record) {
      flag('order lost: no final status in the backend', orderId);
      continue;
    }
    if (record.status === 'paid') paid += 1;
    if (record.status === 'payment_failed') paymentFailed += 1;
    if (record.status !== stripeDecided) flag(`backend status differs from Stripe's decision`, orderId);
    if (declines && charges.length > 0) flag('a declining customer was charged', orderId);
    if (charges.length > 1) flag('charged more than once', orderId);
    if (record.status === 'paid' && record.chargeId !== charges[0]?.id) flag('backend chargeId differs from the charge', orderId);
    const keys = chargeRequestsByOrder.get(orderId) ?? new Set();
    if (keys.size !== 1 || !keys.has(`order-${orderId}/charge`)) flag('charge requests did not share the one idempotency key', orderId);
    if (record.status === 'paid' && receipts.length !== 1) flag('paid order without exactly one receipt', orderId);
    if (record.status === 'payment_failed' && receipts.length !== 0) flag('receipt sent for a failed payment', orderId);
  }
  return { paid, paymentFailed, violations: [...broken].map(([rule, orderIds]) => ({ rule, orderIds })) };
}
