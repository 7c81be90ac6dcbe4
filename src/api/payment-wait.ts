import type { Client } from '@temporalio/client';
import type Stripe from 'stripe';
import { paymentAnswerOf, paymentAnswerOfResult, type PaymentAnswer } from '../domain/payment-answer.js';
import { queryProgress, readOrderRun } from './read-runs.js';
import { paymentUpdate } from '../workflows/names.js';

/** How long a client is asked to wait (Retry-After) before it asks again for a payment that has not settled. */
export const PAYMENT_RETRY_AFTER_SECONDS = 1;

/** The longest `Prefer: wait` a request may ask for, in seconds. */
export const LONGEST_WAIT_SECONDS = 30;

/**
 * The RFC 7240 `wait` preference in ms (other preferences ignored); undefined without one; a string saying what is wrong
 * when it is malformed or longer than LONGEST_WAIT_SECONDS.
 */
export function waitPreference(header: string | undefined): number | undefined | string {
  if (header === undefined) return undefined;
  const waits = header
    .split(',')
    .map((preference) => preference.split(';')[0].trim())
    .filter((preference) => /^wait\s*(=|$)/i.test(preference));
  if (waits.length === 0) return undefined;
  if (waits.length > 1) return 'names wait more than once';
  const value = waits[0].replace(/^wait\s*=?\s*/i, '').replace(/^"(.*)"$/, '$1');
  if (!/^\d{1,6}$/.test(value)) return `wait must be a whole number of seconds (wait=10), not "${value.slice(0, 20)}"`;
  if (Number(value) > LONGEST_WAIT_SECONDS) return `wait may be at most ${LONGEST_WAIT_SECONDS} seconds, not ${value}`;
  return Number(value) * 1000;
}

/** The payment's answer, `pending` when it is not known within the wait, or null when there is no such order run. */
export type PaymentWait = { answer: PaymentAnswer } | { pending: true } | null;

/** A closed run's answer, from its result or how it ended. */
async function closedRunAnswer(client: Client, workflowId: string): Promise<PaymentWait> {
  const run = await readOrderRun(client, workflowId);
  if (!run) return null;
  if (run.result) return { answer: paymentAnswerOfResult(run.result) };
  if (run.status === 'running') return { pending: true };
  return { answer: { status: 'payment_failed', reason: `The run ended ${run.status} before it recorded a payment` } };
}

/** Answers that can still change: the long poll waits for the next one. */
const UNDECIDED: readonly PaymentAnswer['status'][] = ['requires_action', 'payment_pending'];

/** Sends the run's payment update for the answer after `after` (the first answer without it), bounded by `waitMs`. */
async function updateAnswer(client: Client, workflowId: string, waitMs: number, after?: PaymentAnswer['status']): Promise<PaymentWait> {
  const deadline = AbortSignal.timeout(waitMs);
  // One update ID per answer awaited: every caller waiting for the same answer attaches to the same update.
  const updateId = after === undefined ? paymentUpdate.name : `${paymentUpdate.name}-after-${after}`;
  try {
    const handle = client.workflow.getHandle(workflowId);
    const answer = await client.withAbortSignal(deadline, () =>
      after === undefined
        ? handle.executeUpdate<PaymentAnswer, []>(paymentUpdate.name, { updateId })
        : handle.executeUpdate<PaymentAnswer, [PaymentAnswer['status']]>(paymentUpdate.name, { updateId, args: [after] }),
    );
    return { answer };
  } catch {
    if (deadline.aborted) return { pending: true };
    // The run closed before its update was answered (or never existed), or Temporal refused the update: read the run itself.
    return closedRunAnswer(client, workflowId).catch(() => ({ pending: true as const }));
  }
}

/**
 * Every caller attaches to the run's one `payment` update, so a repeat never asks twice; an update not delivered in time
 * is `pending`, never an error, as the run goes on (docs/api.md#waiting-for-the-payment-prefer-wait).
 */
export function waitForFirstPayment(client: Client, workflowId: string, waitMs: number): Promise<PaymentWait> {
  return updateAnswer(client, workflowId, waitMs, undefined);
}

/** GET .../payment: the run's answer now; with `waitMs`, a long poll for the next answer while the current one can still change. */
export async function readPayment(client: Client, workflowId: string, waitMs: number): Promise<PaymentWait> {
  const progress = await queryProgress(client, workflowId);
  const now = progress ? paymentAnswerOf(progress) : undefined;
  if (waitMs === 0 || (now && !UNDECIDED.includes(now.status))) return now ? { answer: now } : closedRunAnswer(client, workflowId);
  if (!progress) {
    const closed = await closedRunAnswer(client, workflowId);
    if (closed === null || 'answer' in closed) return closed;
  }
  return updateAnswer(client, workflowId, waitMs, now?.status);
}

/** The client secret for Stripe.js is read from Stripe here, so it never enters the run's history or a log. */
export async function withClientSecret(stripe: Stripe | undefined, answer: PaymentAnswer): Promise<PaymentAnswer> {
  if (answer.status !== 'requires_action' || !answer.paymentIntentId || !stripe) return answer;
  try {
    const intent = await stripe.paymentIntents.retrieve(answer.paymentIntentId);
    return intent.client_secret ? { ...answer, clientSecret: intent.client_secret } : answer;
  } catch {
    return { ...answer, reason: `Stripe did not answer for the client secret of ${answer.paymentIntentId}: GET this payment again` };
  }
}
