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

/**
 * `answer`: one the caller has not seen, or a closed run's last. `pending`: nothing new within the wait, with the answer
 * `known` now (none before Charge Card has settled). null: no such order run.
 */
export type PaymentWait = { answer: PaymentAnswer } | { pending: true; known?: PaymentAnswer } | null;

/** The undecided answer a caller has already shown: the long poll waits past it (docs/api.md#the-long-poll-get-apirunsworkflowidpayment). */
export type ShownAnswer = Extract<PaymentAnswer['status'], 'requires_action' | 'payment_pending'>;

/** A closed run's answer, from its result or how it ended. */
async function closedRunAnswer(client: Client, workflowId: string): Promise<PaymentWait> {
  const run = await readOrderRun(client, workflowId);
  if (!run) return null;
  if (run.result) return { answer: paymentAnswerOfResult(run.result) };
  if (run.status === 'running') return { pending: true };
  return { answer: { status: 'payment_failed', reason: `The run ended ${run.status} before it recorded a payment` } };
}

/** Sends the run's payment update for the answer after `after` (the first answer without it), bounded by `waitMs`. */
async function updateAnswer(client: Client, workflowId: string, waitMs: number, after?: ShownAnswer): Promise<PaymentWait> {
  const deadline = AbortSignal.timeout(waitMs);
  // One update ID per answer awaited: every caller waiting for the same answer attaches to the same update.
  const updateId = after === undefined ? paymentUpdate.name : `${paymentUpdate.name}-after-${after}`;
  try {
    const handle = client.workflow.getHandle(workflowId);
    const answer = await client.withAbortSignal(deadline, () =>
      after === undefined
        ? handle.executeUpdate<PaymentAnswer, []>(paymentUpdate.name, { updateId })
        : handle.executeUpdate<PaymentAnswer, [ShownAnswer]>(paymentUpdate.name, { updateId, args: [after] }),
    );
    return { answer };
  } catch {
    if (deadline.aborted) return { pending: true };
    // The run closed before its update was answered (or never existed), or Temporal refused the update: read the run itself.
    return closedRunAnswer(client, workflowId).catch(() => ({ pending: true as const }));
  }
}

/**
 * A new run's first answer: the update that started with it is the only one to ask. An update not delivered in time is
 * `pending`, never an error, as the run goes on.
 */
export function waitForFirstPayment(client: Client, workflowId: string, waitMs: number): Promise<PaymentWait> {
  return updateAnswer(client, workflowId, waitMs, undefined);
}

/**
 * The run's payment now, when the caller has not seen it (`shown` is what it has); else, within `waitMs`, the next one.
 * Updates store their first result, so the current answer is read before any is sent: a repeat never hears a stale one.
 */
export async function readPayment(
  client: Client,
  workflowId: string,
  waitMs: number,
  shown: ShownAnswer = 'payment_pending',
): Promise<PaymentWait> {
  const progress = await queryProgress(client, workflowId);
  const now = progress ? paymentAnswerOf(progress) : undefined;
  // A completed run's answer is its last, even an undecided one.
  if (now && (now.status !== shown || progress?.step === 'completed')) return { answer: now };
  if (!progress) {
    const closed = await closedRunAnswer(client, workflowId);
    if (closed === null || 'answer' in closed) return closed;
  }
  if (waitMs > 0) {
    const next = await updateAnswer(client, workflowId, waitMs, shown);
    if (next === null || 'answer' in next) return next;
  }
  return { pending: true, ...(now && { known: now }) };
}

/** Where to wait for what comes after `payment`: the long poll past it. */
export function nextPaymentLocation(workflowId: string, payment: PaymentAnswer): string {
  const after = payment.status === 'requires_action' ? `?after=${payment.status}` : '';
  return `/api/runs/${encodeURIComponent(workflowId)}/payment${after}`;
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
