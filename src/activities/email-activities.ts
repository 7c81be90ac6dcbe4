import { ApplicationFailure } from '@temporalio/activity';
import type { Resend } from 'resend';
import type { Order } from '../domain/order.js';
import { formatAmount } from '../domain/money.js';
import { PAYMENT_ACTION_EMAIL_REJECTED, RECEIPT_REJECTED, RESEND_UNAVAILABLE } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { PROVIDER_REQUEST_TIMEOUT_MS } from './clients.js';

/** Resend error names that mean "try again later"; any other error is permanent. */
const TRANSIENT_RESEND_ERRORS = new Set([
  'rate_limit_exceeded',
  'concurrent_idempotent_requests',
  'application_error',
  'internal_server_error',
]);

interface Email {
  from: string;
  to: string;
  subject: string;
  text: string;
}

export interface ReceiptRequest {
  order: Order;
  chargeId: string;
}

export interface PaymentActionRequest {
  order: Order;
  /** When the run stops waiting for the customer (ISO 8601). */
  until: string;
}

export interface EmailSettings {
  /** RECEIPT_FROM: the sender of every email to customers. */
  from: string;
  /** PAYMENT_ACTION_URL: the merchant's page where a customer confirms a payment, with `{orderId}` in it. */
  paymentActionUrl: string;
}

/** The emails to customers, sent through the worker's Resend client. */
export function emailActivities(resend: Resend, { from, paymentActionUrl }: EmailSettings) {
  /** Send Receipt: one email per paid order, deduplicated by a Resend idempotency key. */
  async function sendReceipt({ order, chargeId }: ReceiptRequest): Promise<{ emailId: string }> {
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
  }

  /**
   * Asks the customer to complete a payment their bank wants them to confirm (SCA): one email per order,
   * deduplicated by a Resend idempotency key, with the merchant's page for it (PAYMENT_ACTION_URL).
   */
  async function sendPaymentAction({ order, until }: PaymentActionRequest): Promise<{ emailId: string }> {
    const amount = formatAmount(order.amount, order.currency);
    const link = paymentActionUrl.replaceAll('{orderId}', encodeURIComponent(order.orderId));
    const emailId = await sendEmail(
      resend,
      {
        from,
        to: order.email,
        subject: `Please confirm your payment for order ${order.orderId}`,
        text: [
          `Your bank asks you to confirm the payment of ${amount} for order ${order.orderId}.`,
          `Confirm it here: ${link}`,
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
  }

  return { sendReceipt, sendPaymentAction };
}

/**
 * Sends one email through Resend under its idempotency key. Resend returns `{ data, error }` instead of throwing, so the
 * error is classified here: transient ones are retried, any other fails as `rejectedType`.
 */
async function sendEmail(
  resend: Resend,
  email: Email,
  options: { idempotencyKey: string; what: string; rejectedType: string },
): Promise<string> {
  const { data, error } = await resend.emails.send(email, {
    idempotencyKey: options.idempotencyKey,
    signal: AbortSignal.timeout(PROVIDER_REQUEST_TIMEOUT_MS),
  });
  if (!error) return data.id;
  const status = error.statusCode ?? 'no response';
  const transient =
    error.statusCode === null || error.statusCode === 429 || error.statusCode >= 500 || TRANSIENT_RESEND_ERRORS.has(error.name);
  if (transient) {
    throw ApplicationFailure.retryable(`Resend is unavailable (${status} ${error.name}): ${error.message}`, RESEND_UNAVAILABLE);
  }
  throw ApplicationFailure.nonRetryable(
    `Resend rejected the ${options.what} (${status} ${error.name}): ${error.message}`,
    options.rejectedType,
  );
}
