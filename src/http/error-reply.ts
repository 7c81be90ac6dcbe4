import type { FastifyReply } from 'fastify';

/** Every error body has one shape: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function sendError(
  reply: FastifyReply,
  statusCode: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): FastifyReply {
  const body: ErrorBody = { error: { code, message, ...(details && { details }) } };
  return reply.code(statusCode).send(body);
}

/**
 * `Retry-After` while Temporal is unavailable: a frontend or database restart takes seconds, and a client that waits
 * this long sends far fewer doomed requests than one retrying at once.
 */
export const TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** 503 temporal_unavailable, with Retry-After: the request may succeed later, unchanged. */
export function sendTemporalUnavailable(reply: FastifyReply, message: string): FastifyReply {
  reply.header('retry-after', String(TEMPORAL_UNAVAILABLE_RETRY_AFTER_SECONDS));
  return sendError(reply, 503, 'temporal_unavailable', message);
}
