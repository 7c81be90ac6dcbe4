import type { Resend } from 'resend';
import type { Order } from '../domain/order.js';
import { formatAmount } from '../domain/money.js';
import { RECEIPT_REJECTED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { sendEmail } from './resend-email.js';

export interface ReceiptRequest {
  order: Order;
  chargeId: string;
}

/** Send Receipt: one email per paid order, deduplicated by a Resend idempotency key. */
export function createSendReceipt(resend: Resend, from: string) {
  return async function sendReceipt({ order, chargeId }: ReceiptRequest): Promise<{ emailId: string }> {
    const amount = formatAmount(order.amount, order.currency);
    const emailId = await sendEmail(
      resend,
      {
        from,
        to: order.email,
        subject: `Receipt for order ${order.orderId}`,
        text: [`Thank you for your order ${order.orderId}.`, `Your payment of ${amount} was successful.`, `Charge ID: ${chargeId}`].join(
          '\n',
        ),
      },
      { idempotencyKey: idempotencyKeyFor('receipt'), what: 'receipt', rejectedType: RECEIPT_REJECTED },
    );
    return { emailId };
  };
}
