import { ApplicationFailure } from '@temporalio/activity';
import type { Resend } from 'resend';
import { RESEND_UNAVAILABLE } from '../domain/failures.js';
import { PROVIDER_REQUEST_TIMEOUT_MS } from './clients.js';

/** Resend error names that mean "try again later"; any other error is permanent. */
const TRANSIENT_RESEND_ERRORS = new Set([
  'rate_limit_exceeded',
  'concurrent_idempotent_requests',
  'application_error',
  'internal_server_error',
]);

export interface Email {
  from: string;
  to: string;
  subject: string;
  text: string;
}

/**
 * Sends one email through Resend, deduplicated by its idempotency key. Resend returns `{ data, error }`
 * instead of throwing: a transient error is a retryable failure; any other is non-retryable with
 * `rejectedType`.
 */
export async function sendEmail(
  resend: Resend,
  email: Email,
  options: { idempotencyKey: string; what: string; rejectedType: string },
): Promise<string> {
  const { data, error } = await resend.emails.send(email, {
    idempotencyKey: options.idempotencyKey,
    signal: AbortSignal.timeout(PROVIDER_REQUEST_TIMEOUT_MS),
  });
  if (!error) return data.id;
  const status = error.statusCode ?? 'no response';
  const transient =
    error.statusCode === null || error.statusCode === 429 || error.statusCode >= 500 || TRANSIENT_RESEND_ERRORS.has(error.name);
  if (transient) {
    throw ApplicationFailure.retryable(`Resend is unavailable (${status} ${error.name}): ${error.message}`, RESEND_UNAVAILABLE);
  }
  throw ApplicationFailure.nonRetryable(
    `Resend rejected the ${options.what} (${status} ${error.name}): ${error.message}`,
    options.rejectedType,
  );
}
