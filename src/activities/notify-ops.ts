import { ApplicationFailure } from '@temporalio/activity';
import { ErrorCode, type WebClient } from '@slack/web-api';
import type { OpsAlert } from '../domain/order.js';
import { formatAmount } from '../domain/money.js';
import { SLACK_REJECTED, SLACK_UNAVAILABLE } from '../domain/failures.js';

/** Slack `ok: false` errors that may succeed later; any other is permanent (channel_not_found, invalid_auth, ...). */
const TRANSIENT_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** The alert's text. Names order, customer, amount and reason; never the customer's email. */
export function opsAlertText(alert: OpsAlert): string {
  const { order } = alert;
  const amount = formatAmount(order.amount, order.currency);
  if (alert.kind === 'receipt-failed') {
    return (
      `:warning: Receipt email failed for paid order ${order.orderId} ` +
      `(customer ${order.customerId}, ${amount}, charge ${alert.chargeId}): ${alert.reason}. ` +
      'The order is recorded as paid; send the receipt by hand.'
    );
  }
  const declineCode = alert.declineCode ? ` (decline code ${alert.declineCode})` : '';
  const uncertainty = alert.chargeUncertain
    ? ` The charge outcome is UNCERTAIN: look in Stripe for a charge with metadata order_id=${order.orderId} before charging again.`
    : '';
  return (
    `:x: Payment failed for order ${order.orderId} (customer ${order.customerId}, ${amount}): ` +
    `${alert.reason}${declineCode}.${uncertainty}`
  );
}

/** Notify Ops: posts the alert to the team's Slack channel. */
export function createNotifyOps(slack: WebClient, channel: string) {
  return async function notifyOps(alert: OpsAlert): Promise<{ channel: string; ts: string }> {
    try {
      const response = await slack.chat.postMessage({ channel, text: opsAlertText(alert), unfurl_links: false });
      return { channel: response.channel ?? channel, ts: response.ts ?? '' };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === ErrorCode.PlatformError) {
        const slackError = String((error as { data?: { error?: string } }).data?.error);
        if (!TRANSIENT_SLACK_ERRORS.has(slackError)) {
          throw ApplicationFailure.nonRetryable(`Slack rejected the alert to ${channel}: ${slackError}`, SLACK_REJECTED);
        }
      }
      throw ApplicationFailure.retryable(`Slack is unavailable: ${(error as Error).message}`, SLACK_UNAVAILABLE);
    }
  };
}
