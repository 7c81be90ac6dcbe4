import { ActivityFailure, proxyActivities, proxyLocalActivities, sleep } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import type { Order } from '../domain/order.js';
import { OPEN_PAYMENT_INTENT_STATUSES, type PaymentIntentState } from '../domain/payment.js';
import { CHARGE_REJECTED } from '../domain/failures.js';
import type { PaymentFailureCause } from '../metrics/names.js';
import { CHARGE_RETRY } from './retry-policies.js';
import { failureMessage, failureType } from './failures.js';

/** The requests that move money: the seed's Charge Card retries, each retry under the same idempotency key. */
const { createPaymentIntent, confirmPaymentIntent } = proxyActivities<OrderActivities>({ startToCloseTimeout: '30 seconds', retry: CHARGE_RETRY });
/** Asking Stripe: a few quick attempts; a longer outage is waited out by the run's durable backoff below. */
const { lookUpPayment, cancelPaymentIntent } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});
const { paymentSettings } = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: '5 seconds' });

/** The durable backoff between two questions to Stripe while it cannot answer or has not decided. */
const FIRST_WAIT_MS = 5_000;
const LONGEST_WAIT_MS = 15 * 60_000;

/** What Stripe's records say of the order's payment, as the order backend will record it. */
export type PaymentOutcome =
  | { status: 'paid'; paymentIntentId?: string; chargeId: string }
  | {
      status: 'payment_failed';
      paymentIntentId?: string;
      reason: string;
      declineCode?: string;
      cause: PaymentFailureCause;
      /** Only runs started before the `payment-intents` patch guessed an outcome. */
      chargeUncertain?: boolean;
    }
  | { status: 'payment_pending'; paymentIntentId?: string; reason: string; since: number };

export interface PaymentWatcher {
  /** The PaymentIntent exists: its ID is now in the run's history. */
  onPaymentIntent(paymentIntentId: string): void;
  /** Called once, when the run learns it must wait for Stripe (the order is payment_pending until it decides). */
  onWaiting(wait: { reason: string; paymentIntentId?: string; until: number }): void;
}

/** What the run knows while it settles the payment. `state` undefined: Stripe must be asked. */
interface Settling {
  state?: PaymentIntentState | null;
  paymentIntentId?: string;
  /** Whether the run has sent the confirmation (the charge): a PaymentIntent found unconfirmed is confirmed, not cancelled. */
  confirmSent: boolean;
  reason: string;
  declineCode?: string;
  cause: PaymentFailureCause;
}

/**
 * Charge Card with a PaymentIntent: create it (its ID enters the history), confirm it off session,
 * then settle on what Stripe shows. No outcome is ever guessed: when a request's outcome is unknown,
 * the run asks Stripe before it records anything.
 */
export async function payWithPaymentIntent(order: Order, watcher: PaymentWatcher): Promise<PaymentOutcome> {
  const since = Date.now();
  let paymentIntentId: string | undefined;
  try {
    const created = await createPaymentIntent(order);
    if (created.outcome === 'no_payment_method') return { status: 'payment_failed', reason: created.reason, cause: 'no_payment_method' };
    paymentIntentId = created.paymentIntent.id;
    watcher.onPaymentIntent(paymentIntentId);
    const confirmed = await confirmPaymentIntent({ orderId: order.orderId, paymentIntentId });
    return await settle(order, since, watcher, { state: confirmed, paymentIntentId, confirmSent: true, reason: 'The payment was not completed', cause: 'rejected' });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const rejected = failureType(error) === CHARGE_REJECTED;
    // Stripe refused to create the PaymentIntent: nothing exists to charge.
    if (rejected && !paymentIntentId) return { status: 'payment_failed', reason: failureMessage(error), cause: 'rejected' };
    return await settle(order, since, watcher, {
      paymentIntentId,
      // A failed create sent no confirmation; a failed confirmation may have charged.
      confirmSent: paymentIntentId !== undefined,
      reason: failureMessage(error),
      cause: rejected ? 'rejected' : 'not_charged',
    });
  }
}

/**
 * Asks Stripe until its records decide the order: a succeeded PaymentIntent is `paid`; no
 * PaymentIntent, or a cancelled one, is `payment_failed`, and an open one is cancelled first so it can
 * never succeed later. While Stripe cannot answer or has not decided, the run waits on a durable
 * backoff up to the worker's PAYMENT_RECONCILE_TIMEOUT, then leaves the order `payment_pending`.
 */
async function settle(order: Order, since: number, watcher: PaymentWatcher, settling: Settling): Promise<PaymentOutcome> {
  const { orderId } = order;
  let { state, paymentIntentId, confirmSent, reason, declineCode, cause } = settling;
  let waitMs = FIRST_WAIT_MS;
  let until: number | undefined;
  for (;;) {
    if (state === undefined) {
      try {
        state = await lookUpPayment({ orderId, customerId: order.customerId, since, ...(paymentIntentId && { paymentIntentId }) });
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        reason = failureMessage(error);
      }
    }
    if (state === null) {
      return { status: 'payment_failed', reason: `${reason}. Stripe shows no PaymentIntent for the order: nothing was charged`, cause };
    }
    if (state) {
      if (paymentIntentId !== state.id) watcher.onPaymentIntent(state.id);
      paymentIntentId = state.id;
      if (state.status === 'succeeded') return { status: 'paid', paymentIntentId, chargeId: state.chargeId ?? state.id };
      if (state.lastError) {
        reason = state.lastError.message;
        declineCode = state.lastError.declineCode ?? state.lastError.code;
        cause = 'declined';
      }
      if (state.status === 'canceled') return { status: 'payment_failed', paymentIntentId, reason, ...(declineCode && { declineCode }), cause };
      // Created while Stripe's answer was lost: charge it as planned.
      if (state.status === 'requires_confirmation' && !confirmSent) {
        confirmSent = true;
        try {
          state = await confirmPaymentIntent({ orderId, paymentIntentId });
          continue;
        } catch (error) {
          if (!(error instanceof ActivityFailure)) throw error;
          [state, reason] = [undefined, failureMessage(error)];
          continue;
        }
      }
      if (OPEN_PAYMENT_INTENT_STATUSES.includes(state.status)) {
        const cancelled = await cancelPaymentIntent({ orderId, paymentIntentId }).catch((error: unknown) => {
          if (!(error instanceof ActivityFailure)) throw error;
          reason = failureMessage(error);
          return undefined;
        });
        // Cancelled, or it can no longer be: decide on what Stripe answered. Still open: ask again after a wait.
        if (cancelled && !OPEN_PAYMENT_INTENT_STATUSES.includes(cancelled.status)) {
          state = cancelled;
          continue;
        }
      } else {
        reason = `Stripe has not decided PaymentIntent ${paymentIntentId} yet (status ${state.status})`;
      }
    }
    state = undefined;
    if (until === undefined) {
      until = since + (await paymentSettings()).reconcileTimeoutMs;
      watcher.onWaiting({ reason, until, ...(paymentIntentId && { paymentIntentId }) });
    }
    const remainingMs = until - Date.now();
    if (remainingMs <= 0) return { status: 'payment_pending', reason, since, ...(paymentIntentId && { paymentIntentId }) };
    await sleep(Math.min(waitMs, remainingMs));
    waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
  }
}
