/**
 * Stable ApplicationFailure types: non-retryable ones mean retrying cannot help, retryable ones that the provider is down for now.
 * Constants only: the workflow sandbox imports them.
 */
/** The order cannot be processed as given (a field is missing or malformed): no charge was attempted. */
export const INVALID_ORDER = 'InvalidOrder';
/** Stripe refused the request itself (auth, permissions, invalid request): that request changed nothing. */
export const CHARGE_REJECTED = 'ChargeRejected';
/**
 * Retrying the same request cannot tell what happened: Stripe refused the idempotency key (used before
 * with other parameters) or replays a 5xx stored for it. Only looking at Stripe's records can.
 */
export const CHARGE_OUTCOME_UNKNOWN = 'ChargeOutcomeUnknown';
/** Stripe could not be reached or answered 5xx/429/409: the outcome is not known yet; the same request may be retried. */
export const STRIPE_UNAVAILABLE = 'StripeUnavailable';
/** Resend refused the receipt (validation, auth, unverified sender...). */
export const RECEIPT_REJECTED = 'ReceiptRejected';
/** Resend refused the email asking the customer to confirm a payment. */
export const PAYMENT_ACTION_EMAIL_REJECTED = 'PaymentActionEmailRejected';
export const RESEND_UNAVAILABLE = 'ResendUnavailable';
/** Slack answered with a permanent error (channel_not_found, invalid_auth, ...). */
export const SLACK_REJECTED = 'SlackRejected';
export const SLACK_UNAVAILABLE = 'SlackUnavailable';
/** The order backend refused the order itself (409 Conflict, 410 Gone): it no longer accepts this status. */
export const ORDER_STATUS_REJECTED = 'OrderStatusRejected';
/**
 * The order backend answered another 4xx (400, 401, 403, 404, 422...): our request or our credentials do
 * not fit it (a rotated token, a wrong base URL, a stricter schema), not a refusal of the order.
 */
export const ORDER_BACKEND_MISCONFIGURED = 'OrderBackendMisconfigured';
export const ORDER_BACKEND_UNAVAILABLE = 'OrderBackendUnavailable';
/** Stripe refused the refund: more than what is left to refund, nothing paid, or already refunded in full. */
export const REFUND_REFUSED = 'RefundRefused';
/** Stripe accepted the refund, then failed or canceled it: the money was not returned. */
export const REFUND_FAILED = 'RefundFailed';
/** Stripe's record shows no refund under any of the step's keys (each answered with a stored error): nothing was refunded. */
export const REFUND_NOT_MADE = 'RefundNotMade';
/** A refund step that failed with one of these refunded nothing; any other failure leaves its outcome unknown. */
export const REFUND_NOT_MADE_TYPES: readonly string[] = [REFUND_NOT_MADE, CHARGE_REJECTED];
