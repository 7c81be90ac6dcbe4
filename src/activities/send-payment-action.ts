import type { Resend } from 'resend';
import type { Order } from '../domain/order.js';
import { formatAmount } from '../domain/money.js';
import { PAYMENT_ACTION_EMAIL_REJECTED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { sendEmail } from './resend-email.js';

export interface PaymentActionRequest {
  order: Order;
  /** When the run stops waiting for the customer (ISO 8601). */
  until: string;
}

/** The customer's link: PAYMENT_ACTION_URL with `{orderId}` filled in. */
function paymentActionLink(template: string, orderId: string): string {
  return template.replaceAll('{orderId}', encodeURIComponent(orderId));
}

/**
 * Asks the customer to complete a payment their bank wants them to confirm (SCA): one email per order,
 * deduplicated by a Resend idempotency key, with the merchant's page for it (PAYMENT_ACTION_URL).
 */
export function createSendPaymentAction(resend: Resend, from: string, actionUrlTemplate: string) {
  return async function sendPaymentAction({ order, until }: PaymentActionRequest): Promise<{ emailId: string }> {
    const amount = formatAmount(order.amount, order.currency);
    const emailId = await sendEmail(
      resend,
      {
        from,
        to: order.email,
        subject: `Please confirm your payment for order ${order.orderId}`,
        text: [
          `Your bank asks you to confirm the payment of ${amount} for order ${order.orderId}.`,
          `Confirm it here: ${paymentActionLink(actionUrlTemplate, order.orderId)}`,
          `The order is kept until ${until}; after that it is cancelled and nothing is charged.`,
        ].join('\n'),
      },
      {
        idempotencyKey: idempotencyKeyFor('payment-action'),
        what: 'payment confirmation email',
        rejectedType: PAYMENT_ACTION_EMAIL_REJECTED,
      },
    );
    return { emailId };
  };
}
