import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * Every activity's timeouts and retry policy, one set per risk class. The workflows and the benchmark's
 * baseline (bench/baseline-workflow.ts) proxy their activities with these; docs/workflow.md tabulates them.
 */

/** Parse Order is pure validation: a short timeout, and an invalid order fails without retry (InvalidOrder is non-retryable). */
export const PARSE_ORDER_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
};

/**
 * The requests that move money keep the Charge Card retries the service was specified with (docs/workflow.md): 4 attempts,
 * 5/10/20 s apart, each under the same idempotency key.
 */
export const CHARGE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4 },
};

/** Asking Stripe (look up, cancel): a few quick attempts; a longer outage is waited out by the run's durable backoff. */
export const STRIPE_QUESTION_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
};

/**
 * The reconciliation sweep's comparison: it pages a day of Stripe's events and reads visibility, so
 * minutes, not seconds (bench/reconciliation-sweep.ts); a few attempts, then the next scheduled sweep tries again.
 */
export const RECONCILIATION_SWEEP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
};

/** The worker's payment timeouts, read by a local activity: nothing to retry beyond the default. */
export const PAYMENT_SETTINGS_OPTIONS: LocalActivityOptions = { startToCloseTimeout: '5 seconds' };

/** Notifications (receipt, payment action email, Notify Ops): a few quick retries, then the run goes on without them. */
export const NOTIFICATION_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
};

/** The order record must end up right: keep retrying a backend outage for up to a week. */
export const ORDER_STATUS_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

/** A refund, automatic or an operator's: keep retrying Stripe within the 24 h its idempotency key is kept. */
export const REFUND_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '23 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};
