import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from './context.js';
import { sendError } from './errors.js';

/**
 * Rejects a request without a valid API key. A preParsing hook: it runs after the rate limiter (so
 * key guessing is rate limited too) and before the body is read.
 */
export function requireApiKey(context: ApiContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!context.isAuthorized(request.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>"');
    }
  };
}
