import { activityInfo, ApplicationFailure, Context, log } from '@temporalio/activity';
import Stripe from 'stripe';
import type { ChargeResult, Order } from '../domain/order.js';
import {
  KEY_GENERATIONS,
  type CreatedPayment,
  type PaymentIntentState,
  type PaymentSettings,
  type PaymentSinceThen,
  type RefundOrderInput,
  type RefundOutcome,
} from '../domain/payment.js';
import type { OutcomeMismatch, SweepInput } from '../domain/reconciliation.js';
import { CHARGE_OUTCOME_UNKNOWN, CHARGE_REJECTED, REFUND_NOT_MADE, REFUND_REFUSED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { outcomeMismatches } from './outcome-mismatches.js';
import {
  callStripe,
  callStripeOnIntent,
  paymentIntentState,
  replaysStoredError,
  settledRefundTotal,
  stripeFailure,
} from './stripe-outcomes.js';

export interface PaymentIntentRef {
  orderId: string;
  paymentIntentId: string;
}

export interface Confirmation extends PaymentIntentRef {
  /** Which of the run's confirmation keys to send under: a later one once Stripe showed the earlier burnt (1 when omitted). */
  keyGeneration?: number;
  /** On session: the customer is at the checkout, and returns here after confirming with their bank. Off session when omitted. */
  returnUrl?: string;
}

export interface PaymentLookup {
  orderId: string;
  customerId: string;
  /** Known once Create PaymentIntent answered: then a retrieve settles it. */
  paymentIntentId?: string;
  /** When the run began charging (ms since the epoch): no PaymentIntent of this order is older. */
  since: number;
}

/** Stripe's `created` filter is in seconds; a minute of slack covers clock skew between the worker and Stripe. */
const CLOCK_SKEW_SECONDS = 60;

/** A PaymentIntent in these statuses has taken, or is taking, the order's money. */
const PAID_STATUSES = new Set<Stripe.PaymentIntent.Status>(['succeeded', 'processing']);

/** Stripe's answers to a refund it will not make: retrying cannot change them. */
const REFUSED_REFUND_CODES = new Set(['charge_already_refunded', 'amount_too_large', 'charge_not_refundable', 'charge_disputed']);

/** The Stripe activities, built from the worker's Stripe client. */
export function stripeActivities(stripe: Stripe, { reconcileTimeoutMs, actionTimeoutMs }: PaymentSettings) {
  /** How long to wait for Stripe, read by the workflow from the worker's settings: workflow code cannot read the environment. */
  async function paymentSettings(): Promise<PaymentSettings> {
    return { reconcileTimeoutMs, actionTimeoutMs };
  }

  /**
   * Charge Card, first half: the PaymentIntent is created unconfirmed, so its ID is in the run's history before any money
   * moves (docs/payments.md#charge-card-step-by-step).
   */
  async function createPaymentIntent(order: Order, keyGeneration?: number): Promise<CreatedPayment> {
    try {
      return await createUnconfirmed(stripe, order, idempotencyKeyFor('payment-intent', keyGeneration));
    } catch (error) {
      // A refusal after an earlier attempt whose answer never came: that attempt may have created the PaymentIntent.
      if (error instanceof ApplicationFailure && error.type === CHARGE_REJECTED && activityInfo().attempt > 1) {
        throw ApplicationFailure.nonRetryable(
          `${error.message}, after an earlier attempt whose outcome is unknown`,
          CHARGE_OUTCOME_UNKNOWN,
        );
      }
      throw error;
    }
  }

  /**
   * Charge Card, second half: confirms off session, or on session given a return URL, under the key charges always had
   * (`.../charge`), and answers the PaymentIntent as Stripe left it, so a decline is a state, not an error.
   */
  async function confirmPaymentIntent({ orderId, paymentIntentId, keyGeneration, returnUrl }: Confirmation): Promise<PaymentIntentState> {
    const idempotencyKey = idempotencyKeyFor('charge', keyGeneration);
    const session = returnUrl === undefined ? { off_session: true } : { return_url: returnUrl };
    const intent = await callStripeOnIntent('confirm the PaymentIntent', () =>
      stripe.paymentIntents.confirm(paymentIntentId, session, { idempotencyKey }),
    );
    log.info('PaymentIntent confirmed', { orderId, paymentIntentId, status: intent.status, code: intent.lastError?.code });
    return intent;
  }

  /**
   * When a request's outcome is unknown, Stripe's record decides: by ID, else the customer's list, which is strongly consistent
   * where search lags. Null: nothing was created, nothing charged (docs/payments.md#no-guessed-outcomes).
   */
  async function lookUpPayment({ orderId, customerId, paymentIntentId, since }: PaymentLookup): Promise<PaymentIntentState | null> {
    if (paymentIntentId) {
      return paymentIntentState(await callStripe('retrieve the PaymentIntent', () => stripe.paymentIntents.retrieve(paymentIntentId)));
    }
    const matches: Stripe.PaymentIntent[] = [];
    await callStripe("list the customer's PaymentIntents", async () => {
      const listed = stripe.paymentIntents.list({
        customer: customerId,
        created: { gte: Math.floor(since / 1000) - CLOCK_SKEW_SECONDS },
        limit: 100,
      });
      for await (const intent of listed) if (intent.metadata.order_id === orderId) matches.push(intent);
    });
    // One key creates one PaymentIntent per order; should there be more, a succeeded one decides.
    const match = matches.find((intent) => intent.status === 'succeeded') ?? matches[0];
    return match ? paymentIntentState(match) : null;
  }

  /**
   * Cancels the open PaymentIntent so it cannot succeed after the order is recorded `payment_failed`; answers its status as
   * Stripe left it, which is not `canceled` when it succeeded meanwhile (the order is paid after all).
   */
  async function cancelPaymentIntent({ orderId, paymentIntentId }: PaymentIntentRef): Promise<PaymentIntentState> {
    const intent = await callStripeOnIntent('cancel the PaymentIntent', () =>
      // No idempotency key: cancelling is idempotent by state, and a key would replay a stale answer
      // (a 500, or an old status) to every later attempt for 24 h.
      stripe.paymentIntents.cancel(paymentIntentId, { cancellation_reason: 'abandoned' }),
    );
    log.info('PaymentIntent cancel answered', { orderId, paymentIntentId, status: intent.status });
    return intent;
  }

  /**
   * Refunds in full or in part and answers the refund as Stripe holds it, `pending` included; when Stripe replays an error for
   * the key, its list of refunds made under the key decides (docs/payments.md#refunds).
   */
  async function refundPayment({ orderId, paymentIntentId, amount, reason }: RefundOrderInput): Promise<RefundOutcome> {
    // Stripe forgets keys after 24 h and Temporal forgets runs: a request sent again later must not refund twice.
    const earlier = await refundMadeUnder(stripe, paymentIntentId, idempotencyKeyFor('refund'), true);
    if (earlier) {
      log.info("Stripe shows the refund made under this request's key: not refunded again", { orderId, refundId: earlier.id });
      return await outcomeOfMade(stripe, earlier);
    }
    for (let generation = 1; ; generation += 1) {
      const idempotencyKey = idempotencyKeyFor('refund', generation);
      let refund: Stripe.Refund;
      try {
        refund = await stripe.refunds.create(
          {
            payment_intent: paymentIntentId,
            ...(amount !== undefined && { amount }),
            metadata: { order_id: orderId, reason: reason.slice(0, 500), idempotency_key: idempotencyKey },
          },
          { idempotencyKey },
        );
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeError)) throw error;
        if (error.type === 'StripeInvalidRequestError' && REFUSED_REFUND_CODES.has(error.code ?? '')) {
          throw ApplicationFailure.nonRetryable(
            `Stripe refused the refund of order ${orderId} (${error.code}): ${error.message}`,
            REFUND_REFUSED,
          );
        }
        if (!replaysStoredError(error)) throw stripeFailure(error, 'refund the payment');
        const made = await refundMadeUnder(stripe, paymentIntentId, idempotencyKey);
        if (made) {
          log.warn('Stripe replays an error for the refund key; its records show the refund was made', { orderId, refundId: made.id });
          return await outcomeOfMade(stripe, made);
        }
        if (generation === KEY_GENERATIONS) {
          throw ApplicationFailure.nonRetryable(
            `Stripe replays an error (${error.statusCode}) for each of the ${KEY_GENERATIONS} refund keys up to ${idempotencyKey}, and its ` +
              `records show no refund of PaymentIntent ${paymentIntentId} under any of them: the refund was not made`,
            REFUND_NOT_MADE,
          );
        }
        log.warn('Stripe replays an error for the refund key and shows no refund under it: sending the refund under the next key', {
          orderId,
          idempotencyKey,
        });
        continue;
      }
      log.info('Refund made', { orderId, paymentIntentId, refundId: refund.id, amount: refund.amount, status: refund.status });
      return await outcomeOfMade(stripe, refund);
    }
  }

  /** Look Up Refund: the refund as Stripe holds it now, while the workflow waits for a pending one to settle. */
  async function lookUpRefund({ refundId }: { refundId: string }): Promise<RefundOutcome> {
    return refundOutcome(stripe, await callStripe('retrieve the refund', () => stripe.refunds.retrieve(refundId)));
  }

  /**
   * Charge Card on the legacy Charges API, kept for runs started before the `payment-intents` patch: delete it with that
   * patch's old branch once none is open (docs/payments.md#runs-started-before-paymentintents).
   */
  async function chargeCard(order: Order): Promise<ChargeResult> {
    try {
      const charge = await stripe.charges.create(
        {
          amount: order.amount,
          currency: order.currency,
          customer: order.customerId,
          description: `Order ${order.orderId}`,
          metadata: { order_id: order.orderId },
        },
        { idempotencyKey: idempotencyKeyFor('charge') },
      );
      if (charge.status === 'failed') {
        return {
          outcome: 'declined',
          chargeId: charge.id,
          declineCode: charge.failure_code ?? 'card_declined',
          reason: charge.failure_message ?? 'The charge failed.',
        };
      }
      log.info('Card charged', { orderId: order.orderId, chargeId: charge.id });
      return { outcome: 'succeeded', chargeId: charge.id };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      if (error.type === 'StripeCardError') {
        log.info('Card declined', { orderId: order.orderId, declineCode: error.decline_code ?? error.code });
        return {
          outcome: 'declined',
          ...(error.charge && { chargeId: error.charge }),
          declineCode: error.decline_code ?? error.code ?? 'card_declined',
          reason: error.message,
        };
      }
      throw stripeFailure(error, 'charge the card');
    }
  }

  /** The reconciliation sweep: Stripe's changes of the window against the outcomes recorded in Temporal (the worker's client). */
  async function findOutcomeMismatches({ windowMs }: SweepInput): Promise<OutcomeMismatch[]> {
    return outcomeMismatches(stripe, Context.current().client, windowMs);
  }

  return {
    paymentSettings,
    createPaymentIntent,
    confirmPaymentIntent,
    lookUpPayment,
    cancelPaymentIntent,
    refundPayment,
    lookUpRefund,
    chargeCard,
    findOutcomeMismatches,
  };
}

/** The customer's default payment method (`invoice_settings.default_payment_method`), if any. */
async function defaultPaymentMethod(stripe: Stripe, customerId: string): Promise<string | undefined> {
  const customer = await callStripe('read the customer', () => stripe.customers.retrieve(customerId));
  if (customer.deleted) return undefined;
  const method = customer.invoice_settings.default_payment_method;
  return (typeof method === 'string' ? method : method?.id) ?? undefined;
}

/**
 * The order's succeeded or processing PaymentIntent, however old: an order sent again after its run and keys are gone must not
 * be charged twice. Search first; the customer's list when search answers 429 (docs/payments.md#one-charge-per-order-for-all-time).
 */
async function paidBefore(stripe: Stripe, order: Order): Promise<Stripe.PaymentIntent | undefined> {
  const paid = (intent: Stripe.PaymentIntent) => intent.metadata.order_id === order.orderId && PAID_STATUSES.has(intent.status);
  try {
    return (await stripe.paymentIntents.search({ query: `metadata['order_id']:'${order.orderId}'`, limit: 100 })).data.find(paid);
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeRateLimitError))
      throw error instanceof Stripe.errors.StripeError ? stripeFailure(error, "search the order's PaymentIntents") : error;
  }
  return callStripe("list the customer's PaymentIntents", async () => {
    for await (const intent of stripe.paymentIntents.list({ customer: order.customerId, limit: 100 })) if (paid(intent)) return intent;
    return undefined;
  });
}

async function createUnconfirmed(stripe: Stripe, order: Order, idempotencyKey: string): Promise<CreatedPayment> {
  const earlier = await paidBefore(stripe, order);
  if (earlier) {
    log.warn('The order was paid before this run: not charged again', { orderId: order.orderId, paymentIntentId: earlier.id });
    const paymentIntent = paymentIntentState(earlier);
    const since = paymentIntent.chargeId && (await sinceThen(stripe, order.orderId, paymentIntent.chargeId));
    return { outcome: 'paid_before', paymentIntent, ...(since && { sinceThen: since }) };
  }
  const paymentMethod = order.paymentMethodId ?? (await defaultPaymentMethod(stripe, order.customerId));
  if (!paymentMethod) {
    return {
      outcome: 'no_payment_method',
      reason:
        `no_payment_method: customer ${order.customerId} has no default payment method ` +
        '(invoice_settings.default_payment_method) and the order names none (params.paymentMethodId)',
    };
  }
  const intent = await callStripe('create the PaymentIntent', () =>
    stripe.paymentIntents.create(
      {
        amount: order.amount,
        currency: order.currency,
        customer: order.customerId,
        payment_method: paymentMethod,
        // Cards only: a bank debit would wait days in `processing` (docs/payments.md, "Cards only").
        allowed_payment_method_types: ['card'],
        description: `Order ${order.orderId}`,
        metadata: { order_id: order.orderId },
      },
      { idempotencyKey },
    ),
  );
  log.info('PaymentIntent created', { orderId: order.orderId, paymentIntentId: intent.id });
  return { outcome: 'created', paymentIntent: paymentIntentState(intent) };
}

/**
 * An earlier payment's refunds and disputes since, so a re-sent order is recorded as Stripe holds it now; undefined when Stripe
 * refuses the reads (the order is then recorded paid, never taken for unpaid and charged again).
 */
async function sinceThen(stripe: Stripe, orderId: string, chargeId: string): Promise<PaymentSinceThen | undefined> {
  try {
    return await paymentSoFar(stripe, chargeId);
  } catch (error) {
    if (!(error instanceof ApplicationFailure) || !error.nonRetryable) throw error;
    log.warn('Stripe refused to show what became of the earlier payment: recorded paid', { orderId, chargeId, error: error.message });
    return undefined;
  }
}

/** What a charge took, what its settled refunds gave back, and whether it is disputed, as Stripe holds it now. */
async function paymentSoFar(stripe: Stripe, chargeId: string): Promise<PaymentSinceThen> {
  const charge = await callStripe('read the charge', () => stripe.charges.retrieve(chargeId));
  return { amountRefunded: await settledRefundTotal(stripe, { charge: chargeId }), amountPaid: charge.amount, disputed: charge.disputed };
}

/** The refund in the workflow's terms, with what its payment took and what its settled refunds gave back. */
async function refundOutcome(stripe: Stripe, refund: Stripe.Refund): Promise<RefundOutcome> {
  const chargeId = typeof refund.charge === 'string' ? refund.charge : refund.charge?.id;
  const payment = chargeId ? await paymentSoFar(stripe, chargeId) : undefined;
  return {
    refundId: refund.id,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status ?? 'pending',
    ...(refund.failure_reason && { failureReason: refund.failure_reason }),
    amountRefunded: payment ? payment.amountRefunded : refund.status === 'succeeded' ? refund.amount : 0,
    amountPaid: payment?.amountPaid ?? refund.amount,
  };
}

/** Reading a refund Stripe made must never turn into "not made": a refusal of the read leaves the outcome unknown. */
async function outcomeOfMade(stripe: Stripe, refund: Stripe.Refund): Promise<RefundOutcome> {
  try {
    return await refundOutcome(stripe, refund);
  } catch (error) {
    if (!(error instanceof ApplicationFailure) || !error.nonRetryable) throw error;
    throw ApplicationFailure.nonRetryable(
      `Stripe made refund ${refund.id} (${refund.status}), but reading its payment failed: ${error.message}`,
      CHARGE_OUTCOME_UNKNOWN,
    );
  }
}

/** The PaymentIntent's refund made under `idempotencyKey` (with `laterKeys`, or a later generation of it), from Stripe's list. */
async function refundMadeUnder(
  stripe: Stripe,
  paymentIntentId: string,
  idempotencyKey: string,
  laterKeys = false,
): Promise<Stripe.Refund | undefined> {
  const madeUnder = (key: string | undefined) => key === idempotencyKey || (laterKeys && key?.startsWith(`${idempotencyKey}/`));
  return callStripe('list the refunds of the payment', async () => {
    for await (const refund of stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 }))
      if (madeUnder(refund.metadata?.idempotency_key)) return refund;
    return undefined;
  });
}
