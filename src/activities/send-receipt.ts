import { ApplicationFailure } from '@temporalio/activity';
import type { Resend } from 'resend';
import type { Order } from '../domain/order.js';
import { formatAmount } from '../domain/money.js';
import { RECEIPT_REJECTED, RESEND_UNAVAILABLE } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { PROVIDER_REQUEST_TIMEOUT_MS } from './clients.js';

/** Resend error names that mean "try again later"; any other error is permanent. */
const TRANSIENT_RESEND_ERRORS = new Set([
  'rate_limit_exceeded',
  'concurrent_idempotent_requests',
  'application_error',
  'internal_server_error',
]);

export interface ReceiptRequest {
  order: Order;
  chargeId: string;
}

/** Send Receipt: one email per paid order, deduplicated by a Resend idempotency key. */
export function createSendReceipt(resend: Resend, from: string) {
  return async function sendReceipt({ order, chargeId }: ReceiptRequest): Promise<{ emailId: string }> {
    const amount = formatAmount(order.amount, order.currency);
    const { data, error } = await resend.emails.send(
      {
        from,
        to: order.email,
        subject: `Receipt for order ${order.orderId}`,
        text: [
          `Thank you for your order ${order.orderId}.`,
          `Your payment of ${amount} was successful.`,
          `Charge ID: ${chargeId}`,
        ].join('\n'),
      },
      { idempotencyKey: idempotencyKeyFor('receipt'), signal: AbortSignal.timeout(PROVIDER_REQUEST_TIMEOUT_MS) },
    );
    if (error) {
      const status = error.statusCode ?? 'no response';
      const transient =
        error.statusCode === null || error.statusCode === 429 || error.statusCode >= 500 || TRANSIENT_RESEND_ERRORS.has(error.name);
      if (transient) {
        throw ApplicationFailure.retryable(`Resend is unavailable (${status} ${error.name}): ${error.message}`, RESEND_UNAVAILABLE);
      }
      throw ApplicationFailure.nonRetryable(`Resend rejected the receipt (${status} ${error.name}): ${error.message}`, RECEIPT_REJECTED);
    }
    return { emailId: data.id };
  };
}
