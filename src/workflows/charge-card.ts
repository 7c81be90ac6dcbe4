import { ActivityFailure, condition, patched, sleep } from '@temporalio/workflow';
import type { Order } from '../domain/order.js';
import { KEY_GENERATIONS, OPEN_PAYMENT_INTENT_STATUSES, type PaymentIntentState, type PaymentSinceThen } from '../domain/payment.js';
import { CHARGE_OUTCOME_UNKNOWN, CHARGE_REJECTED } from '../domain/failures.js';
import type { PaymentFailureCause } from '../domain/metric-names.js';
import { CHARGE_OPTIONS, PAYMENT_SETTINGS_OPTIONS, STRIPE_QUESTION_OPTIONS } from './activity-options.js';
import { failureMessage, failureType } from './activity-failures.js';
import { localOrderActivity, orderActivity } from './activity-proxies.js';

const createPaymentIntent = orderActivity('createPaymentIntent', CHARGE_OPTIONS);
const confirmPaymentIntent = orderActivity('confirmPaymentIntent', CHARGE_OPTIONS);
const lookUpPayment = orderActivity('lookUpPayment', STRIPE_QUESTION_OPTIONS);
const cancelPaymentIntent = orderActivity('cancelPaymentIntent', STRIPE_QUESTION_OPTIONS);
const paymentSettings = localOrderActivity('paymentSettings', PAYMENT_SETTINGS_OPTIONS);

/** The durable backoff between two questions to Stripe while it cannot answer or has not decided. */
const FIRST_WAIT_MS = 5_000;
const LONGEST_WAIT_MS = 15 * 60_000;
/**
 * While the customer confirms a payment, Stripe's webhook events wake the run; without them (a webhook
 * lost or not set up) it still asks Stripe on this backoff.
 */
const FIRST_CUSTOMER_POLL_MS = 30_000;
const LONGEST_CUSTOMER_POLL_MS = 60 * 60_000;

/** A card that needs its holder (SCA): the customer is asked to confirm, runs started before this cancel at once. */
const CUSTOMER_ACTION = 'customer-action';
/** A request Stripe's record shows did nothing is sent again under a fresh key; runs started before this gave up. */
const FRESH_KEYS = 'fresh-idempotency-keys';
const AUTHENTICATION_REQUIRED = 'authentication_required';

/** What Stripe's records say of the order's payment, as the order backend will record it. */
export type PaymentOutcome =
  | {
      status: 'paid';
      paymentIntentId?: string;
      chargeId: string;
      /** Paid before this run (the order was sent again after its run was gone): not charged again. */
      paidBefore?: true;
      /** The earlier payment's refunds and disputes since, which the backend must be told instead of `paid`. */
      sinceThen?: PaymentSinceThen;
    }
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
  /** Called once, when the customer must confirm the payment (the order is payment_pending; they are asked by email). */
  onCustomerAction(action: { reason: string; paymentIntentId: string; until: number }): void;
  /** How many Stripe webhook events reached the run so far: a new one is a reason to ask Stripe again. */
  stripeEventsReceived(): number;
}

/** What the run knows while it settles the payment. `state` undefined: Stripe must be asked. */
interface Settling {
  state?: PaymentIntentState | null;
  paymentIntentId?: string;
  /** How many create keys the run has used (the first included). */
  creations: number;
  /** How many confirmation keys the run has used: a PaymentIntent found unconfirmed is confirmed (again), not cancelled. */
  confirmations: number;
  /** The last create or confirmation left its outcome unknown (Stripe replays an error for its key, or refused the key). */
  keyBurnt: boolean;
  reason: string;
  declineCode?: string;
  cause: PaymentFailureCause;
}

/**
 * Created unconfirmed, so the PaymentIntent's ID is in the history before money moves. No outcome is ever guessed: an unknown
 * one is asked of Stripe before anything is recorded (docs/payments.md#charge-card-step-by-step).
 */
export async function payWithPaymentIntent(order: Order, watcher: PaymentWatcher): Promise<PaymentOutcome> {
  const since = Date.now();
  let paymentIntentId: string | undefined;
  try {
    const created = await createPaymentIntent(order);
    if (created.outcome === 'no_payment_method') return { status: 'payment_failed', reason: created.reason, cause: 'no_payment_method' };
    paymentIntentId = created.paymentIntent.id;
    watcher.onPaymentIntent(paymentIntentId);
    if (created.outcome === 'paid_before') {
      const settled = await settle(order, since, watcher, {
        state: created.paymentIntent,
        paymentIntentId,
        creations: 1,
        confirmations: 1,
        keyBurnt: false,
        reason: `The order was paid before, by PaymentIntent ${paymentIntentId}`,
        cause: 'rejected',
      });
      const { sinceThen } = created;
      return settled.status === 'paid' ? { ...settled, paidBefore: true, ...(sinceThen && { sinceThen }) } : settled;
    }
    const confirmed = await confirmPaymentIntent({ orderId: order.orderId, paymentIntentId, ...onSession(order) });
    return await settle(order, since, watcher, {
      state: confirmed,
      paymentIntentId,
      creations: 1,
      confirmations: 1,
      keyBurnt: false,
      reason: 'The payment was not completed',
      cause: 'rejected',
    });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const rejected = failureType(error) === CHARGE_REJECTED;
    // Stripe refused to create the PaymentIntent: nothing exists to charge.
    if (rejected && !paymentIntentId) return { status: 'payment_failed', reason: failureMessage(error), cause: 'rejected' };
    return await settle(order, since, watcher, {
      paymentIntentId,
      creations: 1,
      // A failed create sent no confirmation; a failed confirmation may have charged.
      confirmations: paymentIntentId === undefined ? 0 : 1,
      keyBurnt: failureType(error) === CHARGE_OUTCOME_UNKNOWN,
      reason: failureMessage(error),
      cause: rejected ? 'rejected' : 'not_charged',
    });
  }
}

/**
 * Stripe's records decide; an open PaymentIntent is cancelled before `payment_failed`, so it can never succeed afterwards.
 * While Stripe cannot answer or has not decided, the run waits on a durable backoff (docs/payments.md#while-stripe-cannot-be-reached).
 */
async function settle(order: Order, since: number, watcher: PaymentWatcher, settling: Settling): Promise<PaymentOutcome> {
  const { orderId } = order;
  let { state, paymentIntentId, creations, confirmations, keyBurnt, reason, declineCode, cause } = settling;
  let waitMs = FIRST_WAIT_MS;
  let until: number | undefined;
  let customerAsked = false;
  let customerTimedOut: string | undefined;
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
      // Nothing was created under the earlier key (it may be burnt for 24 h): the sale is not lost, create it under the next.
      if (keyBurnt && creations < KEY_GENERATIONS && patched(FRESH_KEYS)) {
        creations += 1;
        try {
          const created = await createPaymentIntent(order, creations);
          if (created.outcome === 'no_payment_method')
            return { status: 'payment_failed', reason: created.reason, cause: 'no_payment_method' };
          [state, keyBurnt] = [created.paymentIntent, false];
        } catch (error) {
          if (!(error instanceof ActivityFailure)) throw error;
          if (failureType(error) === CHARGE_REJECTED) return { status: 'payment_failed', reason: failureMessage(error), cause: 'rejected' };
          [state, reason, keyBurnt] = [undefined, failureMessage(error), failureType(error) === CHARGE_OUTCOME_UNKNOWN];
        }
        continue;
      }
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
      if (state.status === 'canceled') {
        if (customerTimedOut) [reason, cause] = [`${customerTimedOut} (${reason})`, 'customer_action_timeout'];
        return { status: 'payment_failed', paymentIntentId, reason, ...(declineCode && { declineCode }), cause };
      }
      // Created while Stripe's answer was lost: charge it as planned. Confirmed, yet still unconfirmed: the
      // confirmation did nothing (its key may be burnt for 24 h), so it is sent again under the next key.
      const confirmable =
        state.status === 'requires_confirmation' &&
        (confirmations === 0 || (keyBurnt && confirmations < KEY_GENERATIONS && patched(FRESH_KEYS)));
      if (confirmable) {
        confirmations += 1;
        try {
          state = await confirmPaymentIntent({
            orderId,
            paymentIntentId,
            ...onSession(order),
            ...(confirmations > 1 && { keyGeneration: confirmations }),
          });
          keyBurnt = false;
          continue;
        } catch (error) {
          if (!(error instanceof ActivityFailure)) throw error;
          [state, reason, keyBurnt] = [undefined, failureMessage(error), failureType(error) === CHARGE_OUTCOME_UNKNOWN];
          continue;
        }
      }
      if (!customerAsked && needsCustomer(state) && patched(CUSTOMER_ACTION)) {
        customerAsked = true;
        const decided = await waitForCustomer(order, since, watcher, state, reason);
        if (decided.answered) {
          state = decided.state;
          continue;
        }
        customerTimedOut = decided.reason;
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
      // From the first wait: after a customer's PAYMENT_ACTION_TIMEOUT the run still has the whole window to cancel and check.
      until = Date.now() + (await paymentSettings()).reconcileTimeoutMs;
      watcher.onWaiting({ reason, until, ...(paymentIntentId && { paymentIntentId }) });
    }
    const remainingMs = until - Date.now();
    if (remainingMs <= 0) return { status: 'payment_pending', reason, since, ...(paymentIntentId && { paymentIntentId }) };
    await sleep(Math.min(waitMs, remainingMs));
    waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
  }
}

/** The confirmation's session: on session with the checkout's return URL, or off session. */
function onSession(order: Order): { returnUrl?: string } {
  return order.confirmOnSession ? { returnUrl: order.confirmOnSession.returnUrl } : {};
}

/** The card needs its holder: Stripe declined the off-session payment for authentication, or asks for an action. */
function needsCustomer(state: PaymentIntentState): boolean {
  return (
    state.status === 'requires_action' || (state.status === 'requires_payment_method' && state.lastError?.code === AUTHENTICATION_REQUIRED)
  );
}

type CustomerAnswer = { answered: true; state: PaymentIntentState } | { answered: false; reason: string };

/**
 * A webhook event only wakes the run to ask Stripe; without events it asks on a backoff. A failed attempt leaves the
 * PaymentIntent open for the customer to try again (docs/payments.md#cards-that-need-their-holder-sca).
 */
async function waitForCustomer(
  order: Order,
  since: number,
  watcher: PaymentWatcher,
  open: PaymentIntentState,
  reason: string,
): Promise<CustomerAnswer> {
  const timeoutMs = (await paymentSettings()).actionTimeoutMs;
  const until = Date.now() + timeoutMs;
  watcher.onCustomerAction({ reason, paymentIntentId: open.id, until });
  let pollMs = FIRST_CUSTOMER_POLL_MS;
  let seen = watcher.stripeEventsReceived();
  for (;;) {
    const remainingMs = until - Date.now();
    if (remainingMs <= 0)
      return { answered: false, reason: `The customer did not confirm the payment within ${formatDuration(timeoutMs)}` };
    const woken = await condition(() => watcher.stripeEventsReceived() > seen, Math.min(pollMs, remainingMs));
    if (!woken) pollMs = Math.min(pollMs * 2, LONGEST_CUSTOMER_POLL_MS);
    // Read before asking: an event that arrives while Stripe is asked wakes the next wait at once.
    seen = watcher.stripeEventsReceived();
    const latest = await lookUpPayment({ orderId: order.orderId, customerId: order.customerId, paymentIntentId: open.id, since }).catch(
      (error: unknown) => {
        if (!(error instanceof ActivityFailure)) throw error;
        return undefined; // Stripe cannot answer now: ask again later
      },
    );
    if (latest && !OPEN_PAYMENT_INTENT_STATUSES.includes(latest.status)) return { answered: true, state: latest };
  }
}

function formatDuration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}
