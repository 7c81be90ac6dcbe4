import { ApplicationFailure } from '@temporalio/activity';
import Stripe from 'stripe';
import type { PaymentIntentState, PaymentIntentStatus } from '../domain/payment.js';
import { CHARGE_OUTCOME_UNKNOWN, CHARGE_REJECTED, STRIPE_UNAVAILABLE } from '../domain/failures.js';

/** Stripe errors that retrying with the same request cannot fix: the request changed nothing. */
const REJECTED_ERROR_TYPES = new Set(['StripeAuthenticationError', 'StripePermissionError', 'StripeInvalidRequestError']);

/** The run's view of a PaymentIntent: its ID, status, latest charge and why the last confirmation failed. */
export function paymentIntentState(intent: Stripe.PaymentIntent): PaymentIntentState {
  const chargeId = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id;
  const error = intent.last_payment_error;
  return {
    id: intent.id,
    // Stripe's SDK types leave room for statuses added later; the workflow treats an unknown one as undecided.
    status: intent.status as PaymentIntentStatus,
    ...(chargeId && { chargeId }),
    ...(error && {
      lastError: {
        code: error.code ?? error.type,
        ...(error.decline_code && { declineCode: error.decline_code }),
        message: error.message ?? 'The payment failed.',
      },
    }),
  };
}

/**
 * A request on a PaymentIntent (confirm, cancel), answered with the PaymentIntent as Stripe left it: a decline or a state
 * Stripe no longer allows carries it in the error, and that is Stripe's record of the outcome, not a failure.
 */
export async function callStripeOnIntent(action: string, call: () => Promise<Stripe.PaymentIntent>): Promise<PaymentIntentState> {
  try {
    return paymentIntentState(await call());
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeError)) throw error;
    const recorded = error.type === 'StripeCardError' || error.code === 'payment_intent_unexpected_state';
    if (recorded && error.payment_intent) return paymentIntentState(error.payment_intent);
    throw stripeFailure(error, action);
  }
}

/**
 * The one place a Stripe failure becomes an activity failure: retried only when the same request under the same key can
 * still help (docs/payments.md#how-a-stripe-error-fails-the-activity).
 */
export function stripeFailure(error: Stripe.errors.StripeError, action: string): ApplicationFailure {
  const status = error.statusCode ?? 'no response';
  const detail = `(${status}${error.code ? ` ${error.code}` : ''}): ${error.message}`;
  if (error.statusCode === 409 || error.headers?.['stripe-should-retry'] === 'true') {
    return ApplicationFailure.retryable(`Stripe asks to retry ${action} ${detail}`, STRIPE_UNAVAILABLE);
  }
  if (error.type === 'StripeIdempotencyError') {
    return ApplicationFailure.nonRetryable(`Stripe refused the idempotency key to ${action} ${detail}`, CHARGE_OUTCOME_UNKNOWN);
  }
  if (replaysStoredError(error)) {
    return ApplicationFailure.nonRetryable(
      `Stripe replays an error to ${action} for this idempotency key: the first request began executing ${detail}`,
      CHARGE_OUTCOME_UNKNOWN,
    );
  }
  if (REJECTED_ERROR_TYPES.has(error.type)) {
    return ApplicationFailure.nonRetryable(`Stripe rejected the request to ${action} ${detail}`, CHARGE_REJECTED);
  }
  return ApplicationFailure.retryable(`Stripe is unavailable to ${action} ${detail}`, STRIPE_UNAVAILABLE);
}

/**
 * A 5xx that Stripe replays for the idempotency key (`Idempotent-Replayed: true`): the first request
 * under the key began executing, so it may have done its work; every retry gets this same answer for 24 h.
 */
export function replaysStoredError(error: Stripe.errors.StripeError): boolean {
  return error.statusCode !== undefined && error.statusCode >= 500 && error.headers?.['idempotent-replayed'] === 'true';
}

/** Runs a Stripe call, turning its errors into the activity failures above; other errors pass through. */
export async function callStripe<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) throw stripeFailure(error, action);
    throw error;
  }
}

/**
 * What Stripe's succeeded refunds of a charge or PaymentIntent gave back: a charge's `amount_refunded` also counts refunds
 * still pending, which may yet fail and leave the money with the merchant.
 */
export async function settledRefundTotal(stripe: Stripe, of: { charge: string } | { payment_intent: string }): Promise<number> {
  return callStripe('list the refunds of the payment', async () => {
    let total = 0;
    for await (const refund of stripe.refunds.list({ ...of, limit: 100 })) if (refund.status === 'succeeded') total += refund.amount;
    return total;
  });
}
