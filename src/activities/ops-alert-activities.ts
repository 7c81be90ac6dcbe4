import { activityInfo, ApplicationFailure, sleep } from '@temporalio/activity';
import { ErrorCode, type WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import type { AlertedOrder, OpsAlert } from '../domain/order.js';
import { formatAmount } from '../domain/money.js';
import { SLACK_REJECTED, SLACK_UNAVAILABLE } from '../domain/failures.js';

/** A rate-limited alert waits for its turn within its attempt, stopping this long before the attempt's timeout. */
const RATE_LIMIT_MARGIN_MS = 2_000;
/** Each wait adds, at random, up to Retry-After doubled per wait and at most this: a storm of alerts spreads out. */
const LONGEST_RATE_LIMIT_SPREAD_MS = 8_000;

/** Slack `ok: false` errors that may succeed later; any other is permanent (channel_not_found, invalid_auth, ...). */
const TRANSIENT_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** Where to look in Stripe for the order's payment. */
function stripeLookup(orderId: string, paymentIntentId: string | undefined): string {
  return paymentIntentId
    ? `PaymentIntent ${paymentIntentId} in the Stripe Dashboard`
    : `the customer's PaymentIntents in the Stripe Dashboard, for one with metadata order_id=${orderId}`;
}

/** What ops do about an order the sweep set right. */
function reconciledAdvice(alert: Extract<OpsAlert, { kind: 'order-reconciled' }>): string {
  const { dispute } = alert;
  if (dispute) {
    return (
      `The card holder disputes ${formatAmount(dispute.amount, alert.order.currency)} (dispute ${dispute.disputeId}, reason ${dispute.reason}): ` +
      'hold the order if it has not shipped, and answer the dispute in the Stripe Dashboard with evidence (receipt, proof of delivery) ' +
      `before ${dispute.evidenceDueBy}, or accept it. Unanswered, it is lost.`
    );
  }
  return alert.outcome === 'paid'
    ? 'The customer was charged: send the receipt and fulfil the order.'
    : 'Check whether the order was fulfilled, and settle it with the customer.';
}

/** The order as an alert names it: with customer and amount when the run knows them. */
function orderSubject({ orderId, customerId, amount, currency }: AlertedOrder): string {
  return customerId && amount !== undefined && currency
    ? `order ${orderId} (customer ${customerId}, ${formatAmount(amount, currency)})`
    : `order ${orderId}`;
}

/** The alert's text. Names order, customer, amount and reason; never the customer's email. */
function opsAlertText(alert: OpsAlert): string {
  if (alert.kind === 'refund-not-returned' || alert.kind === 'refund-unrecorded') return refundAlertText(alert);
  if (alert.kind === 'refund-outcome-unknown') {
    return (
      `:rotating_light: The refund of order ${alert.orderId} (PaymentIntent ${alert.paymentIntentId}) has no known outcome: ${alert.reason}. ` +
      'The order backend was not told. Check the refunds of the PaymentIntent in the Stripe Dashboard before refunding again.'
    );
  }
  const subject = orderSubject(alert.order);
  if (alert.kind === 'backend-misconfigured') {
    return (
      `:wrench: The order backend cannot record ${subject} as ${alert.status}: ${alert.reason}. ` +
      `This is our configuration or the backend's contract, not a refusal: nothing is refunded. The run asks again until ${alert.until}; ` +
      "fix the worker's configuration or the backend and it records the order by itself."
    );
  }
  if (alert.kind === 'order-unrecorded') {
    return (
      `:rotating_light: The order backend does not know that ${subject} is ${alert.status.toUpperCase()}: ${alert.reason}. ` +
      `The run gave up; set the order to ${alert.status} in the backend by hand.`
    );
  }
  const { order } = alert;
  const amount = formatAmount(order.amount, order.currency);
  switch (alert.kind) {
    case 'receipt-failed':
      return (
        `:warning: Receipt email failed for paid ${subject}, charge ${alert.chargeId}: ${alert.reason}. ` +
        'The order is recorded as paid; send the receipt by hand.'
      );
    case 'payment-waiting':
      return (
        `:hourglass: Payment for ${subject} is not settled yet: ${alert.reason}. The order is payment_pending; ` +
        `the run keeps asking Stripe until ${alert.until} and records the outcome Stripe shows. Nothing to do yet.`
      );
    case 'payment-settled':
      return `:white_check_mark: Payment for ${subject} is settled: paid${alert.paymentIntentId ? ` (PaymentIntent ${alert.paymentIntentId})` : ''}. The order is recorded paid.`;
    case 'order-refunded':
      return (
        `:leftwards_arrow_with_hook: Refunded ${formatAmount(alert.amount, order.currency)} for ${subject} ` +
        `(PaymentIntent ${alert.paymentIntentId}, refund ${alert.refundId}, Stripe status ${alert.refundStatus}): ${alert.reason}. ` +
        (alert.refundStatus === 'succeeded' ? 'The customer has the money back' : 'Check the refund in Stripe until it succeeds') +
        '; set the order right in the backend.'
      );
    case 'refund-failed':
      return (
        `:rotating_light: Order ${order.orderId} (customer ${order.customerId}, ${amount}) is PAID in Stripe (PaymentIntent ${alert.paymentIntentId}) ` +
        `but its backend refused it, and the refund failed: ${alert.reason}. Refund it in the Stripe Dashboard or record it paid by hand.`
      );
    case 'payment-unresolved':
      return (
        `:rotating_light: Payment for ${subject} is still unsettled after asking Stripe since ${alert.since}: ${alert.reason}. ` +
        `The order stays payment_pending. Check ${stripeLookup(order.orderId, alert.paymentIntentId)}: if it succeeded, ` +
        'mark the order paid and send the receipt; otherwise cancel it there and mark the order payment_failed. Do not charge again before checking.'
      );
    case 'order-reconciled':
      return (
        `:mag: Reconciliation: ${subject} was recorded ${alert.recorded}${alert.runGone ? ' when its run ended (the run is no longer kept)' : ''}, but Stripe shows it ${alert.outcome} ` +
        `(PaymentIntent ${alert.paymentIntentId}; ${alert.mismatch}). The order is now recorded ${alert.outcome}. ` +
        reconciledAdvice(alert)
      );
    case 'payment-failed': {
      const declineCode = alert.declineCode ? ` (decline code ${alert.declineCode})` : '';
      const uncertainty = alert.chargeUncertain
        ? ` The charge outcome is UNCERTAIN: look in Stripe for a charge with metadata order_id=${order.orderId} before charging again.`
        : '';
      return `:x: Payment failed for ${subject}: ${alert.reason}${declineCode}.${uncertainty}`;
    }
  }
}

/** An operator's refund (its run knows the order by ID and the refund as Stripe holds it). */
function refundAlertText(alert: Extract<OpsAlert, { kind: 'refund-not-returned' | 'refund-unrecorded' }>): string {
  const { refund } = alert;
  const what = `Refund ${refund.refundId} of ${formatAmount(refund.amount, refund.currency)} for order ${alert.orderId} (PaymentIntent ${alert.paymentIntentId})`;
  if (alert.kind === 'refund-unrecorded') {
    return (
      `:rotating_light: ${what} is ${refund.status} at Stripe, but the order backend could not be told: ${alert.reason}. ` +
      `Set the order to ${alert.status} in the backend by hand.`
    );
  }
  const failure = refund.failureReason ? ` (${refund.failureReason})` : '';
  const state =
    refund.status === 'failed' || refund.status === 'canceled'
      ? `was ${refund.status} by Stripe${failure}: the money was NOT returned to the customer and stays with the merchant`
      : `is still ${refund.status} at Stripe: the money is not back with the customer yet`;
  return (
    `:rotating_light: ${what} ${state}. The order is not recorded refunded. ` +
    'Check the refund in the Stripe Dashboard, then refund again (a new Idempotency-Key) or settle with the customer another way.'
  );
}

/** The alerts to the team, posted through the worker's Slack client. */
export function opsAlertActivities(slack: WebClient, channel: string) {
  /** Posts the text, waiting its turn while Slack rate-limits the channel, for as long as this attempt may last. */
  async function postInTurn(text: string) {
    const { startToCloseTimeoutMs } = activityInfo();
    const giveUpAt = Date.now() + startToCloseTimeoutMs - RATE_LIMIT_MARGIN_MS;
    for (let waits = 0; ; waits += 1) {
      try {
        return await slack.chat.postMessage({ channel, text, unfurl_links: false });
      } catch (error) {
        if ((error as { code?: string }).code !== ErrorCode.RateLimitedError) throw error;
        const retryAfterMs = (error as WebAPIRateLimitedError).retryAfter * 1000;
        const waitMs = retryAfterMs + Math.min(retryAfterMs * 2 ** waits, LONGEST_RATE_LIMIT_SPREAD_MS) * Math.random();
        if (Date.now() + waitMs > giveUpAt) {
          throw ApplicationFailure.create({
            type: SLACK_UNAVAILABLE,
            message: `Slack rate-limited the alert to ${channel} for this attempt (Retry-After ${retryAfterMs / 1000} s)`,
            nextRetryDelay: waitMs,
          });
        }
        await sleep(waitMs);
      }
    }
  }

  /** Notify Ops: posts the alert to the team's Slack channel. */
  async function notifyOps(alert: OpsAlert): Promise<{ channel: string; ts: string }> {
    try {
      const response = await postInTurn(opsAlertText(alert));
      return { channel: response.channel ?? channel, ts: response.ts ?? '' };
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      const code = (error as { code?: string }).code;
      if (code === ErrorCode.PlatformError) {
        const slackError = String((error as { data?: { error?: string } }).data?.error);
        if (!TRANSIENT_SLACK_ERRORS.has(slackError)) {
          throw ApplicationFailure.nonRetryable(`Slack rejected the alert to ${channel}: ${slackError}`, SLACK_REJECTED);
        }
      }
      throw ApplicationFailure.retryable(`Slack is unavailable: ${(error as Error).message}`, SLACK_UNAVAILABLE);
    }
  }

  return { notifyOps };
}
